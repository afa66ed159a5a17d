import { mergePartitionTask, type WorkflowDeps } from '../src/pipeline/workflow-tasks.ts';
import { workflowLambda } from './shared/workflow-aws.ts';

/** MergePartition Task: Merges one group of partitions into their next generations. */
export function makeHandler(deps: WorkflowDeps) {
  return (event: Parameters<typeof mergePartitionTask>[1]) => mergePartitionTask(deps, event);
}

/** Lambda entry (`${MergePartitionFunctionArn}` in statemachine/compaction.asl.json). */
export const handler = workflowLambda('merge-partition', makeHandler);
