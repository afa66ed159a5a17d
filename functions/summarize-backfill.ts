import { summarizeBackfillTask, type WorkflowDeps } from '../src/pipeline/workflow-tasks.ts';
import { workflowLambda } from './shared/workflow-aws.ts';

/** SummarizeBackfill Task: Adds up the child executions of a fanned-out backfill. */
export function makeHandler(deps: WorkflowDeps) {
  return (event: Parameters<typeof summarizeBackfillTask>[1]) => summarizeBackfillTask(deps, event);
}

/** Lambda entry (`${SummarizeBackfillFunctionArn}` in statemachine/compaction.asl.json). */
export const handler = workflowLambda('summarize-backfill', makeHandler);
