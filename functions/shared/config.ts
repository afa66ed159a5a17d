import { ConfigError } from '../../src/core/errors.ts';
import { NON_EKS_LOG_GROUP_MODES, type NonEksLogGroupMode } from '../../src/core/transform/types.ts';
import { ENV } from './env.ts';

/** The process environment as handlers see it; tests pass plain objects. */
export type EnvVars = Readonly<Record<string, string | undefined>>;

/** A required, non-blank variable. */
export function requireEnv(env: EnvVars, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`${name} is required but not set`);
  return value;
}

/** An optional positive integer with a default; anything else is a ConfigError. */
export function readPositiveInt(env: EnvVars, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^[0-9]+$/.test(raw) || Number(raw) <= 0 || !Number.isSafeInteger(Number(raw))) {
    throw new ConfigError(`${name} must be a positive integer, got '${raw}'`);
  }
  return Number(raw);
}

/** Comma-separated 12-digit AWS account ids; empty or unset means no restriction. */
export function readAccountList(env: EnvVars, name: string): readonly string[] {
  const raw = env[name]?.trim() ?? '';
  if (raw === '') return [];
  const ids = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const id of ids) {
    if (!/^[0-9]{12}$/.test(id)) throw new ConfigError(`${name} holds '${id}', which is not a 12-digit account id`);
  }
  return [...new Set(ids)];
}

/** One of `allowed`, or `fallback` when unset or blank; anything else is a ConfigError listing the choices. */
export function readChoice<T extends string>(env: EnvVars, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got '${raw}'`);
  }
  return raw as T;
}

/** Decoded subscription payloads above this are refused (a CWL message decodes to a few MB at most). */
export const DEFAULT_MAX_DECODED_BYTES = 16 * 1024 * 1024;
/** Lambda's synchronous response limit is 6 MB; stay under it in decimal megabytes. */
export const DEFAULT_RESPONSE_BUDGET_BYTES = 6_000_000;

/** Settings of the Firehose transform function. */
export interface TransformConfig {
  /** Written into every raw record. */
  readonly region: string;
  /** Source accounts allowed through; empty means all. */
  readonly allowedAccounts: readonly string[];
  /** Delivery stream the overflow path re-ingests into. */
  readonly deliveryStreamName: string;
  readonly maxDecodedBytes: number;
  readonly responseBudgetBytes: number;
  /** Records from log groups that are not EKS cluster groups: keep (default), drop or quarantine. */
  readonly nonEksLogGroups?: NonEksLogGroupMode;
}

/** Reads the transform's settings once at cold start; throws ConfigError naming the variable. */
export function readTransformConfig(env: EnvVars): TransformConfig {
  return {
    region: requireEnv(env, ENV.REGION),
    allowedAccounts: readAccountList(env, ENV.ALLOWED_ACCOUNTS),
    deliveryStreamName: requireEnv(env, ENV.DELIVERY_STREAM_NAME),
    maxDecodedBytes: readPositiveInt(env, ENV.TRANSFORM_MAX_DECODED_BYTES, DEFAULT_MAX_DECODED_BYTES),
    responseBudgetBytes: readPositiveInt(env, ENV.TRANSFORM_RESPONSE_BUDGET_BYTES, DEFAULT_RESPONSE_BUDGET_BYTES),
    nonEksLogGroups: readChoice(env, ENV.TRANSFORM_NON_EKS_LOG_GROUPS, NON_EKS_LOG_GROUP_MODES, 'keep'),
  };
}
