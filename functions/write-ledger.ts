import { WATERMARK_LAG_METRIC } from '../src/pipeline/ledger.ts';
import { type WorkflowDeps, writeLedgerTask } from '../src/pipeline/workflow-tasks.ts';
import { workflowLambda } from './shared/workflow-aws.ts';

/** WriteLedger Task: Records what the run did per account/cluster/hour and advances the watermark. */
export function makeHandler(deps: WorkflowDeps) {
  return (event: Parameters<typeof writeLedgerTask>[1]) => writeLedgerTask(deps, event);
}

/** Lambda entry (`${WriteLedgerFunctionArn}` in statemachine/compaction.asl.json). */
// The service name is the EMF `service` dimension the LedgerFreshness alarm matches.
export const handler = workflowLambda(WATERMARK_LAG_METRIC.service, makeHandler);
