import { planMergeTask, type WorkflowDeps } from '../src/pipeline/workflow-tasks.ts';
import { workflowLambda } from './shared/workflow-aws.ts';

/** PlanMerge Task: Groups the partitions the staged chunks touched into merge items. */
export function makeHandler(deps: WorkflowDeps) {
  return (event: Parameters<typeof planMergeTask>[1]) => planMergeTask(deps, event);
}

/** Lambda entry (`${PlanMergeFunctionArn}` in statemachine/compaction.asl.json). */
export const handler = workflowLambda('plan-merge', makeHandler);
