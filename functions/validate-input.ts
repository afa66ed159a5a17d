import { validateInputTask, type WorkflowDeps } from '../src/pipeline/workflow-tasks.ts';
import { workflowLambda } from './shared/workflow-aws.ts';

/** ValidateInput Task: Validates the execution input and returns the window it covers (InvalidInputError before any work). */
export function makeHandler(deps: WorkflowDeps) {
  return (event: Parameters<typeof validateInputTask>[1]) => validateInputTask(deps, event);
}

/** Lambda entry (`${ValidateInputFunctionArn}` in statemachine/compaction.asl.json). */
export const handler = workflowLambda('validate-input', makeHandler);
