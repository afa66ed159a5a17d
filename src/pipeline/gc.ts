import { parseCuratedKey } from '../core/compact/index.ts';
import { parseRetiredRecord, RETIRED_PREFIX } from '../core/compact/retired.ts';
import { TABLES } from '../core/schema.ts';
import type { Catalog, Log, ObjectInfo, ObjectStore } from '../ports.ts';

export interface GcDeps {
  store: ObjectStore;
  catalog: Catalog;
  log: Log;
  now: () => Date;
}

export interface GcResult {
  /** Superseded or never-published generations removed. */
  generations: number;
  /** Plans whose staging area was removed. */
  stagingPlans: number;
  objects: number;
  /** What the full sweep of curated/ did in this run: not due, a slice of it, or its end. */
  sweep?: 'none' | 'partial' | 'complete';
}

/** Progress of the full sweep of curated/, kept between runs. */
interface SweepState {
  /** When the last complete sweep ended. */
  completedAt?: string;
  /** Where an unfinished sweep goes on: the table, and the last key of the last partition done. */
  cursor?: { table: string; after: string | null };
}

/** Where GC keeps the progress of its full sweep. */
export const SWEEP_STATE_KEY = 'control/gc/sweep.json';
/** How often the full sweep of curated/ runs; the retirement records cover everything in between. */
export const SWEEP_INTERVAL_HOURS = 24;
/** Objects one run's sweep may list before it hands over to the next run (about 500 LIST pages). */
export const SWEEP_OBJECTS_PER_RUN = 500_000;
/** Time after which a run starts no more work, well inside a 15-minute Lambda. */
export const GC_TIME_BUDGET_MS = 8 * 60_000;

const DELETE_BATCH = 1000;
const RECORD_READS_AT_ONCE = 16;
const HOUR_MS = 3600_000;

/**
 * Deletes generations the catalog no longer points at, and staging areas, once they have been
 * unreferenced for the grace period, so a query planned against an old location keeps working.
 * Each run reads only the retirement records publishing wrote (cost follows what changed);
 * a full sweep of curated/, at most daily and resumable, finds orphans no record names.
 */
export async function collectGarbage(
  deps: GcDeps,
  input: { graceHours: number; sweepObjectsPerRun?: number },
): Promise<GcResult> {
  const started = deps.now().getTime();
  const cutoff = started - input.graceHours * HOUR_MS;
  const outOfTime = () => deps.now().getTime() - started >= GC_TIME_BUDGET_MS;
  const res: GcResult = { generations: 0, stagingPlans: 0, objects: 0 };
  const doomed: string[] = [];
  const flush = async (force: boolean) => {
    if (doomed.length === 0 || (!force && doomed.length < DELETE_BATCH)) return;
    res.objects += doomed.length;
    await deps.store.delete(doomed.splice(0));
  };

  const pending = await collectRetired(deps, { cutoff, outOfTime, res, doomed, flush });

  const plans = new Map<string, { keys: string[]; newest: number }>();
  for await (const o of deps.store.list('control/staging/')) {
    const plan = o.key.split('/')[2];
    if (!plan) continue;
    const g = plans.get(plan) ?? { keys: [], newest: 0 };
    g.keys.push(o.key);
    g.newest = Math.max(g.newest, o.lastModified.getTime());
    plans.set(plan, g);
  }
  for (const g of plans.values()) {
    if (g.newest >= cutoff) continue;
    res.stagingPlans++;
    doomed.push(...g.keys);
    await flush(false);
  }
  await flush(true);

  res.sweep = await sweepCurated(deps, {
    cutoff,
    pending,
    outOfTime,
    objectLimit: input.sweepObjectsPerRun ?? SWEEP_OBJECTS_PER_RUN,
    res,
    doomed,
    flush,
  });
  await flush(true);
  deps.log.info('garbage collected', { ...res, graceHours: input.graceHours });
  return res;
}

interface RunState {
  cutoff: number;
  outOfTime: () => boolean;
  res: GcResult;
  doomed: string[];
  flush: (force: boolean) => Promise<void>;
}

/**
 * The cheap path: every retirement record, grouped by retired location (a location is switched
 * away from once, but a publish that crashed before its switch may have named it too, so the
 * newest record counts). A location past the grace that the catalog no longer points at is
 * deleted; one still current after the grace belongs to a switch that never happened. A record
 * is removed once all its locations are settled. Returns the locations still in their grace.
 */
async function collectRetired(deps: GcDeps, run: RunState): Promise<Set<string>> {
  const records: { key: string; locations: string[] }[] = [];
  const byLocation = new Map<string, { table: string; values: readonly string[]; retiredAt: number }>();
  const listed: ObjectInfo[] = [];
  for await (const o of deps.store.list(RETIRED_PREFIX)) listed.push(o);
  // A day of records at the default grace is a few hundred small GETs: read them side by side.
  for (let i = 0; i < listed.length; i += RECORD_READS_AT_ONCE) {
    const batch = listed.slice(i, i + RECORD_READS_AT_ONCE);
    const bodies = await Promise.all(batch.map((o) => deps.store.get(o.key)));
    batch.forEach((o, j) => {
      const got = bodies[j];
      if (!got) return;
      const record = parseRetiredRecord(Buffer.from(got.body).toString('utf8'));
      if (!record) {
        deps.log.warn('not a retirement record; left alone', { key: o.key });
        return;
      }
      // The later of the publisher's clock and the store's: neither may start the grace early.
      const retiredAt = Math.max(o.lastModified.getTime(), Date.parse(record.retiredAt) || 0);
      for (const g of record.generations) {
        const seen = byLocation.get(g.location);
        if (!seen || seen.retiredAt < retiredAt) byLocation.set(g.location, { ...g, table: record.table, retiredAt });
      }
      records.push({ key: o.key, locations: record.generations.map((g) => g.location) });
    });
  }

  const settled = new Set<string>();
  for (const [location, g] of byLocation) {
    if (g.retiredAt >= run.cutoff || run.outOfTime()) continue;
    const current = (await deps.catalog.getPartition(g.table, g.values))?.location;
    if (current !== location) {
      const keys: string[] = [];
      let newest = 0;
      for await (const o of deps.store.list(location)) {
        keys.push(o.key);
        newest = Math.max(newest, o.lastModified.getTime());
      }
      // Written into after it was retired (a rerun of the plan that made it): not ours to judge yet.
      if (newest >= run.cutoff) continue;
      if (keys.length > 0) {
        run.res.generations++;
        run.doomed.push(...keys);
        await run.flush(false);
      }
    }
    settled.add(location);
  }
  // Generations first, then the records that name them: a crash in between repeats the work.
  await run.flush(true);
  const done = records.filter((r) => r.locations.every((l) => settled.has(l))).map((r) => r.key);
  for (let i = 0; i < done.length; i += DELETE_BATCH) await deps.store.delete(done.slice(i, i + DELETE_BATCH));
  return new Set([...byLocation.keys()].filter((l) => !settled.has(l)));
}

/**
 * The full sweep: lists curated/ table by table, one partition at a time (a partition's keys
 * are contiguous in key order), and deletes generations the catalog does not point at once
 * both they and the partition's current generation are older than the grace. Locations with
 * a pending retirement record are left to it, as it knows when the switch happened. Stops at a
 * partition boundary when the run's object or time budget is spent and resumes there next run.
 */
async function sweepCurated(
  deps: GcDeps,
  run: RunState & { pending: Set<string>; objectLimit: number },
): Promise<GcResult['sweep']> {
  const state = await readSweepState(deps.store);
  const now = deps.now().getTime();
  const last = state.completedAt ? Date.parse(state.completedAt) : Number.NaN;
  if (!state.cursor && now - last < SWEEP_INTERVAL_HOURS * HOUR_MS) return 'none';
  if (run.outOfTime()) return state.cursor ? 'partial' : 'none';
  const cursor = state.cursor ?? { table: TABLES[0]!.name, after: null };

  let listed = 0;
  const overBudget = () => listed >= run.objectLimit || run.outOfTime();
  // Every curated table lives in generations, the Athena rollups included (a failed UNLOAD
  // leaves part files in a generation the catalog never points at).
  let t = TABLES.findIndex((x) => x.name === cursor.table);
  if (t < 0) t = 0;
  for (; t < TABLES.length; t++) {
    const table = TABLES[t]!.name;
    const after = table === cursor.table ? cursor.after : null;
    const current = new Set((await deps.catalog.listPartitions(table)).map((p) => p.location));
    let partition: string | null = null;
    let gens = new Map<string, { keys: string[]; newest: number }>();
    let lastKey: string | null = after;
    const settle = async () => {
      let currentNewest = 0; // the partition's current generation: its switch was no earlier
      for (const [prefix, g] of gens) if (current.has(prefix)) currentNewest = Math.max(currentNewest, g.newest);
      for (const [prefix, g] of gens) {
        if (current.has(prefix) || run.pending.has(prefix) || g.newest >= run.cutoff) continue;
        if (currentNewest >= run.cutoff) continue;
        run.res.generations++;
        run.doomed.push(...g.keys);
        await run.flush(false);
      }
      gens = new Map();
    };
    let stopped = false;
    for await (const o of deps.store.list(`curated/${table}/`, after ? { startAfter: after } : undefined)) {
      listed++;
      const parsed = parseCuratedKey(o.key);
      if (!parsed?.generation) continue; // not ours: leave it
      const p = parsed.prefix.slice(0, parsed.prefix.length - `gen=${parsed.generation}/`.length);
      if (p !== partition) {
        await settle();
        if (partition !== null && overBudget()) {
          stopped = true;
          break;
        }
        partition = p;
      }
      const g = gens.get(parsed.prefix) ?? { keys: [], newest: 0 };
      g.keys.push(o.key);
      g.newest = Math.max(g.newest, o.lastModified.getTime());
      gens.set(parsed.prefix, g);
      lastKey = o.key;
    }
    if (stopped) {
      await writeSweepState(deps.store, { ...state, cursor: { table, after: lastKey } });
      return 'partial';
    }
    await settle();
    if (t + 1 < TABLES.length && overBudget()) {
      await writeSweepState(deps.store, { ...state, cursor: { table: TABLES[t + 1]!.name, after: null } });
      return 'partial';
    }
  }
  await writeSweepState(deps.store, { completedAt: deps.now().toISOString() });
  return 'complete';
}

async function readSweepState(store: ObjectStore): Promise<SweepState> {
  const got = await store.get(SWEEP_STATE_KEY);
  if (!got) return {};
  try {
    const s = JSON.parse(Buffer.from(got.body).toString('utf8')) as SweepState;
    return typeof s === 'object' && s !== null ? s : {};
  } catch {
    return {}; // unreadable progress: sweep from the start
  }
}

async function writeSweepState(store: ObjectStore, state: SweepState): Promise<void> {
  await store.put(SWEEP_STATE_KEY, JSON.stringify(state), { contentType: 'application/json' });
}

/** Removes one plan's staging area right away (after its partitions are published). */
export async function deleteStaging(deps: Pick<GcDeps, 'store'>, input: { planId: string }): Promise<number> {
  const keys: string[] = [];
  for await (const o of deps.store.list(`control/staging/${input.planId}/`)) keys.push(o.key);
  for (let i = 0; i < keys.length; i += DELETE_BATCH) await deps.store.delete(keys.slice(i, i + DELETE_BATCH));
  return keys.length;
}
