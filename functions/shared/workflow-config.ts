import { ConfigError } from '../../src/core/errors.ts';
import { catchUpHoursProblem } from '../../src/core/workflow/input.ts';
import { quietClusterSettingsProblems } from '../../src/core/workflow/quiet-cluster-settings.ts';
import { DEFAULT_QUIET_CLUSTER_SETTINGS, type QuietClusterSettings } from '../../src/core/workflow/quiet-clusters.ts';
import { DEFAULT_WORKFLOW_CONFIG, type WorkflowConfig } from '../../src/pipeline/workflow-tasks.ts';
import { type EnvVars, readPositiveInt } from './config.ts';
import { ENV } from './env.ts';

/** Environment variables only the workflow Task functions read (in addition to ENV). */
export const WORKFLOW_ENV = {
  /** A backfill longer than this many hours fans out into child executions of this size. */
  CHILD_RANGE_HOURS: 'CHILD_RANGE_HOURS',
  /** Compressed raw bytes one StageObjects invocation reads. */
  MAX_CHUNK_BYTES: 'MAX_CHUNK_BYTES',
  /** Raw objects one StageObjects invocation reads. */
  MAX_CHUNK_OBJECTS: 'MAX_CHUNK_OBJECTS',
  /** Partitions one MergePartition invocation merges. */
  MERGE_GROUP_SIZE: 'MERGE_GROUP_SIZE',
  /** Rollup statements one RunAthenaSteps invocation starts. */
  ATHENA_STATEMENTS_PER_INVOCATION: 'ATHENA_STATEMENTS_PER_INVOCATION',
  /** Rollup statements running at once. */
  ATHENA_CONCURRENCY: 'ATHENA_CONCURRENCY',
} as const;

export { DEFAULT_WORKFLOW_CONFIG };

/** Reads the workflow settings once at cold start; throws ConfigError naming a bad variable. */
export function readWorkflowConfig(env: EnvVars): WorkflowConfig {
  const d = DEFAULT_WORKFLOW_CONFIG;
  const leaseTtlSeconds = readPositiveInt(env, ENV.LEASE_TTL_SECONDS, d.leaseTtlSeconds);
  const maxCatchUpHours = readPositiveInt(env, ENV.MAX_CATCH_UP_HOURS, d.maxCatchUpHours);
  const problem = catchUpHoursProblem(maxCatchUpHours, leaseTtlSeconds);
  if (problem) throw new ConfigError(`${ENV.MAX_CATCH_UP_HOURS} ${problem}`);
  return {
    lateHorizonHours: readPositiveInt(env, ENV.LATE_HORIZON_HOURS, d.lateHorizonHours),
    maxBackfillDays: readPositiveInt(env, ENV.MAX_BACKFILL_DAYS, d.maxBackfillDays),
    childRangeHours: readPositiveInt(env, WORKFLOW_ENV.CHILD_RANGE_HOURS, d.childRangeHours),
    leaseTtlSeconds,
    gcGraceHours: readPositiveInt(env, ENV.GC_GRACE_HOURS, d.gcGraceHours),
    maxChunkBytes: readPositiveInt(env, WORKFLOW_ENV.MAX_CHUNK_BYTES, d.maxChunkBytes),
    maxChunkObjects: readPositiveInt(env, WORKFLOW_ENV.MAX_CHUNK_OBJECTS, d.maxChunkObjects),
    mergeGroupSize: readPositiveInt(env, WORKFLOW_ENV.MERGE_GROUP_SIZE, d.mergeGroupSize),
    athenaStatementsPerInvocation: readPositiveInt(
      env,
      WORKFLOW_ENV.ATHENA_STATEMENTS_PER_INVOCATION,
      d.athenaStatementsPerInvocation,
    ),
    athenaConcurrency: readPositiveInt(env, WORKFLOW_ENV.ATHENA_CONCURRENCY, d.athenaConcurrency),
    poisonAfterFailedRuns: readPositiveInt(env, ENV.POISON_AFTER_FAILED_RUNS, d.poisonAfterFailedRuns),
    maxCatchUpHours,
    quietClusters: readQuietClusters(env),
  };
}

const QUIET_ENV = {
  lookbackHours: ENV.QUIET_CLUSTERS_LOOKBACK_HOURS,
  silentHours: ENV.QUIET_CLUSTERS_SILENT_HOURS,
  ignored: ENV.QUIET_CLUSTERS_IGNORED,
} as const;

/**
 * The quiet-cluster settings WriteLedger is given (undefined when none of its variables is set:
 * the defaults apply); throws ConfigError naming each bad variable.
 */
export function readQuietClusters(env: EnvVars): QuietClusterSettings | undefined {
  if (Object.values(QUIET_ENV).every((name) => !env[name]?.trim())) return undefined;
  const d = DEFAULT_QUIET_CLUSTER_SETTINGS;
  const settings = {
    lookbackHours: readPositiveInt(env, QUIET_ENV.lookbackHours, d.lookbackHours),
    silentHours: readPositiveInt(env, QUIET_ENV.silentHours, d.silentHours),
    ignored: (env[QUIET_ENV.ignored] ?? '')
      .split(',')
      .map((id) => id.trim())
      .filter((id) => id !== ''),
  };
  const problems = quietClusterSettingsProblems(settings);
  if (problems.length > 0) {
    throw new ConfigError(problems.map((q) => `${QUIET_ENV[q.setting]} ${q.message}`).join('; '));
  }
  return settings;
}
