import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LocalCatalog } from '../../src/adapters/local/local-catalog.ts';
import { MemoryObjectStore } from '../../src/adapters/local/memory-object-store.ts';
import { MANIFEST_NAME, planIdFor } from '../../src/core/compact/index.ts';
import { RETIRED_PREFIX } from '../../src/core/compact/retired.ts';
import type { KnownLogType } from '../../src/core/types.ts';
import { compactObjects } from '../../src/pipeline/compact.ts';
import { collectGarbage, type GcResult, SWEEP_STATE_KEY } from '../../src/pipeline/gc.ts';
import { athenaStepsOver, ROLLUP_TABLE } from '../../src/pipeline/workflow-athena.ts';
import type { Catalog, CatalogPartition, ObjectInfo, ObjectStore, PutOptions } from '../../src/ports.ts';
import { FaultyCatalog, FaultyObjectStore, SimulatedCrash } from '../helpers/faults.ts';
import {
  ACCOUNT,
  ALL_TYPES,
  CLUSTER,
  gzipObject,
  message,
  rawKey,
  rawLines,
  sampleEvents,
} from '../unit/compact/raw-fixtures.ts';
import { readPublished, SILENT } from './compact-lake.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = Date.UTC(2026, 10, 27, 1, 0, 0);
const GRACE_HOURS = 1;
const GRACE = GRACE_HOURS * HOUR;
/** The partition the tests republish: hour 01 of the authenticator logs. */
const VALUES = [ACCOUNT, CLUSTER, '2026-11-27', '01'];

interface Calls {
  list: number;
  /** Objects the lists returned (S3 bills a LIST per 1,000). */
  listed: number;
  get: number;
  head: number;
  put: number;
  delete: number;
  getPartition: number;
  listPartitions: number;
  putPartitions: number;
}

const noCalls = (): Calls => ({
  list: 0,
  listed: 0,
  get: 0,
  head: 0,
  put: 0,
  delete: 0,
  getPartition: 0,
  listPartitions: 0,
  putPartitions: 0,
});

/** Counts what passes through to the real store, as S3 would bill it. */
class CountingStore implements ObjectStore {
  calls = noCalls();
  prefixes: string[] = [];
  constructor(readonly inner: ObjectStore) {}
  put(key: string, body: Uint8Array | string, options?: PutOptions) {
    this.calls.put++;
    return this.inner.put(key, body, options);
  }
  get(key: string) {
    this.calls.get++;
    return this.inner.get(key);
  }
  getStream(key: string) {
    this.calls.get++;
    return this.inner.getStream(key);
  }
  head(key: string) {
    this.calls.head++;
    return this.inner.head(key);
  }
  async *list(prefix: string, options?: { startAfter?: string }): AsyncIterable<ObjectInfo> {
    this.calls.list++;
    this.prefixes.push(prefix);
    for await (const o of this.inner.list(prefix, options)) {
      this.calls.listed++;
      yield o;
    }
  }
  delete(keys: readonly string[]) {
    this.calls.delete++;
    return this.inner.delete(keys);
  }
}

/** Counts catalog calls (Glue bills and throttles per call) and partitions listed. */
class CountingCatalog implements Catalog {
  constructor(
    readonly inner: Catalog,
    readonly calls: Calls,
  ) {}
  getPartition(table: string, values: readonly string[]) {
    this.calls.getPartition++;
    return this.inner.getPartition(table, values);
  }
  async listPartitions(table: string) {
    this.calls.listPartitions++;
    const out = await this.inner.listPartitions(table);
    this.calls.listed += out.length;
    return out;
  }
  putPartitions(table: string, partitions: readonly CatalogPartition[]) {
    this.calls.putPartitions++;
    return this.inner.putPartitions(table, partitions);
  }
}

/** A lake in memory, stamped by a clock the test moves; store and catalog calls counted. */
function gcLake() {
  let clock = T0;
  const inner = new MemoryObjectStore(() => new Date(clock));
  const store = new CountingStore(inner);
  const catalog = new CountingCatalog(new LocalCatalog(inner), store.calls);
  const deps = (over: { store?: ObjectStore; catalog?: Catalog } = {}) => ({
    store: over.store ?? store,
    catalog: over.catalog ?? catalog,
    log: SILENT,
    now: () => new Date(clock),
  });
  return {
    inner,
    store,
    catalog,
    deps,
    at(ms: number) {
      clock = ms;
    },
    /** Compacts one raw object of these lines (arrived in hour 02) as its own plan. */
    async compact(name: string, lines: string[], over: Parameters<typeof deps>[0] = {}) {
      const key = rawKey('kube-apiserver-audit', T0 + HOUR, name);
      await inner.put(key, gzipObject(lines));
      const etag = (await inner.head(key))!.etag;
      return compactObjects(deps(over), { planId: planIdFor([{ key, etag }]), keys: [key] });
    },
    gc(extra: { sweepObjectsPerRun?: number } = {}) {
      return collectGarbage(deps(), { graceHours: GRACE_HOURS, ...extra });
    },
    /** Counts of one call, from zero. */
    async counted<T>(f: () => Promise<T>): Promise<{ out: T; calls: Calls; prefixes: string[] }> {
      Object.assign(store.calls, noCalls());
      store.prefixes = [];
      const out = await f();
      return { out, calls: { ...store.calls }, prefixes: [...store.prefixes] };
    },
    /** Where the catalog points the republished partition now. */
    location: async () => (await catalog.inner.getPartition('authenticator_logs', VALUES))?.location,
  };
}
type GcLake = ReturnType<typeof gcLake>;

function linesOf(types: readonly KnownLogType[], startMs: number, n: number, seq0 = 0): string[] {
  return types.flatMap((t) => rawLines(message(t, sampleEvents(t, startMs, n, seq0))));
}

/** Two events of every stream type in each of the `hours` hours before T0: 4 × hours partitions. */
function historyLines(hours: number): string[] {
  return Array.from({ length: hours }, (_, h) => linesOf(ALL_TYPES, T0 - (h + 1) * HOUR, 2)).flat();
}

async function keysUnder(store: ObjectStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list(prefix)) keys.push(o.key);
  return keys;
}

async function exists(l: GcLake, location: string): Promise<boolean> {
  return (await l.inner.head(`${location}${MANIFEST_NAME}`)) !== undefined;
}

/** Every generation under curated/ is one the catalog points at, and no record is left. */
async function expectNothingLeaked(l: GcLake): Promise<void> {
  const current = new Set<string>();
  for (const t of ['audit_events', 'component_logs', 'authenticator_logs', 'unparsed_logs']) {
    for (const p of await l.catalog.inner.listPartitions(t)) current.add(p.location);
  }
  const generations = new Set((await keysUnder(l.inner, 'curated/')).map((k) => k.replace(/[^/]+$/, '')));
  expect([...generations].sort()).toEqual([...current].sort());
  expect(await keysUnder(l.inner, RETIRED_PREFIX)).toEqual([]);
}

describe('collectGarbage, steady state', () => {
  /**
   * A lake with `hours` hours of published history (old, swept once), then one partition
   * published twice; returns the calls of the GC run after the grace of that switch.
   */
  async function cheapRunOn(hours: number) {
    const l = gcLake();
    l.at(T0 - 10 * HOUR);
    await l.compact('history', historyLines(hours));
    l.at(T0 + HOUR);
    expect(await l.gc()).toMatchObject({ generations: 0, sweep: 'complete' });
    l.at(T0 + 2 * HOUR);
    await l.compact('a', linesOf(['authenticator'], T0, 5));
    const first = (await l.location())!;
    l.at(T0 + 3 * HOUR);
    await l.compact('b', linesOf(['authenticator'], T0, 5, 50));
    const second = (await l.location())!;
    l.at(T0 + 3 * HOUR + GRACE + MINUTE);
    const run = await l.counted(() => l.gc());
    expect(run.out).toMatchObject({ generations: 1, stagingPlans: 2, sweep: 'none' });
    expect(await exists(l, first)).toBe(false);
    expect(await exists(l, second)).toBe(true);
    return { ...run, first, l };
  }

  it('makes the same store and catalog calls whatever the number of partitions nothing touched', async () => {
    const small = await cheapRunOn(1);
    const large = await cheapRunOn(40);
    expect(large.calls).toEqual(small.calls);
    // The retirement records, the one retired generation, the staging areas: never curated/ at large.
    expect(large.prefixes).toEqual([RETIRED_PREFIX, large.first, 'control/staging/']);
    expect(large.calls).toMatchObject({ list: 3, listPartitions: 0, getPartition: 1 });
    expect((await large.l.catalog.inner.listPartitions('component_logs')).length).toBe(40);
  });

  it('reads no curated listing at all when nothing was retired', async () => {
    const l = gcLake();
    l.at(T0 - 10 * HOUR);
    await l.compact('history', historyLines(12));
    l.at(T0 + HOUR);
    await l.gc();
    l.at(T0 + 5 * HOUR);
    const run = await l.counted(() => l.gc());
    expect(run.out).toEqual({ generations: 0, stagingPlans: 0, objects: 0, sweep: 'none' });
    expect(run.prefixes).toEqual([RETIRED_PREFIX, 'control/staging/']);
    expect(run.calls).toMatchObject({ list: 2, listed: 0, get: 1, getPartition: 0, listPartitions: 0, delete: 0 });
  });
});

/**
 * Publishes one generation (and runs the first full sweep), then republishes the partition in a
 * run that writes the GC record and dies before the catalog switch (`crashOn`) or right after
 * it (`crashAfter`).
 */
async function republishCrashing(at: 'crashOn' | 'crashAfter' = 'crashOn'): Promise<{ l: GcLake; gen1: string }> {
  const l = gcLake();
  l.at(T0 + HOUR);
  await l.compact('a', linesOf(['authenticator'], T0, 5));
  const gen1 = (await l.location())!;
  await l.gc();
  const faulty = new FaultyCatalog(l.catalog);
  faulty[at]('putPartitions');
  l.at(T0 + 2 * HOUR);
  await expect(l.compact('b', linesOf(['authenticator'], T0, 5, 50), { catalog: faulty })).rejects.toBeInstanceOf(
    SimulatedCrash,
  );
  return { l, gen1 };
}

describe('collectGarbage, retired generations', () => {
  it('deletes a retired generation only once the grace from its own switch is over, never the current one', async () => {
    const l = gcLake();
    l.at(T0 + HOUR);
    await l.compact('a', linesOf(['authenticator'], T0, 5));
    const gen1 = (await l.location())!;
    await l.gc(); // the first full sweep
    const t2 = T0 + HOUR + 30 * MINUTE;
    l.at(t2);
    await l.compact('b', linesOf(['authenticator'], T0, 5, 50));
    const gen2 = (await l.location())!;
    const t3 = t2 + 20 * MINUTE;
    l.at(t3);
    await l.compact('c', linesOf(['authenticator'], T0, 5, 100));
    const gen3 = (await l.location())!;
    // [GC time, gen1, gen2, gen3 still there]: each goes a grace after the switch away from it.
    const cases: [number, boolean, boolean, boolean][] = [
      [t2 + GRACE - MINUTE, true, true, true],
      [t2 + GRACE + MINUTE, false, true, true],
      [t3 + GRACE - MINUTE, false, true, true],
      [t3 + GRACE + MINUTE, false, false, true],
      [t3 + 20 * GRACE, false, false, true],
    ];
    for (const [at, ...want] of cases) {
      l.at(at);
      await l.gc();
      expect([await exists(l, gen1), await exists(l, gen2), await exists(l, gen3)]).toEqual(want);
      expect(await l.location()).toBe(gen3);
    }
    expect((await readPublished(l.inner, l.catalog.inner)).authenticator_logs).toHaveLength(15);
    await expectNothingLeaked(l);
  });

  it('keeps the current generation when a record names it and counts the grace from the rerun that switched', async () => {
    const { l, gen1 } = await republishCrashing();
    expect((await keysUnder(l.inner, RETIRED_PREFIX)).length).toBe(1);
    expect(await l.location()).toBe(gen1);
    l.at(T0 + 2 * HOUR + GRACE + MINUTE);
    await l.gc();
    expect(await exists(l, gen1)).toBe(true);
    // The retry, later: it rewrites the record, so the grace runs from this switch.
    const rerun = T0 + 4 * HOUR;
    l.at(rerun);
    await l.compact('b', linesOf(['authenticator'], T0, 5, 50));
    const gen2 = (await l.location())!;
    expect(gen2).not.toBe(gen1);
    l.at(rerun + GRACE - MINUTE);
    await l.gc();
    expect(await exists(l, gen1)).toBe(true);
    l.at(rerun + GRACE + MINUTE);
    await l.gc();
    expect(await exists(l, gen1)).toBe(false);
    expect((await readPublished(l.inner, l.catalog.inner)).authenticator_logs).toHaveLength(10);
    await expectNothingLeaked(l);
  });

  it('drops the record of a switch that never happened and leaves its never-published generation to the daily sweep', async () => {
    const { l, gen1 } = await republishCrashing();
    const orphan = (await keysUnder(l.inner, 'curated/authenticator_logs/'))
      .map((k) => k.replace(/[^/]+$/, ''))
      .find((g) => g !== gen1)!;
    expect(await exists(l, orphan)).toBe(true);
    // Never rerun. Cheap runs within the day: the current generation stays, the record goes.
    l.at(T0 + 2 * HOUR + GRACE + MINUTE);
    expect(await l.gc()).toMatchObject({ generations: 0, sweep: 'none' });
    expect(await keysUnder(l.inner, RETIRED_PREFIX)).toEqual([]);
    expect(await exists(l, gen1)).toBe(true);
    expect(await exists(l, orphan)).toBe(true);
    // The daily sweep finds the orphan.
    l.at(T0 + HOUR + 24 * HOUR + MINUTE);
    expect(await l.gc()).toMatchObject({ generations: 1, sweep: 'complete' });
    expect(await exists(l, orphan)).toBe(false);
    expect(await exists(l, gen1)).toBe(true);
    expect((await readPublished(l.inner, l.catalog.inner)).authenticator_logs).toHaveLength(5);
    await expectNothingLeaked(l);
  });

  it('collects a generation switched away from by a run that died before GC', async () => {
    // The switch lands, then the run dies: no GC in that run, no word back from publish.
    const { l, gen1 } = await republishCrashing('crashAfter');
    expect(await l.location()).not.toBe(gen1);
    l.at(T0 + 2 * HOUR + GRACE - MINUTE);
    await l.gc();
    expect(await exists(l, gen1)).toBe(true);
    l.at(T0 + 2 * HOUR + GRACE + MINUTE);
    expect(await l.gc()).toMatchObject({ generations: 1, sweep: 'none' });
    expect(await exists(l, gen1)).toBe(false);
    expect((await readPublished(l.inner, l.catalog.inner)).authenticator_logs).toHaveLength(10);
    await expectNothingLeaked(l);
  });

  it('switches nothing when the record cannot be written, and the retry publishes and records', async () => {
    const l = gcLake();
    l.at(T0 + HOUR);
    await l.compact('a', linesOf(['authenticator'], T0, 5));
    const gen1 = (await l.location())!;
    const faulty = new FaultyObjectStore(l.store);
    faulty.crashOn('put', (k) => k.startsWith(RETIRED_PREFIX));
    l.at(T0 + 2 * HOUR);
    await expect(l.compact('b', linesOf(['authenticator'], T0, 5, 50), { store: faulty })).rejects.toBeInstanceOf(
      SimulatedCrash,
    );
    expect(await l.location()).toBe(gen1);
    await l.compact('b', linesOf(['authenticator'], T0, 5, 50));
    expect(await l.location()).not.toBe(gen1);
    l.at(T0 + 2 * HOUR + GRACE + MINUTE);
    await l.gc();
    await l.gc();
    expect(await exists(l, gen1)).toBe(false);
    await expectNothingLeaked(l);
  });
});

describe('collectGarbage, rollups', () => {
  it('collects a rollup generation the rollup switch retired one grace later, without waiting for the daily sweep', async () => {
    const l = gcLake();
    l.at(T0 + HOUR);
    await l.gc(); // the first full sweep; the next is a day away
    const values = [ACCOUNT, CLUSTER, '2026-11-27', '01'];
    const partition = `curated/${ROLLUP_TABLE}/account=${ACCOUNT}/cluster=${CLUSTER}/dt=2026-11-27/hour=01/`;
    const [g1, g2] = [`${partition}gen=p1-a-0/`, `${partition}gen=p2-b-0/`];
    // UNLOAD writes part files only; the first build is current.
    await l.inner.put(`${g1}part-0.parquet`, 'one');
    await l.catalog.inner.putPartitions(ROLLUP_TABLE, [{ values, location: g1 }]);
    const steps = athenaStepsOver({
      engine: { runNamed: async () => [], runSql: async () => [] },
      catalog: l.catalog.inner,
      registerRawPartitions: false,
      store: l.inner,
      clock: { now: () => new Date(T0 + 2 * HOUR) },
    });
    l.at(T0 + 2 * HOUR);
    await l.inner.put(`${g2}part-0.parquet`, 'two');
    await steps.switchRollups([{ values, location: g2 }], 'p2');
    const partsOf = async (g: string) => (await keysUnder(l.inner, g)).length;
    l.at(T0 + 2 * HOUR + GRACE - MINUTE);
    await l.gc();
    expect([await partsOf(g1), await partsOf(g2)]).toEqual([1, 1]);
    l.at(T0 + 2 * HOUR + GRACE + MINUTE);
    await l.gc();
    expect([await partsOf(g1), await partsOf(g2)]).toEqual([0, 1]);
    expect(await keysUnder(l.inner, RETIRED_PREFIX)).toEqual([]);
  });
});

describe('collectGarbage, records it does not trust', () => {
  it.each([
    ['the whole table', 'curated/authenticator_logs/'],
    ['another table', `curated/audit_events/account=${ACCOUNT}/cluster=${CLUSTER}/dt=2026-11-27/hour=01/gen=x/`],
    [
      'a partition, not a generation',
      `curated/authenticator_logs/account=${ACCOUNT}/cluster=${CLUSTER}/dt=2026-11-27/hour=01/`,
    ],
    ['the raw data', 'raw/'],
  ])('deletes nothing when a record names %s', async (_what, location) => {
    const l = gcLake();
    l.at(T0 + HOUR);
    await l.compact('a', linesOf(['authenticator'], T0, 5));
    await l.inner.put(
      `${RETIRED_PREFIX}stray/authenticator_logs-0.json`,
      JSON.stringify({
        planId: 'stray',
        table: 'authenticator_logs',
        retiredAt: new Date(T0).toISOString(),
        generations: [{ values: VALUES, location, replacedBy: 'x' }],
      }),
    );
    await l.inner.put(`${RETIRED_PREFIX}stray/not-json.json`, 'not a record');
    const before = (await keysUnder(l.inner, '')).filter((k) => !k.startsWith('control/'));
    l.at(T0 + 3 * HOUR);
    expect(await l.gc()).toMatchObject({ generations: 0 });
    expect((await keysUnder(l.inner, '')).filter((k) => !k.startsWith('control/'))).toEqual(before);
    // The unreadable file stays for an operator to look at; the checked one is done with.
    expect(await keysUnder(l.inner, RETIRED_PREFIX)).toEqual([`${RETIRED_PREFIX}stray/not-json.json`]);
  });
});

describe('collectGarbage, full sweep', () => {
  it('removes orphans and failed rollup parts only in the daily sweep, and staging after the grace every run', async () => {
    const l = gcLake();
    l.at(T0 + HOUR);
    await l.compact('a', linesOf(['authenticator'], T0, 5));
    const gen1 = (await l.location())!;
    expect(await l.gc()).toMatchObject({ sweep: 'complete' });
    // A merge that was never published, and the part file of an UNLOAD that failed.
    l.at(T0 + 2 * HOUR);
    const orphan = gen1.replace(/gen=[^/]+\/$/, 'gen=crashedplan/');
    await l.inner.put(`${orphan}part-00000.parquet`, 'PAR1 half written');
    const rollup = `curated/audit_hourly_summary/account=${ACCOUNT}/cluster=${CLUSTER}/dt=2026-11-27/hour=01/gen=failedunload/`;
    await l.inner.put(`${rollup}20261127_000000_00000_abcde_part-0`, 'PAR1 half an UNLOAD');
    await l.inner.put('control/staging/deadplan/authenticator_logs/x.parquet', 'PAR1');
    const cheap: [number, GcResult['sweep'], number][] = [
      [T0 + 4 * HOUR, 'none', 2],
      [T0 + 24 * HOUR, 'none', 0],
    ];
    for (const [at, sweep, stagingPlans] of cheap) {
      l.at(at);
      expect(await l.gc()).toMatchObject({ generations: 0, stagingPlans, sweep });
      expect(await l.inner.head(`${rollup}20261127_000000_00000_abcde_part-0`)).toBeDefined();
    }
    l.at(T0 + HOUR + 24 * HOUR);
    expect(await l.gc()).toMatchObject({ generations: 2, sweep: 'complete' });
    expect(await keysUnder(l.inner, 'curated/audit_hourly_summary/')).toEqual([]);
    expect(await exists(l, orphan)).toBe(false);
    expect(await exists(l, gen1)).toBe(true);
    expect(await keysUnder(l.inner, 'control/staging/')).toEqual([]);
  });

  it('sweeps a large lake in slices that resume where the last stopped, removing what one unbounded sweep removes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(23), fc.nat(3), fc.boolean(), fc.boolean()), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 30 }),
        async (gens, budget) => {
          const survivors = [];
          for (const limit of [undefined, budget]) {
            const l = gcLake();
            await plantGenerations(l, gens);
            l.at(T0 + 30 * HOUR);
            let runs = 0;
            let r: GcResult;
            do {
              r = await l.gc({ sweepObjectsPerRun: limit });
              runs++;
            } while (r.sweep === 'partial' && runs < 1000);
            expect(r.sweep).toBe('complete');
            if (limit === undefined) expect(runs).toBe(1);
            survivors.push((await keysUnder(l.inner, 'curated/')).sort());
            // Every current generation survives.
            for (const t of ['authenticator_logs', 'audit_hourly_summary']) {
              for (const p of await l.catalog.inner.listPartitions(t)) expect(await exists(l, p.location)).toBe(true);
            }
            expect((await l.inner.get(SWEEP_STATE_KEY)) !== undefined).toBe(true);
          }
          expect(survivors[1]).toEqual(survivors[0]);
        },
      ),
      { numRuns: 30 },
    );
  });
  it('hands the sweep over to the next run when a run runs out of time, and ends with what one run removes', async () => {
    const gens = Array.from({ length: 24 }, (_, h): [number, number, boolean, boolean] => [
      h,
      h % 3,
      h % 4 !== 1,
      true,
    ]);
    const survivors = [];
    for (const minutesPerCall of [0, 3]) {
      const l = gcLake();
      await plantGenerations(l, gens);
      let clock = T0 + 30 * HOUR;
      // Every look at the clock costs time: a slow store, a huge lake.
      const now = () => {
        clock += minutesPerCall * MINUTE;
        return new Date(clock);
      };
      const deps = { ...l.deps(), now };
      const results: GcResult['sweep'][] = [];
      do results.push((await collectGarbage(deps, { graceHours: GRACE_HOURS })).sweep);
      while (results.at(-1) === 'partial' && results.length < 100);
      expect(results.at(-1)).toBe('complete');
      expect(results.length > 1).toBe(minutesPerCall > 0);
      survivors.push((await keysUnder(l.inner, 'curated/')).sort());
    }
    expect(survivors[1]).toEqual(survivors[0]);
    expect(survivors[0]!.length).toBeLessThan(48);
  });
});

/**
 * Plants generations as a history of runs leaves them: for each (hour, generation number,
 * published?, old?) a manifest and a part file, the catalog pointing at the highest published
 * generation of each partition; old ones written a day before the sweep, the rest just before.
 */
async function plantGenerations(l: GcLake, gens: readonly [number, number, boolean, boolean][]): Promise<void> {
  const current = new Map<string, { n: number; location: string; table: string; values: string[] }>();
  for (const [hour, n, published, old] of gens) {
    const table = hour % 2 === 0 ? 'authenticator_logs' : 'audit_hourly_summary';
    const values = [ACCOUNT, CLUSTER, '2026-11-26', String(hour).padStart(2, '0')];
    const location = `curated/${table}/account=${values[0]}/cluster=${values[1]}/dt=${values[2]}/hour=${values[3]}/gen=g${n}/`;
    l.at(old ? T0 : T0 + 29 * HOUR + 50 * MINUTE);
    await l.inner.put(`${location}part-00000.parquet`, 'PAR1');
    await l.inner.put(`${location}${MANIFEST_NAME}`, '{}');
    const id = `${table}/${values[3]}`;
    if (published && (current.get(id)?.n ?? -1) < n) current.set(id, { n, location, table, values });
  }
  for (const p of current.values()) await l.catalog.inner.putPartitions(p.table, [p]);
}
