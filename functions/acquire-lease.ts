import { acquireLeaseTask, type WorkflowDeps } from '../src/pipeline/workflow-tasks.ts';
import { workflowLambda } from './shared/workflow-aws.ts';

/** AcquireLease Task: Takes the compaction lease for this execution (LeaseHeldError while another run holds it). */
export function makeHandler(deps: WorkflowDeps) {
  return (event: Parameters<typeof acquireLeaseTask>[1]) => acquireLeaseTask(deps, event);
}

/** Lambda entry (`${AcquireLeaseFunctionArn}` in statemachine/compaction.asl.json). */
export const handler = workflowLambda('acquire-lease', makeHandler);
