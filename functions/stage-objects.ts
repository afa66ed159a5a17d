import { COMPACTION_METRICS, stageObjectsTask, type WorkflowDeps } from '../src/pipeline/workflow-tasks.ts';
import { workflowLambda } from './shared/workflow-aws.ts';

/** StageObjects Task: Stages one chunk of raw objects into per-partition rows. */
export function makeHandler(deps: WorkflowDeps) {
  return (event: Parameters<typeof stageObjectsTask>[1]) => stageObjectsTask(deps, event);
}

/** Lambda entry (`${StageObjectsFunctionArn}` in statemachine/compaction.asl.json). */
// The service name is the EMF `service` dimension the compaction alarms match.
export const handler = workflowLambda(COMPACTION_METRICS.quarantinedObjects.service, makeHandler);
