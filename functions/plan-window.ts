import { COMPACTION_METRICS, planWindowTask, type WorkflowDeps } from '../src/pipeline/workflow-tasks.ts';
import { workflowLambda } from './shared/workflow-aws.ts';

/** PlanWindow Task: Lists, filters and chunks the raw objects of the window; stores the plan. */
export function makeHandler(deps: WorkflowDeps) {
  return (event: Parameters<typeof planWindowTask>[1]) => planWindowTask(deps, event);
}

/** Lambda entry (`${PlanWindowFunctionArn}` in statemachine/compaction.asl.json). */
export const handler = workflowLambda(COMPACTION_METRICS.ignoredRawKeys.service, makeHandler);
