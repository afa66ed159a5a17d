import { ConfigError } from '../errors.ts';

/** The one workflow definition, relative to the repository root (CDK and the local runner read it). */
export const COMPACTION_DEFINITION_FILE = 'statemachine/compaction.asl.json';

/**
 * Every `${…}` the definition may use. CDK passes these as `definitionSubstitutions`; the local
 * runner passes {@link LOCAL_SUBSTITUTIONS}. Lambda Tasks follow `${<Pascal>FunctionArn}` ↔
 * `functions/<kebab>.ts` (see {@link functionFileOf}).
 */
export const REQUIRED_SUBSTITUTIONS = [
  'ValidateInputFunctionArn',
  'SummarizeBackfillFunctionArn',
  'AcquireLeaseFunctionArn',
  'PlanWindowFunctionArn',
  'StageObjectsFunctionArn',
  'PlanMergeFunctionArn',
  'MergePartitionFunctionArn',
  'PublishPartitionsFunctionArn',
  'RunAthenaStepsFunctionArn',
  'WriteLedgerFunctionArn',
  'CollectGarbageFunctionArn',
  'ReleaseLeaseFunctionArn',
] as const;

export type SubstitutionName = (typeof REQUIRED_SUBSTITUTIONS)[number];

const LOCAL_ACCOUNT = '000000000000';
const LOCAL_REGION = 'local-1';

/** Substitutions for local runs: well-formed ARNs that nothing calls (every Task has a local stand-in). */
export const LOCAL_SUBSTITUTIONS: Readonly<Record<SubstitutionName, string>> = Object.fromEntries(
  REQUIRED_SUBSTITUTIONS.map((name) => [
    name,
    `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:eks-log-lake-${kebab(name.replace(/FunctionArn$/, ''))}`,
  ]),
) as Record<SubstitutionName, string>;

const PLACEHOLDER = /\$\{([A-Za-z0-9_]+)\}/g;

/** The distinct `${Name}` placeholders in a definition text, sorted. */
export function placeholdersOf(text: string): string[] {
  return [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1]!))].sort();
}

/**
 * Replaces every `${Name}` in the ASL text and parses it. Throws ConfigError naming each
 * placeholder without a value and any leftover `${` so a typo never reaches a deployment.
 */
export function renderDefinition(
  text: string,
  substitutions: Readonly<Record<string, string>>,
): Record<string, unknown> {
  const missing = placeholdersOf(text).filter((name) => substitutions[name] === undefined);
  if (missing.length > 0)
    throw new ConfigError(`definition placeholders without a substitution: ${missing.join(', ')}`);
  const rendered = text.replace(PLACEHOLDER, (_, name: string) => substitutions[name]!);
  if (rendered.includes('${'))
    throw new ConfigError('definition still holds an unreplaced placeholder after substitution');
  return JSON.parse(rendered) as Record<string, unknown>;
}

/** `PlanWindowFunctionArn` → `functions/plan-window.ts`, the convention CDK relies on. */
export function functionFileOf(name: SubstitutionName): string {
  return `functions/${kebab(name.replace(/FunctionArn$/, ''))}.ts`;
}

function kebab(pascal: string): string {
  return pascal.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}
