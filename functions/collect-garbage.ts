import { collectGarbageTask, type WorkflowDeps } from '../src/pipeline/workflow-tasks.ts';
import { workflowLambda } from './shared/workflow-aws.ts';

/** CollectGarbage Task: Deletes unreferenced generations and staging older than the grace period. */
export function makeHandler(deps: WorkflowDeps) {
  return (event: Parameters<typeof collectGarbageTask>[1]) => collectGarbageTask(deps, event);
}

/** Lambda entry (`${CollectGarbageFunctionArn}` in statemachine/compaction.asl.json). */
export const handler = workflowLambda('collect-garbage', makeHandler);
