import { releaseLeaseTask, type WorkflowDeps } from '../src/pipeline/workflow-tasks.ts';
import { workflowLambda } from './shared/workflow-aws.ts';

/** ReleaseLease Task: Releases the compaction lease. */
export function makeHandler(deps: WorkflowDeps) {
  return (event: Parameters<typeof releaseLeaseTask>[1]) => releaseLeaseTask(deps, event);
}

/** Lambda entry (`${ReleaseLeaseFunctionArn}` in statemachine/compaction.asl.json). */
export const handler = workflowLambda('release-lease', makeHandler);
