import { PreconditionFailedError, RetryableError } from '../core/errors.ts';
import {
  type ClusterSighting,
  findQuietClusters,
  mergeSightings,
  parseSightings,
  type QuietClusterSettings,
  sightingsKeepFromMs,
  sightingsOf,
} from '../core/workflow/quiet-clusters.ts';
import { hourPrefix } from '../core/workflow/window.ts';
import type { ObjectStore } from '../ports.ts';

/** Root of everything the workflow records about what it has done. */
export const LEDGER_PREFIX = 'control/ledger/';
/** Freshness watermark: every raw object that arrived before `completeThrough` is in curated/. */
export const WATERMARK_KEY = 'control/ledger/watermark.json';

/**
 * The freshness gauge WriteLedger emits: seconds from the run to the watermark's `completeThrough`.
 * `service` is the EMF dimension (the Task function's service name); infra's LedgerFreshness
 * alarm reads this same constant.
 */
export const WATERMARK_LAG_METRIC = {
  metricName: 'watermark_lag_seconds',
  unit: 'Seconds',
  service: 'write-ledger',
} as const;

/**
 * Clusters that delivered in the last day but not in the last complete hours, emitted by every
 * WriteLedger run (0 too) under the `service` dimension only, so its cost does not grow with
 * clusters; infra's QuietClusters alarm reads this same constant.
 */
export const QUIET_CLUSTERS_METRIC = {
  metricName: 'QuietClusters',
  unit: 'Count',
  service: 'write-ledger',
} as const;

/** `control/ledger/clusters.json`: the newest event hour seen per account/cluster, one small object. */
export const CLUSTER_SIGHTINGS_KEY = `${LEDGER_PREFIX}clusters.json`;

/**
 * Per account/cluster/hour counters, accumulated over runs (rowsOut is the partitions' current size).
 * Quarantined lines are counted per run (RunSummary), not here: a line is quarantined precisely
 * because its account, cluster or event time cannot be trusted to name an hour.
 */
export interface PartitionLedgerEntry {
  readonly account: string;
  readonly cluster: string;
  readonly dt: string;
  readonly hour: string;
  readonly rawObjects: number;
  readonly eventsIn: number;
  readonly rowsOut: number;
  readonly duplicatesRemoved: number;
  readonly runs: number;
  readonly lastRun: { readonly executionName: string; readonly planId: string; readonly at: string };
}

/** What one run adds to a partition's entry. */
export interface PartitionRunCounts {
  readonly values: readonly string[];
  readonly rawObjects: number;
  readonly eventsIn: number;
  /** Rows now in the partition, over all tables. */
  readonly rowsOut: number;
  readonly duplicatesRemoved: number;
}

export interface Watermark {
  readonly completeThrough: string;
  readonly updatedAt: string;
  readonly executionName: string;
  readonly planId: string;
  /**
   * Set by a backfill that started at or before the watermark's late look-back: its lease holder
   * (the parent's name for a child) and how far it has listed since, so its next child continues.
   */
  readonly backfill?: { readonly holder: string; readonly listedThrough: string };
}

/** `control/ledger/processed/dt=…/hour=….json`: raw objects of one arrival hour already compacted. */
export function processedIndexKey(arrivalHour: string): string {
  return `${LEDGER_PREFIX}processed/${arrivalHour}.json`;
}

/** `control/ledger/partitions/account=…/cluster=…/dt=…/hour=….json`. */
export function partitionLedgerKey(values: readonly string[]): string {
  const [account, cluster, dt, hour] = values;
  return `${LEDGER_PREFIX}partitions/account=${account}/cluster=${cluster}/dt=${dt}/hour=${hour}.json`;
}

async function readJson<T>(store: ObjectStore, key: string): Promise<T | undefined> {
  const got = await store.get(key);
  return got ? (JSON.parse(Buffer.from(got.body).toString('utf8')) as T) : undefined;
}

const toJson = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** Conditional writes of one ledger object that lose to another writer this often end in RetryableError. */
export const LEDGER_WRITE_CONFLICTS = 5;

/**
 * Read-modify-write of one object, conditional on what was read (If-Match on its ETag, or
 * If-None-Match: * when absent), so a concurrent writer's update is never lost: on 412 it reads
 * and applies `change` again. `change` returns the new text (undefined or unchanged: no write).
 */
async function updateObject<R>(
  store: ObjectStore,
  key: string,
  change: (text: string | undefined) => { next?: string; result: R },
): Promise<R> {
  for (let attempt = 0; attempt < LEDGER_WRITE_CONFLICTS; attempt++) {
    const got = await store.get(key);
    const text = got ? Buffer.from(got.body).toString('utf8') : undefined;
    const { next, result } = change(text);
    if (next === undefined || next === text) return result;
    try {
      const cond = got ? { ifMatch: got.etag } : { ifNoneMatch: '*' as const };
      await store.put(key, next, { contentType: 'application/json', ...cond });
      return result;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
    }
  }
  throw new RetryableError(`${key} kept changing under ${LEDGER_WRITE_CONFLICTS} conditional writes`);
}

/** {@link updateObject} over parsed JSON. */
function updateJson<T, R>(
  store: ObjectStore,
  key: string,
  change: (current: T | undefined) => { next?: unknown; result: R },
): Promise<R> {
  return updateObject(store, key, (text) => {
    const { next, result } = change(text === undefined ? undefined : (JSON.parse(text) as T));
    return { next: next === undefined ? undefined : toJson(next), result };
  });
}

/** Raw keys (→ etag) recorded as compacted for an arrival hour (`dt=…/hour=…`). */
export async function readProcessed(store: ObjectStore, arrivalHour: string): Promise<Record<string, string>> {
  return (await readJson<{ objects: Record<string, string> }>(store, processedIndexKey(arrivalHour)))?.objects ?? {};
}

/** The arrival hour (`dt=…/hour=…`) of a raw key. */
export function arrivalHourOf(rawKey: string): string {
  const m = /\/(dt=\d{4}-\d{2}-\d{2}\/hour=\d{2})\//.exec(rawKey);
  if (!m) throw new Error(`not a raw key: ${rawKey}`);
  return m[1]!;
}

/**
 * Adds raw objects to the processed index of their arrival hours: a conditional read-modify-write
 * per hour, so an update by another writer is never lost; the union makes a repeat a no-op.
 */
export async function recordProcessed(
  store: ObjectStore,
  objects: readonly { key: string; etag: string }[],
): Promise<number> {
  const byHour = new Map<string, { key: string; etag: string }[]>();
  for (const o of objects) {
    const h = arrivalHourOf(o.key);
    byHour.set(h, [...(byHour.get(h) ?? []), o]);
  }
  let added = 0;
  for (const [hour, list] of [...byHour].sort()) {
    added += await updateJson<{ objects: Record<string, string> }, number>(store, processedIndexKey(hour), (stored) => {
      const current = { ...(stored?.objects ?? {}) };
      let n = 0;
      for (const o of list) {
        if (current[o.key] !== o.etag) {
          current[o.key] = o.etag;
          n++;
        }
      }
      return n === 0 ? { result: 0 } : { next: { objects: sortedRecord(current) }, result: n };
    });
  }
  return added;
}

/** Adds one run's counts to each partition's ledger entry; returns the entries written. */
export async function recordPartitions(
  store: ObjectStore,
  counts: readonly PartitionRunCounts[],
  run: { executionName: string; planId: string; at: string },
): Promise<PartitionLedgerEntry[]> {
  // One key per hour, so entries are independent; 16 at a time keeps a day of 50 clusters
  // (1,200 hours) to about a minute of S3 round trips.
  const out: PartitionLedgerEntry[] = [];
  for (let i = 0; i < counts.length; i += 16) {
    out.push(...(await Promise.all(counts.slice(i, i + 16).map((c) => recordOne(store, c, run)))));
  }
  return out;
}

async function recordOne(
  store: ObjectStore,
  c: PartitionRunCounts,
  run: { executionName: string; planId: string; at: string },
): Promise<PartitionLedgerEntry> {
  const [account, cluster, dt, hour] = c.values as [string, string, string, string];
  return updateJson<PartitionLedgerEntry, PartitionLedgerEntry>(store, partitionLedgerKey(c.values), (prev) => {
    // A repeat of the same plan (redrive after the ledger step) must not count twice.
    if (prev && prev.lastRun.planId === run.planId) return { result: prev };
    const entry: PartitionLedgerEntry = {
      account,
      cluster,
      dt,
      hour,
      rawObjects: (prev?.rawObjects ?? 0) + c.rawObjects,
      eventsIn: (prev?.eventsIn ?? 0) + c.eventsIn,
      rowsOut: c.rowsOut,
      duplicatesRemoved: (prev?.duplicatesRemoved ?? 0) + c.duplicatesRemoved,
      runs: (prev?.runs ?? 0) + 1,
      lastRun: run,
    };
    return { next: entry, result: entry };
  });
}

/** Reads one partition's ledger entry. */
export async function readPartitionLedger(
  store: ObjectStore,
  values: readonly string[],
): Promise<PartitionLedgerEntry | undefined> {
  return readJson<PartitionLedgerEntry>(store, partitionLedgerKey(values));
}

export async function readWatermark(store: ObjectStore): Promise<Watermark | undefined> {
  return readJson<Watermark>(store, WATERMARK_KEY);
}

/**
 * Records a backfill's progress from the watermark's look-back and moves `completeThrough`
 * forward to where it listed, never backwards. Returns the stored value. `prev` is the watermark
 * the run decided on (or the one it starts); a stored one that changed since is not overwritten:
 * RetryableError, so the decision is made again on what is stored now.
 */
export async function recordBackfillCoverage(
  store: ObjectStore,
  prev: Watermark,
  run: { holder: string; listedThrough: string; executionName: string; planId: string; at: string },
): Promise<Watermark> {
  const moves = Date.parse(run.listedThrough) > Date.parse(prev.completeThrough);
  const next: Watermark = {
    ...(moves
      ? { completeThrough: run.listedThrough, updatedAt: run.at, executionName: run.executionName, planId: run.planId }
      : prev),
    backfill: { holder: run.holder, listedThrough: run.listedThrough },
  };
  return updateJson<Watermark, Watermark>(store, WATERMARK_KEY, (stored) => {
    if (stored && JSON.stringify(stored) !== JSON.stringify(prev)) {
      throw new RetryableError(
        `the watermark changed while this run recorded its backfill coverage: now ${stored.completeThrough} by ${stored.executionName}`,
      );
    }
    return { next, result: next };
  });
}

/** Moves the watermark forward to `completeThrough`; never backwards. Returns the stored value. */
export async function advanceWatermark(store: ObjectStore, next: Watermark): Promise<Watermark> {
  return updateJson<Watermark, Watermark>(store, WATERMARK_KEY, (prev) =>
    prev && Date.parse(prev.completeThrough) >= Date.parse(next.completeThrough)
      ? { result: prev }
      : { next, result: next },
  );
}

/** Hour prefix of an ISO instant, for callers that hold ISO strings. */
export function hourOfIso(iso: string): string {
  return hourPrefix(Date.parse(iso));
}

/**
 * Runs in which a raw object's chunk failed to stage, or a partition holding its rows failed to
 * merge (read errors, timeouts, OOM, corrupt staged files), before it is poison.
 */
export const POISON_AFTER_FAILED_RUNS = 3;

/** One raw object's failed runs, kept until it is processed or marked poison. */
export interface FailedAttempts {
  readonly etag: string;
  readonly runs: number;
  readonly lastError: string;
  /** The run that counted last: its execution name, or the parent's for a backfill child (its lease holder). */
  readonly lastExecution: string;
  readonly at: string;
  readonly poisoned?: boolean;
}

/** `control/ledger/attempts/dt=…/hour=….json`: failed runs (stage or merge) per raw key of one arrival hour. */
export function attemptsKey(arrivalHour: string): string {
  return `${LEDGER_PREFIX}attempts/${arrivalHour}.json`;
}

/** Raw keys of an arrival hour whose chunk or a partition of whose rows failed in earlier runs. */
export async function readAttempts(store: ObjectStore, arrivalHour: string): Promise<Record<string, FailedAttempts>> {
  return (await readJson<{ objects: Record<string, FailedAttempts> }>(store, attemptsKey(arrivalHour)))?.objects ?? {};
}

/**
 * Counts one more failed run for each object (a redrive of the same execution, or another child
 * of the same backfill given as `executionName`, counts once; a new ETag starts again at one) and
 * returns the objects that reached `limit` runs, now marked poisoned. Conditional per hour, as
 * for the processed index.
 */
export async function recordFailedAttempts(
  store: ObjectStore,
  objects: readonly { key: string; etag: string; error: string }[],
  run: { executionName: string; at: string },
  limit = POISON_AFTER_FAILED_RUNS,
): Promise<{ key: string; etag: string; runs: number; lastError: string }[]> {
  const byHour = new Map<string, { key: string; etag: string; error: string }[]>();
  for (const o of objects) {
    const h = arrivalHourOf(o.key);
    byHour.set(h, [...(byHour.get(h) ?? []), o]);
  }
  const poisoned: { key: string; etag: string; runs: number; lastError: string }[] = [];
  for (const [hour, list] of [...byHour].sort()) {
    type Poisoned = (typeof poisoned)[number];
    const marked = await updateJson<{ objects: Record<string, FailedAttempts> }, Poisoned[]>(
      store,
      attemptsKey(hour),
      (stored) => {
        const current = { ...(stored?.objects ?? {}) };
        const out: Poisoned[] = [];
        for (const o of list) {
          const prev = current[o.key]?.etag === o.etag ? current[o.key] : undefined;
          const runs = prev && prev.lastExecution === run.executionName ? prev.runs : (prev?.runs ?? 0) + 1;
          const entry: FailedAttempts = {
            etag: o.etag,
            runs,
            lastError: o.error,
            lastExecution: run.executionName,
            at: run.at,
            ...(runs >= limit ? { poisoned: true } : {}),
          };
          current[o.key] = entry;
          if (entry.poisoned) out.push({ key: o.key, etag: o.etag, runs, lastError: o.error });
        }
        return { next: { objects: sortedRecord(current) }, result: out };
      },
    );
    poisoned.push(...marked);
  }
  return poisoned;
}

/**
 * `control/ledger/athena-owed.json`: Athena steps a run owes until one completes them, so a run
 * that failed at RunAthenaSteps (or before it, after publishing) does not lose them: raw-table
 * partitions per arrival hour (`dt=…/hour=…`) and rollups per account/cluster/hour.
 */
export const ATHENA_OWED_KEY = `${LEDGER_PREFIX}athena-owed.json`;

/** Runs that took on an owed Athena step without completing it before the step is abandoned. */
export const ABANDON_ATHENA_STEP_AFTER_RUNS = 3;

/** One owed Athena step: since when, which runs took it on, and whether it was given up. */
export interface OwedAthenaStep {
  readonly since: string;
  readonly owedBy: string;
  /** Runs that took it on without completing it (a redrive of the same execution counts once). */
  readonly runs: number;
  readonly lastExecution?: string;
  readonly abandoned?: boolean;
}

export interface OwedAthenaWork {
  readonly rawHours: Record<string, OwedAthenaStep>;
  /** Keyed by `account/cluster/dt/hour`. */
  readonly rollups: Record<string, OwedAthenaStep & { readonly values: readonly string[] }>;
}

/** What is owed now (empty when nothing is). */
export async function readOwedAthenaWork(store: ObjectStore): Promise<OwedAthenaWork> {
  return (await readJson<OwedAthenaWork>(store, ATHENA_OWED_KEY)) ?? { rawHours: {}, rollups: {} };
}

/** The steps that are owed and not abandoned. */
export function liveOwedSteps(owed: OwedAthenaWork): { rawHours: string[]; rollups: (readonly string[])[] } {
  return {
    rawHours: Object.keys(owed.rawHours)
      .filter((h) => !owed.rawHours[h]!.abandoned)
      .sort(),
    rollups: Object.keys(owed.rollups)
      .filter((id) => !owed.rollups[id]!.abandoned)
      .sort()
      .map((id) => owed.rollups[id]!.values),
  };
}

function sortedRecord<T>(r: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1))) as Record<string, T>;
}

/**
 * Conditional read-modify-write of what is owed: `change` edits a fresh copy and says whether it
 * changed anything (then it is written, If-Match on what was read; on 412 read and edited again).
 */
function updateOwed<R>(store: ObjectStore, change: (owed: OwedAthenaWork) => { changed: boolean; result: R }) {
  return updateJson<OwedAthenaWork, R>(store, ATHENA_OWED_KEY, (stored) => {
    const owed: OwedAthenaWork = { rawHours: { ...(stored?.rawHours ?? {}) }, rollups: { ...(stored?.rollups ?? {}) } };
    const { changed, result } = change(owed);
    return changed
      ? { next: { rawHours: sortedRecord(owed.rawHours), rollups: sortedRecord(owed.rollups) }, result }
      : { result };
  });
}

/**
 * Records Athena steps as owed before the run does anything they depend on. A step owed already
 * keeps its history, except that a new change revives an abandoned one. This and the functions
 * below write conditionally on what they read, so no other writer's update is lost.
 */
export async function oweAthenaWork(
  store: ObjectStore,
  work: { rawHours: readonly string[]; rollups: readonly (readonly string[])[] },
  run: { executionName: string; at: string },
): Promise<void> {
  if (work.rawHours.length === 0 && work.rollups.length === 0) return;
  const fresh: OwedAthenaStep = { since: run.at, owedBy: run.executionName, runs: 0 };
  await updateOwed(store, (owed) => {
    let changed = false;
    for (const h of work.rawHours) {
      const prev = owed.rawHours[h];
      if (prev && !prev.abandoned) continue;
      owed.rawHours[h] = fresh;
      changed = true;
    }
    for (const values of work.rollups) {
      const id = values.join('/');
      const prev = owed.rollups[id];
      if (prev && !prev.abandoned) continue;
      owed.rollups[id] = { ...fresh, values: [...values] };
      changed = true;
    }
    return { changed, result: undefined };
  });
}

/**
 * Counts one more run taking on each live owed step; steps already taken on by `limit` runs are
 * marked abandoned instead (and returned), so one statement that can never succeed does not fail
 * every later run.
 */
export async function takeOnOwedAthenaWork(
  store: ObjectStore,
  run: { executionName: string },
  limit = ABANDON_ATHENA_STEP_AFTER_RUNS,
): Promise<{ rawHours: string[]; rollups: (readonly string[])[]; abandoned: string[] }> {
  return updateOwed(store, (owed) => {
    const abandoned: string[] = [];
    const take = <T extends OwedAthenaStep>(id: string, step: T): T => {
      if (step.abandoned || step.lastExecution === run.executionName) return step;
      if (step.runs >= limit) {
        abandoned.push(id);
        return { ...step, abandoned: true };
      }
      return { ...step, runs: step.runs + 1, lastExecution: run.executionName };
    };
    for (const [h, step] of Object.entries(owed.rawHours)) owed.rawHours[h] = take(`raw ${h}`, step);
    for (const [id, step] of Object.entries(owed.rollups)) owed.rollups[id] = take(`rollup ${id}`, step);
    const changed = Object.keys(owed.rawHours).length + Object.keys(owed.rollups).length > 0;
    return { changed, result: { ...liveOwedSteps(owed), abandoned } };
  });
}

/** Removes the steps a run completed from what is owed. */
export async function settleAthenaWork(
  store: ObjectStore,
  done: { rawHours: readonly string[]; rollups: readonly (readonly string[])[] },
): Promise<void> {
  await updateOwed(store, (owed) => {
    let changed = false;
    for (const h of done.rawHours) {
      if (owed.rawHours[h] && !owed.rawHours[h]!.abandoned) {
        delete owed.rawHours[h];
        changed = true;
      }
    }
    for (const values of done.rollups) {
      const id = values.join('/');
      if (owed.rollups[id] && !owed.rollups[id]!.abandoned) {
        delete owed.rollups[id];
        changed = true;
      }
    }
    return { changed, result: undefined };
  });
}

/**
 * Takes back the run that `executionName` counted on the owed steps it took on: it failed for the
 * environment (access, throttling), which says nothing about the steps themselves.
 */
export async function uncountOwedAthenaRun(store: ObjectStore, run: { executionName: string }): Promise<void> {
  await updateOwed(store, (owed) => {
    let changed = false;
    const refund = <T extends OwedAthenaStep>(step: T): T => {
      if (step.abandoned || step.lastExecution !== run.executionName) return step;
      changed = true;
      const { lastExecution: _, ...rest } = step;
      return { ...rest, runs: Math.max(0, step.runs - 1) } as T;
    };
    for (const [h, step] of Object.entries(owed.rawHours)) owed.rawHours[h] = refund(step);
    for (const [id, step] of Object.entries(owed.rollups)) owed.rollups[id] = refund(step);
    return { changed, result: undefined };
  });
}

/** The cluster sightings index (empty before the first run, or when it is not readable as one). */
export async function readClusterSightings(store: ObjectStore): Promise<ClusterSighting[]> {
  const got = await store.get(CLUSTER_SIGHTINGS_KEY);
  return got ? (parseSightings(Buffer.from(got.body).toString('utf8')) ?? []) : [];
}

/**
 * Adds the clusters of a run's partitions (`[account, cluster, dt, hour]`) to the sightings index
 * and returns the clusters quiet as of `completeThrough`: one GET, and one PUT when it changed.
 * The write is conditional on what was read (no other writer's sighting is lost); a repeat
 * changes nothing. An index that does not parse is replaced rather than failing every run over a
 * monitoring aid.
 */
export async function recordClusterSightings(
  store: ObjectStore,
  partitions: readonly (readonly string[])[],
  completeThrough: string | null,
  settings: QuietClusterSettings,
): Promise<{ sightings: ClusterSighting[]; quiet: ClusterSighting[]; replacedUnreadable: boolean }> {
  const { sightings, replacedUnreadable } = await updateObject(store, CLUSTER_SIGHTINGS_KEY, (text) => {
    const stored = text === undefined ? [] : parseSightings(text);
    const merged = mergeSightings(
      stored ?? [],
      sightingsOf(partitions),
      sightingsKeepFromMs(completeThrough, settings),
    );
    return { next: toJson({ clusters: merged }), result: { sightings: merged, replacedUnreadable: stored === null } };
  });
  return { sightings, quiet: findQuietClusters(sightings, completeThrough, settings), replacedUnreadable };
}
