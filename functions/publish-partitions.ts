import { COMPACTION_METRICS, publishPartitionsTask, type WorkflowDeps } from '../src/pipeline/workflow-tasks.ts';
import { workflowLambda } from './shared/workflow-aws.ts';

/** PublishPartitions Task: Switches merged partitions to their new generations under the lease fence. */
export function makeHandler(deps: WorkflowDeps) {
  return (event: Parameters<typeof publishPartitionsTask>[1]) => publishPartitionsTask(deps, event);
}

/** Lambda entry (`${PublishPartitionsFunctionArn}` in statemachine/compaction.asl.json). */
// The service name is the EMF `service` dimension the compaction alarms match.
export const handler = workflowLambda(COMPACTION_METRICS.publishedPartitions.service, makeHandler);
