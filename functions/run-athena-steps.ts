import { runAthenaStepsTask, type WorkflowDeps } from '../src/pipeline/workflow-tasks.ts';
import { athenaStepsFor } from './shared/workflow-athena.ts';
import { workflowLambda } from './shared/workflow-aws.ts';

/** RunAthenaSteps Task: Registers raw-table partitions and rebuilds the rollups of the touched hours. */
export function makeHandler(deps: WorkflowDeps) {
  return (event: Parameters<typeof runAthenaStepsTask>[1]) => runAthenaStepsTask(deps, event);
}

/** Lambda entry (`${RunAthenaStepsFunctionArn}` in statemachine/compaction.asl.json). */
export const handler = workflowLambda('run-athena-steps', makeHandler, athenaStepsFor);
