import {
  chunkOfStagedKey,
  QUARANTINE_OBJECTS_PREFIX,
  quarantineReasonKey,
  stagingPrefix,
} from '../core/compact/layout.ts';
import type { CuratedTableName } from '../core/schema.ts';
import { classifyFailure, environmentErrorOf } from '../core/workflow/failure.ts';
import {
  backfillStartingWatermark,
  type CatchUpLimits,
  catchUpBackfill,
  catchUpWindow,
  coversSinceWatermark,
  leaseHolderOf,
  MAX_CATCH_UP_HOURS,
  resolveWindow,
  startingWatermark,
} from '../core/workflow/input.ts';
import type { ChunkLimits, PlanChunk, PlannedObject } from '../core/workflow/plan.ts';
import { groupsOf, planIdOf } from '../core/workflow/plan.ts';
import { DEFAULT_QUIET_CLUSTER_SETTINGS, type QuietClusterSettings } from '../core/workflow/quiet-clusters.ts';
import type { TimeRange, WorkflowWindow } from '../core/workflow/window.ts';
import type { Clock, Log, Metrics, ObjectStore } from '../ports.ts';
import {
  type CompactionDeps,
  type MergeResult,
  mergePartition,
  publishPartitions,
  type StageResult,
  stageObjects,
} from './compact.ts';
import { collectGarbage } from './gc.ts';
import {
  acquireLease,
  fenceLease,
  type LeaseDeps,
  type LeaseGrant,
  type ReleaseOutcome,
  releaseLease,
} from './lease.ts';
import {
  advanceWatermark,
  arrivalHourOf,
  liveOwedSteps,
  oweAthenaWork,
  type PartitionRunCounts,
  POISON_AFTER_FAILED_RUNS,
  QUIET_CLUSTERS_METRIC,
  readAttempts,
  readOwedAthenaWork,
  readWatermark,
  recordBackfillCoverage,
  recordClusterSightings,
  recordFailedAttempts,
  recordPartitions,
  recordProcessed,
  settleAthenaWork,
  takeOnOwedAthenaWork,
  uncountOwedAthenaRun,
  WATERMARK_LAG_METRIC,
  type Watermark,
} from './ledger.ts';
import {
  maybeReadRunFile,
  oldestRawArrivalHour,
  planWindow,
  RUNS_PREFIX,
  readRunFile,
  type StoredPlan,
  writeRunFile,
} from './plan.ts';

/** Settings of the workflow Tasks (read once at the edge; see functions/shared/workflow-config.ts). */
export interface WorkflowConfig extends CatchUpLimits, ChunkLimits {
  readonly leaseTtlSeconds: number;
  readonly gcGraceHours: number;
  /** Partitions merged by one MergePartition invocation. */
  readonly mergeGroupSize: number;
  /** Rollup statements one RunAthenaSteps invocation starts before handing back to the loop. */
  readonly athenaStatementsPerInvocation: number;
  /** Rollup statements running at once (below the account's active DML query quota). */
  readonly athenaConcurrency: number;
  /** Failed runs after which a raw object is marked poison and quarantined (default 3). */
  readonly poisonAfterFailedRuns?: number;
  /** When WriteLedger reports a cluster as quiet (default: seen in 24 hours, silent for 2). */
  readonly quietClusters?: QuietClusterSettings;
}

/** Defaults sized for Task functions of 2 GiB and 15 minutes; the arithmetic is in ADR 0003. */
export const DEFAULT_WORKFLOW_CONFIG: WorkflowConfig & {
  readonly poisonAfterFailedRuns: number;
  readonly maxCatchUpHours: number;
} = {
  lateHorizonHours: 48,
  maxBackfillDays: 90,
  childRangeHours: 24,
  leaseTtlSeconds: 1800,
  gcGraceHours: 24,
  maxChunkBytes: 64 * 1024 * 1024,
  maxChunkObjects: 200,
  mergeGroupSize: 25,
  athenaStatementsPerInvocation: 240,
  athenaConcurrency: 8,
  poisonAfterFailedRuns: POISON_AFTER_FAILED_RUNS,
  maxCatchUpHours: MAX_CATCH_UP_HOURS,
};

/** A partition of a curated table. */
export interface PartitionRef {
  readonly table: CuratedTableName;
  readonly values: readonly string[];
}

/**
 * The compaction steps the workflow drives, with the contracts of src/pipeline/compact.ts
 * (stage a chunk, merge a partition into a new generation, publish under a fence) and gc.ts.
 */
export interface CompactionSteps {
  stageObjects(input: { planId: string; chunkId: string; keys: string[] }): Promise<StageResult>;
  mergePartition(input: { planId: string; table: CuratedTableName; values: string[] }): Promise<MergeResult>;
  /** Switches the catalog to the merged generations; calls `fence` right before each catalog write. */
  publishPartitions(input: {
    planId: string;
    merged: MergeResult[];
    fence: () => Promise<void>;
  }): Promise<{ published: number }>;
  /** Deletes generations and staging no partition points to once older than the grace period. */
  collectGarbage(input: { graceHours: number }): Promise<{ objects: number }>;
}

/**
 * Counters the compaction steps emit, with the Task (EMF `service` dimension) that emits each;
 * the alarms read the same names, so neither side can drift.
 */
export const COMPACTION_METRICS = {
  quarantinedObjects: { metricName: 'QuarantinedObjects', service: 'stage-objects' },
  quarantinedRecords: { metricName: 'QuarantinedRecords', service: 'stage-objects' },
  redactedSecrets: { metricName: 'RedactedSecrets', service: 'stage-objects' },
  semanticDuplicates: { metricName: 'SemanticDuplicates', service: 'stage-objects' },
  truncatedEvents: { metricName: 'TruncatedEvents', service: 'stage-objects' },
  poisonedObjects: { metricName: 'PoisonedObjects', service: 'write-ledger' },
  /**
   * 1 per run whose ledger recorded every item (scheduled or backfill child): runs skipped behind a
   * held lease or failing count nothing, unlike the Step Functions ExecutionsSucceeded.
   */
  completedRuns: { metricName: 'CompletedRuns', service: 'write-ledger' },
  /** Owed Athena steps (raw partitions, rollups) given up after repeated failed runs. */
  abandonedAthenaSteps: { metricName: 'AbandonedAthenaSteps', service: 'run-athena-steps' },
  /**
   * Hours of the backfill a scheduled run names because the watermark lags past the catch-up
   * bound (0 when none is needed); the error log carries the `{from, to}` to start.
   */
  backfillRequiredHours: { metricName: 'BackfillRequiredHours', service: 'plan-window' },
  /** Keys under raw/ the planner left out: not Firehose output (manual uploads, failure JSON). */
  ignoredRawKeys: { metricName: 'IgnoredRawKeys', service: 'plan-window' },
  publishedPartitions: { metricName: 'PublishedPartitions', service: 'publish-partitions' },
} as const;

/** The real compaction (src/pipeline/compact.ts, publish.ts, gc.ts) as workflow steps. */
export function compactionStepsOver(deps: CompactionDeps): CompactionSteps {
  return {
    stageObjects: (input) => stageObjects(deps, input),
    mergePartition: (input) => mergePartition(deps, input),
    publishPartitions: (input) => publishPartitions(deps, input),
    collectGarbage: (input) => collectGarbage({ ...deps, log: deps.log }, input),
  };
}

/** Athena (DuckDB locally): raw-table partitions, hourly rollups and their catalog switch. */
export interface AthenaSteps {
  /** Registers the raw-table partitions of these arrival hours; returns the statements run. */
  registerRawPartitions(arrivalHours: readonly { dt: string; hour: string }[]): Promise<number>;
  /** Builds one hour's rollup into a fresh generation (`gen=<generation>`) and returns where. */
  buildRollup(input: {
    planId: string;
    generation: string;
    values: readonly string[];
  }): Promise<{ values: readonly string[]; location: string }>;
  /** Points the rollup partitions at their new generations (at most 100 per call). */
  switchRollups(partitions: readonly { values: readonly string[]; location: string }[], planId: string): Promise<void>;
}

export interface WorkflowDeps {
  readonly store: ObjectStore;
  readonly clock: Clock;
  readonly config: WorkflowConfig;
  readonly compaction: CompactionSteps;
  readonly athena: AthenaSteps;
  readonly log?: Log;
  /** EMF in Lambda; WriteLedger reports the watermark lag through it. */
  readonly metrics?: Metrics;
}

/** The summary every execution ends with (also the Cause of a failed one). */
export interface RunSummary {
  readonly status: 'succeeded' | 'failed' | 'skipped';
  readonly mode: WorkflowWindow['mode'];
  readonly start: string;
  readonly end: string;
  readonly planId: string | null;
  readonly hours: number;
  readonly objects: number;
  readonly chunks: number;
  readonly partitions: number;
  readonly eventsIn: number;
  readonly rowsOut: number;
  readonly duplicatesRemoved: number;
  readonly quarantined: number;
  /** Raw objects marked poison by this run: failed in too many runs, copied to quarantine/objects/. */
  readonly poisonedObjects: number;
  readonly failedItems: number;
  /**
   * Set when items failed because of the environment (access, KMS, credentials, throttling), not
   * their objects: the error the execution ends with. Such failures never count toward poison.
   */
  readonly environmentFailure: 'AccessDeniedError' | 'ThrottledError' | null;
  readonly failureSummary: string;
  readonly watermark: string | null;
  /**
   * The backfill to start when the watermark lags past what a scheduled run catches up by
   * itself (the watermark stays until it ran); null otherwise.
   */
  readonly backfillRequired: TimeRange | null;
}

interface StageRecord {
  readonly chunkId: number;
  readonly failed: boolean;
  readonly error?: string;
  readonly cause?: string;
}
interface MergeGroupRecord {
  readonly groupId: number;
  readonly failed: boolean;
  readonly error?: string;
  readonly cause?: string;
}
interface MergePlanFile {
  readonly groups: readonly { groupId: number; partitions: readonly PartitionRef[] }[];
  readonly failedChunks: readonly StageRecord[];
}
interface MergedGroupFile {
  readonly merged: readonly MergeResult[];
  readonly failed: readonly (PartitionRef & { error: string; cause: string })[];
}

const leaseDeps = (deps: WorkflowDeps): LeaseDeps => ({
  store: deps.store,
  clock: deps.clock,
  ttlMs: deps.config.leaseTtlSeconds * 1000,
});

/**
 * Where one execution keeps a plan's run files: per holder (execution name, which a redrive
 * keeps), so another execution that happens to plan the same objects never reuses results
 * computed against an older catalog state.
 */
const runKey = (lease: LeaseGrant, planId: string) => `${lease.holder}/${planId}`;

/**
 * Chunk ids travel as numbers in the state; compaction names its staged files by this string.
 * It carries a hash of the chunk's keys and ETags: attempts that share a run key (backfill
 * children of one parent) can number other objects alike, and must not reuse each other's results.
 */
const chunkName = (chunk: PlanChunk) =>
  `c${String(chunk.chunkId).padStart(5, '0')}-${planIdOf(chunk.objects).slice(0, 12)}`;

/** A chunk's stored stage result, only if it was staged from exactly this chunk's objects. */
async function readStaged(deps: WorkflowDeps, run: string, chunk: PlanChunk): Promise<StageResult | undefined> {
  const done = await maybeReadRunFile<StageResult>(deps.store, run, `staged/${chunk.chunkId}.json`);
  return done?.chunkId === chunkName(chunk) ? done : undefined;
}
const partitionId = (p: PartitionRef) => `${p.table}/${p.values.join('/')}`;
const hourCount = (w: WorkflowWindow) => (Date.parse(w.end) - Date.parse(w.start)) / 3_600_000;

/** ValidateInput: the execution input → its window and lease holder, or InvalidInputError before any work. */
export async function validateInputTask(
  deps: WorkflowDeps,
  payload: { input: unknown; executionName: string },
): Promise<{ window: WorkflowWindow; holder: string }> {
  return {
    window: resolveWindow(payload.input, deps.clock.now(), deps.config),
    holder: leaseHolderOf(payload.input, payload.executionName),
  };
}

/**
 * AcquireLease: takes the compaction lease for this execution. A backfill child (its holder is
 * its parent's name) records itself and its range in the lease: a copy of an earlier child's
 * input is refused, while the retry of its range or the parent's next child takes it over with a
 * new token that fences the previous child out (a copy of the running child's input does too).
 */
export async function acquireLeaseTask(
  deps: WorkflowDeps,
  payload: { holder: string; window?: WorkflowWindow; executionName?: string },
): Promise<LeaseGrant> {
  const execution = payload.executionName ?? payload.holder;
  const childFrom = execution !== payload.holder ? payload.window?.start : undefined;
  const grant = await acquireLease(leaseDeps(deps), payload.holder, { execution, childFrom });
  deps.log?.info('lease acquired', { ...grant, execution });
  return grant;
}

/**
 * PlanWindow: lists, filters and chunks the window's raw objects; returns chunk ids only. A
 * scheduled window lists back to the watermark, read under the lease (catch-up after an outage);
 * past the catch-up bound it logs an error and a metric naming the backfill to start.
 */
export async function planWindowTask(
  deps: WorkflowDeps,
  payload: { window: WorkflowWindow; lease: LeaseGrant },
): Promise<{ planId: string; chunks: number[]; objects: number; bytes: number; owedAthenaSteps: number }> {
  await fenceLease(leaseDeps(deps), payload.lease);
  const listedAt = deps.clock.now().toISOString();
  const stored = (await readWatermark(deps.store))?.completeThrough ?? null;
  // With no watermark yet, raw data older than the late look-back (a bucket that held data before
  // the first run) would never be listed: start the watermark at the oldest arrival hour instead.
  const started =
    stored === null && payload.window.mode === 'scheduled'
      ? startingWatermark(payload.window, await oldestRawArrivalHour(deps.store))
      : null;
  const watermark = stored ?? started;
  const window = catchUpWindow(payload.window, watermark, deps.config);
  const backfill = catchUpBackfill(window, watermark, deps.config);
  if (window.mode === 'scheduled') {
    const hours = backfill ? (Date.parse(backfill.to) - Date.parse(backfill.from)) / 3_600_000 : 0;
    deps.metrics?.count(COMPACTION_METRICS.backfillRequiredHours.metricName, hours);
  }
  if (backfill) {
    deps.log?.error('watermark lags past the catch-up bound: start this backfill; the watermark stays until it ran', {
      watermark,
      listedFrom: window.arrivalHours[0],
      backfill,
      startExecutionInput: JSON.stringify(backfill),
    });
  }
  const plan = await planWindow(
    { store: deps.store, limits: deps.config, log: deps.log },
    window,
    payload.lease.holder,
    listedAt,
  );
  if (started) {
    // Stored, so LedgerFreshness shows the lag and the children of a named backfill can move it.
    await advanceWatermark(deps.store, {
      completeThrough: started,
      updatedAt: listedAt,
      executionName: payload.lease.holder,
      planId: plan.planId,
    });
    deps.log?.info('no watermark yet: started it at the oldest raw arrival hour', { watermark: started });
  }
  const objects = plan.chunks.reduce((n, c) => n + c.objects.length, 0);
  const bytes = plan.chunks.reduce((n, c) => n + c.bytes, 0);
  // Emitted as 0 too, so the dashboard shows planning ran; the alarm fires only above 0.
  deps.metrics?.count(COMPACTION_METRICS.ignoredRawKeys.metricName, plan.ignoredKeys.length);
  // A run with no object still runs the Athena steps an earlier run left owed.
  const owed = liveOwedSteps(await readOwedAthenaWork(deps.store));
  const owedAthenaSteps = owed.rawHours.length + owed.rollups.length;
  deps.log?.info('planned', { planId: plan.planId, objects, bytes, chunks: plan.chunks.length, owedAthenaSteps });
  return { planId: plan.planId, chunks: plan.chunks.map((c) => c.chunkId), objects, bytes, owedAthenaSteps };
}

/** StageObjects: stages one chunk; a chunk already staged for this plan (redrive, rerun) is not redone. */
export async function stageObjectsTask(
  deps: WorkflowDeps,
  payload: { planId: string; chunkId: number; lease: LeaseGrant },
): Promise<{ chunkId: number; partitions: number }> {
  const { planId, chunkId } = payload;
  const run = runKey(payload.lease, planId);
  try {
    const plan = await readRunFile<StoredPlan>(deps.store, run, 'plan.json');
    const chunk = plan.chunks.find((c) => c.chunkId === chunkId);
    if (!chunk) throw new Error(`plan ${planId} has no chunk ${chunkId}`);
    const done = await readStaged(deps, run, chunk);
    if (done) return { chunkId, partitions: done.partitions.length };
    await fenceLease(leaseDeps(deps), payload.lease);
    const staged = await deps.compaction.stageObjects({
      planId,
      chunkId: chunkName(chunk),
      keys: chunk.objects.map((o) => o.key),
    });
    await writeRunFile(deps.store, run, `staged/${chunkId}.json`, staged);
    return { chunkId, partitions: staged.partitions.length };
  } catch (err) {
    // Step Functions keeps only the error's name: give access and throttling failures ours, so
    // WriteLedger can tell them from the object's own and never count them toward poison.
    throw environmentErrorOf(err) ?? err;
  }
}

/** PlanMerge: unions the touched partitions of the staged chunks into merge groups. */
export async function planMergeTask(
  deps: WorkflowDeps,
  payload: { planId: string; lease: LeaseGrant; staged: readonly StageRecord[] },
): Promise<{ groups: number[]; partitions: number; failedChunks: number }> {
  const run = runKey(payload.lease, payload.planId);
  const plan = await readRunFile<StoredPlan>(deps.store, run, 'plan.json');
  const touched = new Map<string, PartitionRef>();
  for (const s of payload.staged) {
    if (s.failed) continue;
    const chunk = plan.chunks.find((c) => c.chunkId === s.chunkId);
    const staged = chunk && (await readStaged(deps, run, chunk));
    if (!staged) throw new Error(`run ${run} has no stage result of chunk ${s.chunkId} as planned`);
    for (const p of staged.partitions) touched.set(partitionId(p), { table: p.table, values: p.values });
  }
  const partitions = [...touched.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, p]) => p);
  // A merge invocation that dies (timeout, OOM) fails its whole group: partitions of objects that
  // failed before are merged one per group, so the next run tells the failing one from the rest.
  const suspect = await suspectPartitions(deps, run, plan, payload.staged);
  const groups = [
    ...groupsOf(
      partitions.filter((p) => !suspect.has(partitionId(p))),
      deps.config.mergeGroupSize,
    ),
    ...groupsOf(
      partitions.filter((p) => suspect.has(partitionId(p))),
      1,
    ),
  ].map((g, groupId) => ({ groupId, partitions: g }));
  const failedChunks = payload.staged.filter((s) => s.failed);
  await writeRunFile(deps.store, run, 'merge.json', { groups, failedChunks } satisfies MergePlanFile);
  return { groups: groups.map((g) => g.groupId), partitions: partitions.length, failedChunks: failedChunks.length };
}

/** Partitions staged by chunks holding an object with failed runs counted (same ETag). */
async function suspectPartitions(
  deps: WorkflowDeps,
  run: string,
  plan: StoredPlan,
  staged: readonly StageRecord[],
): Promise<Set<string>> {
  const chunks = staged.flatMap((s) => (s.failed ? [] : plan.chunks.filter((c) => c.chunkId === s.chunkId)));
  const hours = [...new Set(chunks.flatMap((c) => c.objects.map((o) => arrivalHourOf(o.key))))].sort();
  const attempts = new Map<string, string>();
  for (const h of hours) {
    for (const [key, a] of Object.entries(await readAttempts(deps.store, h))) attempts.set(key, a.etag);
  }
  const out = new Set<string>();
  for (const chunk of chunks) {
    if (!chunk.objects.some((o) => attempts.get(o.key) === o.etag)) continue;
    const result = await readStaged(deps, run, chunk);
    for (const p of result?.partitions ?? []) out.add(partitionId(p));
  }
  return out;
}

/** MergePartition: merges one group of partitions; one bad partition is recorded, not fatal to the group. */
export async function mergePartitionTask(
  deps: WorkflowDeps,
  payload: { planId: string; groupId: number; lease: LeaseGrant },
): Promise<{ groupId: number; merged: number; failedPartitions: number }> {
  const { planId, groupId } = payload;
  const run = runKey(payload.lease, planId);
  // No skip on a stored result here: the merge reads the partition's current generation, so
  // compaction's mergePartition decides whether its earlier output is still valid (a no-op if so).
  await fenceLease(leaseDeps(deps), payload.lease);
  const plan = await readRunFile<MergePlanFile>(deps.store, run, 'merge.json');
  const group = plan.groups.find((g) => g.groupId === groupId);
  if (!group) throw new Error(`merge plan ${planId} has no group ${groupId}`);
  const merged: MergeResult[] = [];
  const failed: MergedGroupFile['failed'][number][] = [];
  for (const p of group.partitions) {
    try {
      merged.push(await deps.compaction.mergePartition({ planId, table: p.table, values: [...p.values] }));
    } catch (err) {
      const environment = environmentErrorOf(err);
      const e = environment ?? (err instanceof Error ? err : new Error(String(err)));
      // Transient and environment faults go back to the Map's Retry (they are no partition's own);
      // anything else is this partition's own failure.
      if (environment || e.name === 'RetryableError' || e.name === 'LeaseLostError') throw e;
      deps.log?.error('partition merge failed', { partition: partitionId(p), error: e.name, cause: e.message });
      failed.push({ ...p, error: e.name, cause: e.message });
    }
  }
  await writeRunFile(deps.store, run, `merged/${groupId}.json`, { merged, failed } satisfies MergedGroupFile);
  return { groupId, merged: merged.length, failedPartitions: failed.length };
}

/** A failed merge item: a whole group (its invocation failed) or one partition of a group. */
interface MergeFailure {
  readonly id: string;
  readonly error: string;
  readonly cause: string;
  readonly groupId?: number;
  readonly partition?: PartitionRef;
}

async function readMerged(deps: WorkflowDeps, run: string, groups: readonly MergeGroupRecord[]) {
  const merged: MergeResult[] = [];
  const failed: MergeFailure[] = [];
  for (const g of groups) {
    if (g.failed) {
      const error = g.error ?? 'States.TaskFailed';
      failed.push({ id: `merge group ${g.groupId}`, error, cause: g.cause ?? '', groupId: g.groupId });
      continue;
    }
    const file = await readRunFile<MergedGroupFile>(deps.store, run, `merged/${g.groupId}.json`);
    merged.push(...file.merged);
    for (const f of file.failed) {
      const partition = { table: f.table, values: f.values };
      failed.push({ id: partitionId(f), error: f.error, cause: f.cause, partition });
    }
  }
  return { merged, failed };
}

/** PublishPartitions: switches every merged partition to its new generation, fenced by the lease. */
export async function publishPartitionsTask(
  deps: WorkflowDeps,
  payload: { planId: string; lease: LeaseGrant; merged: readonly MergeGroupRecord[] },
): Promise<{ partitions: number }> {
  const { planId } = payload;
  const run = runKey(payload.lease, planId);
  const { merged } = await readMerged(deps, run, payload.merged);
  const fence = () => fenceLease(leaseDeps(deps), payload.lease);
  await fence();
  // Owed before the first catalog switch: a run that fails from here on leaves them to the next run.
  const plan = await readRunFile<StoredPlan>(deps.store, run, 'plan.json');
  await oweAthenaWork(deps.store, ownAthenaWork(plan, merged), {
    executionName: payload.lease.holder,
    at: deps.clock.now().toISOString(),
  });
  await deps.compaction.publishPartitions({ planId, merged, fence });
  await writeRunFile(deps.store, run, 'published.json', {
    groups: payload.merged,
    partitions: merged.map((m) => ({ table: m.table, values: m.values, location: m.location, changed: m.changed })),
  });
  return { partitions: merged.length };
}

interface AthenaProgress {
  /** The work this run took on at its first invocation: its own and what earlier runs left owed. */
  rawHours?: string[];
  rollups?: (readonly string[])[];
  rawRegistered: boolean;
  built: { values: readonly string[]; location: string }[];
  statements: number;
}

/**
 * The Athena steps a plan calls for: the raw-table partitions of its arrival hours and the
 * rollups of hours whose audit_events changed (the rollups summarise audit events only).
 */
function ownAthenaWork(
  plan: StoredPlan,
  partitions: readonly (PartitionRef & { changed: boolean })[],
): { rawHours: string[]; rollups: (readonly string[])[] } {
  const rawHours = [...new Set(plan.chunks.flatMap((c) => c.objects.map((o) => arrivalHourOf(o.key))))].sort();
  const rollups = new Map<string, readonly string[]>();
  for (const p of partitions) {
    if (p.table === 'audit_events' && p.changed) rollups.set(p.values.join('/'), p.values);
  }
  return { rawHours, rollups: [...rollups.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v) };
}

/** Runs `fn` over `items` with at most `limit` at a time; results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * RunAthenaSteps: registers the raw-table partitions of the planned arrival hours, then builds
 * the rollups of hours whose audit_events changed, at most `athenaStatementsPerInvocation` per
 * call (the ASL loops while `done` is false, so no invocation nears Lambda's 15 minutes).
 * The first invocation also takes on what earlier runs left owed (control/ledger/athena-owed.json)
 * and stores the whole list, so a retry or redrive only builds what is missing; once every
 * rollup is built the catalog switches, 100 at a time, each right after a fence, and the steps
 * done are struck from what is owed.
 */
export async function runAthenaStepsTask(
  deps: WorkflowDeps,
  payload: { planId: string; lease: LeaseGrant; executionName?: string; window?: WorkflowWindow },
): Promise<AthenaStepsResult> {
  const { planId } = payload;
  const run = runKey(payload.lease, planId);
  const executionName = payload.executionName ?? payload.lease.holder;
  const finished = await maybeReadRunFile<{ rawPartitions: number; rollupPartitions: number; statements: number }>(
    deps.store,
    run,
    athenaFile(executionName, 'done'),
  );
  if (finished) return { done: true, ...finished };
  // Owed steps count one run per window, not per lease holder (a backfill's children share their
  // parent's) nor per execution (a child's automatic retry is the same run of its range).
  const countAs =
    executionName !== payload.lease.holder && payload.window
      ? `${payload.lease.holder}@${payload.window.start}`
      : executionName;
  const fence = () => fenceLease(leaseDeps(deps), payload.lease);
  try {
    return await athenaSteps(deps, payload, run, executionName, countAs, fence);
  } catch (err) {
    if (classifyFailure(err).kind !== 'object') {
      // Access or throttling says nothing about the owed steps: this run does not count for them.
      try {
        await fence();
        await uncountOwedAthenaRun(deps.store, { executionName: countAs });
      } catch (refundError) {
        deps.log?.warn('could not take back the run counted on owed Athena steps', {
          error: refundError instanceof Error ? refundError.name : String(refundError),
        });
      }
    }
    throw err;
  }
}

/**
 * RunAthenaSteps' own files, per execution: run files are keyed by lease holder, which a backfill
 * child's automatic retry shares with the failed attempt, and that retry may owe other rollups.
 * A redrive keeps its execution name, so it resumes where it stopped.
 */
function athenaFile(executionName: string, kind: 'progress' | 'done'): string {
  return kind === 'progress' ? `athena-progress.${executionName}.json` : `athena.${executionName}.json`;
}

type AthenaStepsResult = { done: boolean; rawPartitions: number; rollupPartitions: number; statements: number };

async function athenaSteps(
  deps: WorkflowDeps,
  payload: { planId: string; lease: LeaseGrant },
  run: string,
  executionName: string,
  countAs: string,
  fence: () => Promise<void>,
): Promise<AthenaStepsResult> {
  const { planId } = payload;
  const progressFile = athenaFile(executionName, 'progress');
  await fence();
  let progress = await maybeReadRunFile<AthenaProgress>(deps.store, run, progressFile);
  if (!progress?.rawHours || !progress.rollups) {
    const plan = await readRunFile<StoredPlan>(deps.store, run, 'plan.json');
    // Absent when the plan had no object and the run is here only for owed steps.
    const published = await maybeReadRunFile<{ partitions: (PartitionRef & { changed: boolean })[] }>(
      deps.store,
      run,
      'published.json',
    );
    // PublishPartitions already recorded this run's own steps as owed; they are taken on with the rest.
    const own = ownAthenaWork(plan, published?.partitions ?? []);
    const taken = await takeOnOwedAthenaWork(deps.store, { executionName: countAs });
    deps.metrics?.count(COMPACTION_METRICS.abandonedAthenaSteps.metricName, taken.abandoned.length);
    if (taken.abandoned.length > 0) {
      deps.log?.error('owed Athena steps abandoned after repeated failed runs', {
        count: taken.abandoned.length,
        steps: taken.abandoned.slice(0, 10),
      });
    }
    const rollups = new Map<string, readonly string[]>();
    for (const v of [...own.rollups, ...taken.rollups]) rollups.set(v.join('/'), v);
    progress = {
      rawHours: [...new Set([...own.rawHours, ...taken.rawHours])].sort(),
      rollups: [...rollups.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v),
      rawRegistered: progress?.rawRegistered ?? false,
      built: progress?.built ?? [],
      statements: progress?.statements ?? 0,
    };
    await writeRunFile(deps.store, run, progressFile, progress);
  }
  const rawHours = progress.rawHours!;
  if (!progress.rawRegistered) {
    const arrivalHours = rawHours.map((h) => {
      const [dt, hour] = h.split('/').map((x) => x.split('=')[1]!) as [string, string];
      return { dt, hour };
    });
    progress.statements += await deps.athena.registerRawPartitions(arrivalHours);
    progress.rawRegistered = true;
    await writeRunFile(deps.store, run, progressFile, progress);
  }
  const built = new Set(progress.built.map((b) => b.values.join('/')));
  const remaining = progress.rollups!.filter((v) => !built.has(v.join('/')));
  const batch = remaining.slice(0, deps.config.athenaStatementsPerInvocation);
  // Athena refuses a non-empty UNLOAD target, so every invocation writes new generations; the
  // catalog only ever points at a complete one and GC removes the rest.
  const generation = `${planId}-${deps.clock.now().getTime().toString(36)}-${progress.built.length}`;
  const outcomes = await mapLimit(batch, deps.config.athenaConcurrency, async (values) => {
    try {
      return { built: await deps.athena.buildRollup({ planId, generation, values }) };
    } catch (error) {
      return { error };
    }
  });
  const results = outcomes.flatMap((o) => (o.built ? [o.built] : []));
  progress.built.push(...results);
  progress.statements += results.length;
  await writeRunFile(deps.store, run, progressFile, progress);
  const failed = outcomes.find((o) => !o.built);
  if (failed) {
    // Keep what did build: switched and struck from what is owed, so one statement that keeps
    // failing is the only step later runs take on again (and eventually abandon).
    await switchAndSettle(deps, fence, planId, rawHours, progress.built);
    throw failed.error;
  }
  const counts = {
    rawPartitions: rawHours.length,
    rollupPartitions: progress.built.length,
    statements: progress.statements,
  };
  if (remaining.length > batch.length) return { done: false, ...counts };
  await switchAndSettle(deps, fence, planId, rawHours, progress.built);
  await writeRunFile(deps.store, run, athenaFile(executionName, 'done'), counts);
  return { done: true, ...counts };
}

/** Points the built rollups' partitions at them, 100 per call after a fence, then settles what is owed. */
async function switchAndSettle(
  deps: WorkflowDeps,
  fence: () => Promise<void>,
  planId: string,
  rawHours: readonly string[],
  built: readonly { values: readonly string[]; location: string }[],
): Promise<void> {
  for (let i = 0; i < built.length; i += 100) {
    await fence();
    await deps.athena.switchRollups(built.slice(i, i + 100), planId);
  }
  await fence();
  await settleAthenaWork(deps.store, { rawHours, rollups: built.map((b) => b.values) });
}

/**
 * WriteLedger: a chunk counts as processed only if it staged and every partition it touched
 * was published; its objects go into the processed index (the next run skips them), the rest
 * are planned again. Per-partition counters, then the watermark for a clean scheduled run.
 */
export async function writeLedgerTask(
  deps: WorkflowDeps,
  payload: { planId: string; window: WorkflowWindow; lease: LeaseGrant; executionName: string },
): Promise<RunSummary> {
  const { planId, window } = payload;
  const run = runKey(payload.lease, planId);
  // Writing the ledger can take minutes: every step that others must not see from a stale run
  // (poison, counters, processed, watermark, sightings) proves the lease again first.
  const fence = () => fenceLease(leaseDeps(deps), payload.lease);
  await fence();
  const plan = await readRunFile<StoredPlan>(deps.store, run, 'plan.json');
  const published = await maybeReadRunFile<{ groups: MergeGroupRecord[] }>(deps.store, run, 'published.json');
  const mergePlan = await maybeReadRunFile<MergePlanFile>(deps.store, run, 'merge.json');
  const { merged, failed } = published
    ? await readMerged(deps, run, published.groups)
    : { merged: [] as MergeResult[], failed: [] as MergeFailure[] };

  // Access and throttling say nothing about the objects: those chunks are planned again, never poisoned.
  const objectFailures = (mergePlan?.failedChunks ?? []).filter((c) => kindOf(c.error) === 'object');
  const failedMerges = await failedMergeObjects(deps, run, plan, mergePlan, failed);
  const poisoned = await poisonRepeatFailures(
    deps,
    [...failedChunkObjects(plan, objectFailures), ...failedMerges.flatMap((m) => m.objects)],
    { planId, executionName: payload.executionName, holder: payload.lease.holder, fence },
  );
  // A partition whose objects are all poison now is settled like such a chunk: the rest of its
  // chunks (their other partitions published) is recorded, and the window completes.
  const settled = new Set(
    failedMerges
      .filter((m) => m.objects.length > 0 && m.objects.every((o) => poisoned.has(o.key)))
      .map((m) => partitionId(m.partition)),
  );
  const isSettled = (f: MergeFailure) => {
    const group = f.partition
      ? [f.partition]
      : (mergePlan?.groups.find((g) => g.groupId === f.groupId)?.partitions ?? []);
    return group.length > 0 && group.every((p) => settled.has(partitionId(p)));
  };
  const failures = [
    // A chunk whose objects are all poison now is settled: quarantined, and the window completes.
    ...(mergePlan?.failedChunks ?? [])
      .filter((c) => !plan.chunks[c.chunkId]?.objects.every((o) => poisoned.has(o.key)))
      .map((c) => ({
        id: `chunk ${c.chunkId}`,
        error: c.error ?? '',
        cause: c.cause ?? '',
      })),
    ...failed.filter((f) => !isSettled(f)),
  ];
  const publishedIds = new Set(merged.map(partitionId));
  const perHour = new Map<
    string,
    PartitionRunCounts & { rawObjects: number; eventsIn: number; rowsOut: number; duplicatesRemoved: number }
  >();
  const hourOf = (values: readonly string[]) => {
    const id = values.join('/');
    const c = perHour.get(id) ?? {
      values,
      rawObjects: 0,
      eventsIn: 0,
      rowsOut: 0,
      duplicatesRemoved: 0,
    };
    perHour.set(id, c);
    return c;
  };
  const doneObjects: { key: string; etag: string }[] = [];
  // Every staged partition shows its cluster delivered, whether or not this run published it.
  const seenPartitions: (readonly string[])[] = [];
  let eventsIn = 0;
  let quarantined = 0;
  let duplicatesRemoved = 0;
  const mergedById = new Map(merged.map((m) => [partitionId(m), m]));
  for (const chunk of plan.chunks) {
    const staged = await readStaged(deps, run, chunk);
    if (!staged) continue;
    seenPartitions.push(...staged.partitions.map((p) => p.values));
    eventsIn += staged.events;
    quarantined += staged.quarantined + staged.quarantinedObjects;
    duplicatesRemoved += staged.duplicates;
    const toPublish = staged.partitions.filter((p) => !settled.has(partitionId(p)));
    if (!toPublish.every((p) => publishedIds.has(partitionId(p)))) continue;
    // Published is not enough: the generation must hold this chunk's staged files, or its rows
    // would be lost for good once its objects count as processed. Planned again instead.
    const name = chunkName(chunk);
    const without = toPublish.filter((p) => !mergedById.get(partitionId(p))?.chunks?.includes(name));
    if (without.length > 0) {
      const cause = `staged into ${without.length} partition(s) whose published generation lacks its files (${partitionId(without[0]!)}); its objects are planned again`;
      deps.log?.error('chunk not in the published generations', { chunk: chunk.chunkId, cause });
      failures.push({ id: `chunk ${chunk.chunkId}`, error: 'UnmergedChunkError', cause });
      continue;
    }
    doneObjects.push(...chunk.objects.map((o) => ({ key: o.key, etag: o.etag })));
    // Objects of a chunk are counted for every hour the chunk touched (an upper bound per hour).
    for (const id of new Set(staged.partitions.map((p) => p.values.join('/')))) {
      hourOf(id.split('/')).rawObjects += chunk.objects.length;
    }
  }
  for (const m of merged) {
    const c = hourOf(m.values);
    c.eventsIn += m.addedRows + m.duplicates;
    c.rowsOut += m.rows;
    c.duplicatesRemoved += m.duplicates;
    duplicatesRemoved += m.duplicates;
  }
  const at = deps.clock.now().toISOString();
  await fence();
  await recordPartitions(deps.store, [...perHour.values()], { executionName: payload.executionName, planId, at });
  await fence();
  await recordProcessed(deps.store, doneObjects);

  const stored = await readWatermark(deps.store);
  const backfillRequired = catchUpBackfill(plan.window, stored?.completeThrough, deps.config);
  if (failures.length === 0) await fence();
  const watermark = failures.length === 0 ? await moveWatermark(deps, plan, stored, payload, at) : null;
  // Emitted by every run, failed or backfill too, so the lag keeps growing in CloudWatch while
  // runs fail; before the first clean scheduled run there is no watermark and nothing to report.
  const current = watermark ?? stored?.completeThrough;
  if (current) {
    const lagSeconds = Math.max(0, (deps.clock.now().getTime() - Date.parse(current)) / 1000);
    deps.metrics?.gauge(WATERMARK_LAG_METRIC.metricName, lagSeconds, WATERMARK_LAG_METRIC.unit);
  }
  await fence();
  await reportQuietClusters(deps, seenPartitions, current ?? null);
  const environmentFailure = environmentFailureOf(failures);
  const summary: RunSummary = {
    status: failures.length === 0 ? 'succeeded' : 'failed',
    mode: window.mode,
    start: window.start,
    end: window.end,
    planId,
    hours: hourCount(window),
    objects: plan.chunks.reduce((n, c) => n + c.objects.length, 0),
    chunks: plan.chunks.length,
    partitions: merged.filter((m) => m.changed).length,
    eventsIn,
    rowsOut: merged.reduce((n, m) => n + m.addedRows, 0),
    duplicatesRemoved,
    quarantined,
    poisonedObjects: poisoned.size,
    failedItems: failures.length,
    environmentFailure,
    failureSummary:
      (environmentFailure ? ENVIRONMENT_NOTE[environmentFailure] : '') +
      describeFailures(failures, plan.chunks.length + merged.length + failed.length),
    watermark,
    backfillRequired,
  };
  if (summary.status === 'succeeded') deps.metrics?.count(COMPACTION_METRICS.completedRuns.metricName, 1);
  deps.log?.info('run recorded', { ...summary });
  return summary;
}

/**
 * Records which clusters this run saw and reports those gone quiet as of the watermark: one
 * gauge every run (0 too, one metric whatever the fleet size) and, when any, a WARN naming them.
 */
async function reportQuietClusters(
  deps: WorkflowDeps,
  partitions: readonly (readonly string[])[],
  completeThrough: string | null,
): Promise<void> {
  const settings = deps.config.quietClusters ?? DEFAULT_QUIET_CLUSTER_SETTINGS;
  const { quiet, replacedUnreadable } = await recordClusterSightings(deps.store, partitions, completeThrough, settings);
  if (replacedUnreadable) deps.log?.warn('cluster sightings index was unreadable; started it afresh', {});
  deps.metrics?.gauge(QUIET_CLUSTERS_METRIC.metricName, quiet.length, QUIET_CLUSTERS_METRIC.unit);
  if (quiet.length === 0) return;
  deps.log?.warn(`clusters went quiet: no events for ${settings.silentHours} complete hours`, {
    count: quiet.length,
    completeThrough,
    clusters: quiet.slice(0, 100),
    lookbackHours: settings.lookbackHours,
  });
}

/**
 * Moves the watermark after a clean run, only over hours the run listed: to the end of a
 * scheduled window, or to the end of a backfill (at most to when it began listing) that starts
 * at or before the watermark's look-back, or where the previous child of the same backfill
 * stopped. Returns the stored watermark if this run moved or extended it.
 */
async function moveWatermark(
  deps: WorkflowDeps,
  plan: StoredPlan,
  stored: Watermark | undefined,
  run: { planId: string; lease: LeaseGrant; executionName: string },
  at: string,
): Promise<string | null> {
  const window = plan.window;
  const chain = stored?.backfill?.holder === run.lease.holder ? stored.backfill.listedThrough : undefined;
  // Before any scheduled run, a backfill from the oldest raw hour's look-back starts the watermark
  // where that run would have. Raw/ is read after this run listed, so every object that arrived
  // before the listing sits in that oldest hour or a later one, all of which this backfill listed.
  const base = stored ?? (window.mode === 'backfill' ? await backfillStart(deps, window, run, at) : undefined);
  if (!coversSinceWatermark(window, base?.completeThrough, deps.config, chain)) {
    if (window.mode === 'scheduled') {
      deps.log?.error('watermark not moved: this run did not list every hour since it', {
        watermark: stored?.completeThrough,
        listedFrom: window.arrivalHours[0],
        backfill: catchUpBackfill(window, stored?.completeThrough, deps.config),
      });
    }
    return null;
  }
  const owner = { executionName: run.executionName, planId: run.planId };
  if (window.mode === 'scheduled') {
    return (await advanceWatermark(deps.store, { completeThrough: window.end, updatedAt: at, ...owner }))
      .completeThrough;
  }
  // A backfill sees every object of its hours that arrived before it began listing.
  if (!base || !plan.listedAt) return null;
  const listedThrough = new Date(Math.min(Date.parse(window.end), Date.parse(plan.listedAt))).toISOString();
  const wm = await recordBackfillCoverage(deps.store, base, {
    holder: run.lease.holder,
    listedThrough,
    at,
    ...owner,
  });
  return wm.completeThrough;
}

/**
 * The watermark a backfill starts when none is stored (see backfillStartingWatermark), or
 * undefined when it does not cover from the oldest raw hour; says which, for the operator.
 */
async function backfillStart(
  deps: WorkflowDeps,
  window: WorkflowWindow,
  run: { planId: string; executionName: string },
  at: string,
): Promise<Watermark | undefined> {
  const oldest = await oldestRawArrivalHour(deps.store);
  const started = backfillStartingWatermark(window, oldest, deps.config);
  if (started === null) {
    if (oldest !== null) {
      deps.log?.info(
        'no watermark yet, and this backfill does not start it: it starts after the late look-back of the oldest raw arrival hour (the first scheduled run names the backfill that does)',
        {
          oldestArrivalHour: oldest,
          listedFrom: window.start,
        },
      );
    }
    return undefined;
  }
  deps.log?.info(
    'no watermark yet: this backfill lists from the look-back of the oldest raw arrival hour and starts it',
    {
      oldestArrivalHour: oldest,
      listedFrom: window.start,
    },
  );
  return { completeThrough: started, updatedAt: at, executionName: run.executionName, planId: run.planId };
}

type FailedObject = { key: string; etag: string; error: string };

/** Every object of the chunks that failed to stage, with the chunk's error. */
function failedChunkObjects(plan: StoredPlan, failedChunks: readonly StageRecord[]): FailedObject[] {
  return failedChunks.flatMap((c) =>
    (plan.chunks[c.chunkId]?.objects ?? []).map((o) => ({
      key: o.key,
      etag: o.etag,
      error: `${c.error ?? 'States.TaskFailed'}${c.cause ? `: ${c.cause.slice(0, 300)}` : ''}`,
    })),
  );
}

/**
 * Partitions whose merge failed for their own reasons (not access or throttling), each with the
 * planned objects whose rows its staged files hold; a group whose invocation failed (timeout,
 * OOM) names every partition of the group.
 */
async function failedMergeObjects(
  deps: WorkflowDeps,
  run: string,
  plan: StoredPlan,
  mergePlan: MergePlanFile | undefined,
  failed: readonly MergeFailure[],
): Promise<{ partition: PartitionRef; objects: FailedObject[] }[]> {
  const partitions: { partition: PartitionRef; error: string; cause: string }[] = [];
  for (const f of failed) {
    if (kindOf(f.error) !== 'object') continue;
    const group = f.partition
      ? [f.partition]
      : (mergePlan?.groups.find((g) => g.groupId === f.groupId)?.partitions ?? []);
    for (const partition of group) partitions.push({ partition, error: f.error, cause: f.cause });
  }
  if (partitions.length === 0) return [];
  const stagedInto = new Map<string, PlanChunk[]>();
  for (const chunk of plan.chunks) {
    for (const p of (await readStaged(deps, run, chunk))?.partitions ?? []) {
      const id = partitionId(p);
      stagedInto.set(id, [...(stagedInto.get(id) ?? []), chunk]);
    }
  }
  const out: { partition: PartitionRef; objects: FailedObject[] }[] = [];
  for (const { partition, error, cause } of partitions) {
    const id = partitionId(partition);
    const reason = `merge of partition ${id} failed: ${error}${cause ? `: ${cause.slice(0, 300)}` : ''}`;
    const objects = await stagedSources(deps, plan.planId, partition, stagedInto.get(id) ?? []);
    out.push({ partition, objects: objects.map((o) => ({ key: o.key, etag: o.etag, error: reason })) });
  }
  return out;
}

/**
 * The planned objects whose rows a partition's staged files hold: the `sources` its staged
 * sidecars name, or every object of a chunk whose sidecars cannot be read (a corrupt staged file
 * may be why the merge failed).
 */
async function stagedSources(
  deps: WorkflowDeps,
  planId: string,
  partition: PartitionRef,
  chunks: readonly PlanChunk[],
): Promise<PlannedObject[]> {
  const byName = new Map(chunks.map((c) => [chunkName(c), { chunk: c, sources: new Set<string>(), readable: true }]));
  for await (const o of deps.store.list(stagingPrefix(planId, partition.table, partition.values))) {
    const c = o.key.endsWith('.json') ? byName.get(chunkOfStagedKey(o.key)) : undefined;
    if (!c?.readable) continue;
    try {
      const got = await deps.store.get(o.key);
      const sources = got && (JSON.parse(Buffer.from(got.body).toString('utf8')) as { sources?: unknown }).sources;
      if (!Array.isArray(sources)) throw new Error('no sources');
      for (const s of sources) c.sources.add(String(s));
    } catch {
      c.readable = false;
    }
  }
  return [...byName.values()].flatMap(({ chunk, sources, readable }) => {
    const named = readable ? chunk.objects.filter((o) => sources.has(o.key)) : [];
    return named.length > 0 ? named : chunk.objects;
  });
}

/**
 * Counts a failed run for every object given (the first reason of a key wins), once per lease
 * holder (a backfill child and its retry are one run of their parent); an object that reached the
 * limit is copied to quarantine/objects/ with a `poison` reason and recorded as processed, so it
 * is not planned again and the window can complete. Returns the keys marked poison.
 */
async function poisonRepeatFailures(
  deps: WorkflowDeps,
  failedObjects: readonly FailedObject[],
  runOf: { planId: string; executionName: string; holder: string; fence: () => Promise<void> },
): Promise<Set<string>> {
  const { fence, ...run } = runOf;
  const byKey = new Map<string, FailedObject>();
  for (const o of failedObjects) if (!byKey.has(o.key)) byKey.set(o.key, o);
  const objects = [...byKey.values()];
  if (objects.length === 0) return new Set();
  const at = deps.clock.now().toISOString();
  const limit = deps.config.poisonAfterFailedRuns ?? POISON_AFTER_FAILED_RUNS;
  const poisoned = await recordFailedAttempts(deps.store, objects, { executionName: run.holder, at }, limit);
  if (poisoned.length > 0) await fence();
  for (const p of poisoned) {
    let copied = false;
    let copyError: string | undefined;
    try {
      const obj = await deps.store.get(p.key);
      if (obj) {
        await deps.store.put(`${QUARANTINE_OBJECTS_PREFIX}${p.key}`, obj.body);
        copied = true;
      }
    } catch (err) {
      // The object may be unreadable for good (the reason it is poison): the note still says why.
      copyError = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    }
    const note = {
      reason: 'poison',
      detail: p.lastError,
      failedRuns: p.runs,
      key: p.key,
      etag: p.etag,
      copied,
      copyError,
      ...run,
      at,
    };
    await deps.store.put(quarantineReasonKey(p.key), `${JSON.stringify(note)}\n`, {
      contentType: 'application/json',
    });
  }
  if (poisoned.length > 0) {
    await fence();
    await recordProcessed(deps.store, poisoned);
    deps.metrics?.count(COMPACTION_METRICS.poisonedObjects.metricName, poisoned.length);
    deps.log?.error('raw objects marked poison after repeated failed runs', {
      count: poisoned.length,
      keys: poisoned.map((p) => p.key).slice(0, 10),
    });
  }
  return new Set(poisoned.map((p) => p.key));
}

const kindOf = (errorName: string | undefined) => classifyFailure({ name: errorName ?? '' }).kind;

/** The error a run ends with when any item failed for the environment; access outranks throttling. */
function environmentFailureOf(failures: readonly { error: string }[]): RunSummary['environmentFailure'] {
  const kinds = new Set(failures.map((f) => kindOf(f.error)));
  if (kinds.has('access')) return 'AccessDeniedError';
  if (kinds.has('throttling')) return 'ThrottledError';
  return null;
}

const ENVIRONMENT_NOTE: Record<NonNullable<RunSummary['environmentFailure']>, string> = {
  AccessDeniedError:
    'Access denied (IAM, bucket or KMS key policy, key state or credentials), not a fault of the objects: none was marked poison and every failed object is planned again. ',
  ThrottledError:
    'Throttled after every retry, not a fault of the objects: none was marked poison and every failed object is planned again. ',
};

function describeFailures(failures: readonly { id: string; error: string; cause: string }[], total: number): string {
  if (failures.length === 0) return '';
  const shown = failures
    .slice(0, 10)
    .map((f) => `${f.id}: ${f.error}${f.cause ? ` (${f.cause.slice(0, 200)})` : ''}`)
    .join('; ');
  const more = failures.length > 10 ? `; and ${failures.length - 10} more` : '';
  return `${failures.length} of ${total} items failed; what succeeded was published. ${shown}${more}`;
}

/** Run files stay as long as Step Functions allows a redrive (14 days), plus a day. */
export const RUN_FILES_RETENTION_MS = 15 * 24 * 3_600_000;

/**
 * CollectGarbage: drops unreferenced generations and staging older than the grace period
 * (compaction's gc), and run files of executions older than {@link RUN_FILES_RETENTION_MS}.
 */
export async function collectGarbageTask(
  deps: WorkflowDeps,
  payload: { planId: string; lease: LeaseGrant },
): Promise<{ deleted: number }> {
  // A stale run must not delete: what it thinks unreferenced may be the new holder's.
  await fenceLease(leaseDeps(deps), payload.lease);
  const r = await deps.compaction.collectGarbage({ graceHours: deps.config.gcGraceHours });
  const cutoff = deps.clock.now().getTime() - RUN_FILES_RETENTION_MS;
  const byExecution = new Map<string, { keys: string[]; newest: number }>();
  for await (const o of deps.store.list(RUNS_PREFIX)) {
    const execution = o.key.slice(RUNS_PREFIX.length).split('/')[0]!;
    const e = byExecution.get(execution) ?? { keys: [], newest: 0 };
    e.keys.push(o.key);
    e.newest = Math.max(e.newest, o.lastModified.getTime());
    byExecution.set(execution, e);
  }
  let deleted = r.objects;
  for (const [execution, e] of byExecution) {
    if (execution === payload.lease.holder || e.newest >= cutoff) continue;
    await deps.store.delete(e.keys);
    deleted += e.keys.length;
  }
  return { deleted };
}

/**
 * ReleaseLease: gives the lease back so the next run need not wait for it to expire. Not caught
 * in the ASL: a release that fails (other than finding a later holder) fails the execution.
 */
export async function releaseLeaseTask(deps: WorkflowDeps, payload: { lease: LeaseGrant }): Promise<ReleaseOutcome> {
  const outcome = await releaseLease(leaseDeps(deps), payload.lease);
  if (!outcome.released) {
    deps.log?.warn('lease already taken over by a later run; nothing to release', {
      ...payload.lease,
      heldBy: outcome.heldBy,
    });
  }
  return outcome;
}

/** One child execution's outcome as the parent's Map records it. */
export type ChildOutcome =
  | { readonly failed: false; readonly summary: { readonly summary: RunSummary } | RunSummary }
  | {
      readonly failed: true;
      readonly range: { from: string; to: string };
      readonly error: string;
      readonly cause: string;
    };

/** SummarizeBackfill: adds up the children of a fanned-out backfill; failed children fail the parent. */
export async function summarizeBackfillTask(
  _deps: WorkflowDeps,
  payload: { window: WorkflowWindow; children: readonly ChildOutcome[] },
): Promise<RunSummary> {
  const ok: RunSummary[] = [];
  const failures: { id: string; error: string; cause: string }[] = [];
  for (const c of payload.children) {
    if (c.failed) failures.push({ id: `range ${c.range.from}..${c.range.to}`, error: c.error, cause: c.cause });
    else ok.push('summary' in c.summary ? c.summary.summary : c.summary);
  }
  const sum = (f: (s: RunSummary) => number) => ok.reduce((n, s) => n + f(s), 0);
  const w = payload.window;
  return {
    status: failures.length === 0 ? 'succeeded' : 'failed',
    mode: w.mode,
    start: w.start,
    end: w.end,
    planId: null,
    hours: hourCount(w),
    objects: sum((s) => s.objects),
    chunks: sum((s) => s.chunks),
    partitions: sum((s) => s.partitions),
    eventsIn: sum((s) => s.eventsIn),
    rowsOut: sum((s) => s.rowsOut),
    duplicatesRemoved: sum((s) => s.duplicatesRemoved),
    quarantined: sum((s) => s.quarantined),
    poisonedObjects: sum((s) => s.poisonedObjects ?? 0),
    failedItems: failures.length,
    // Each failed child already ended with its own error; the parent names the ranges.
    environmentFailure: null,
    failureSummary: describeFailures(failures, payload.children.length),
    watermark: null,
    backfillRequired: null,
  };
}
