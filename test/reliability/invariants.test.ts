import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LocalCatalog, localCatalogKey } from '../../src/adapters/local/local-catalog.ts';
import { MemoryObjectStore } from '../../src/adapters/local/memory-object-store.ts';
import { resolveWindow } from '../../src/core/workflow/input.ts';
import { SCHEDULE_PERIOD_MS } from '../../src/core/workflow/window.ts';
import { compactObjects } from '../../src/pipeline/compact.ts';
import { recordProcessed } from '../../src/pipeline/ledger.ts';
import type { ObjectStore } from '../../src/ports.ts';
import { FaultyObjectStore, SimulatedCrash } from '../helpers/faults.ts';
import {
  compactionDeps,
  copyStore,
  deliveredLake,
  FAILING_KINDS,
  FAILING_LOG_GROUP,
  failedRecordData,
  failingRecord,
  identityOf,
  keysUnder,
  type PublishedPartition,
  planIdOf,
  planWindowFor,
  publishedPartitions,
  publishedRows,
  smallTraffic,
} from './pipeline.ts';

// Generated traffic (seeded: re-deliveries, late and control messages, malformed lines) goes
// through the local Firehose and the real transform, then through compaction and publish.

const seedArb = fc.integer({ min: 1, max: 2 ** 31 - 1 });

async function compactKeys(store: ObjectStore, catalog: LocalCatalog, keys: string[], nowMs: number) {
  return compactObjects(compactionDeps(store, catalog, nowMs), { planId: await planIdOf(store, keys), keys });
}

describe('invariants over generated traffic', () => {
  it('conserves every event: generated = curated + quarantined + control dropped + duplicates + failed', async () => {
    // One broken Firehose record of each kind (not gzip, cut short, garbage after the member, bad
    // JSON, unknown type, foreign owner), each made from a picked generated message's events and
    // put among the deliveries when that message arrived.
    const picksArb = fc.array(fc.nat(), { minLength: FAILING_KINDS.length, maxLength: FAILING_KINDS.length });
    await fc.assert(
      fc.asyncProperty(seedArb, picksArb, async (seed, picks) => {
        const traffic = smallTraffic(seed);
        const sources = traffic.deliveries.filter((d) => d.kind === 'normal');
        const failing = FAILING_KINDS.map((kind, i) => {
          const d = sources[picks[i]! % sources.length]!;
          return failingRecord(kind, d.message, d.arrival);
        });
        const { store, catalog, stats } = await deliveredLake(traffic, seed, failing);
        const keys = await keysUnder(store, 'raw/');
        const nowMs = traffic.truth.arrivalRange.last + 60_000;
        const sum = await compactKeys(store, catalog, keys, nowMs);
        const rows = await publishedRows(store, catalog);
        const ids = rows.map(identityOf);
        const { events } = traffic.truth;

        // Exactly the broken records failed, and Firehose kept each one under errors/.
        const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
        const kept = (await failedRecordData(store)).map(hex);
        expect(stats.processingFailed).toBe(failing.length);
        expect([...kept].sort()).toEqual(failing.map((f) => hex(f.data)).sort());
        const eventsOf = new Map(failing.map((f) => [hex(f.data), f.events]));
        const failed = kept.reduce((n, k) => n + eventsOf.get(k)!, 0);
        expect(failed).toBeGreaterThan(0);

        // Every curated row is unique on (account, log_group, event_id) and every distinct event is one row.
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids.length).toBe(events.unique);
        expect(ids.filter((id) => id.includes(FAILING_LOG_GROUP))).toEqual([]);
        const generated = events.unique + events.duplicate + events.control + failing.reduce((n, f) => n + f.events, 0);
        expect(stats.dropped).toBe(traffic.truth.messages.control);
        expect(generated).toBe(rows.length + sum.quarantined + events.control + sum.duplicates + failed);
        expect(sum.events).toBe(events.unique + events.duplicate);
      }),
      { numRuns: 3 },
    );
  });

  it('is idempotent: a rerun of the same window publishes nothing and changes no row or catalog entry', async () => {
    await fc.assert(
      fc.asyncProperty(seedArb, async (seed) => {
        const traffic = smallTraffic(seed);
        const { store, catalog } = await deliveredLake(traffic, seed);
        const keys = await keysUnder(store, 'raw/');
        const nowMs = traffic.truth.arrivalRange.last + 60_000;
        const first = await compactKeys(store, catalog, keys, nowMs);
        expect(first.published).toBeGreaterThan(0);
        const once = await publishedRows(store, catalog);
        const catalogFiles = await snapshot(store, 'control/catalog/');
        const again = await compactKeys(store, catalog, keys, nowMs);
        expect(again.published).toBe(0);
        expect(await publishedRows(store, catalog)).toEqual(once);
        expect(await snapshot(store, 'control/catalog/')).toEqual(catalogFiles);
      }),
      { numRuns: 3 },
    );
  });

  it('shows each partition at its old or its new generation after a crash at any put, and a rerun ends as a clean run', async () => {
    // Where in the run the crash falls, in thousandths of its puts (1000 = the last, a catalog
    // switch), unbiased so it does not cluster at the start; `before`: the put never lands;
    // `after`: it lands and the response is lost.
    const crashArb = fc.tuple(
      fc.noBias(fc.integer({ min: 0, max: 1000 })),
      fc.constantFrom('before', 'after' as const),
    );
    await fc.assert(
      fc.asyncProperty(seedArb, crashArb, async (seed, [permille, when]) => {
        const run = await cleanRunAfterEarlierOne(seed);
        await crashThenRerun(
          run,
          1 + Math.min(run.puts.length - 1, Math.floor((permille * run.puts.length) / 1000)),
          when,
        );
      }),
      // The first and the last put (the last catalog switch) are always crashed; examples count in numRuns.
      {
        numRuns: 6,
        examples: [
          [1, [0, 'before']],
          [1, [1000, 'before']],
          [2, [1000, 'after']],
        ],
      },
    );
  });

  it('leaves switched tables new and the others old after a crash between catalog switches', async () => {
    const run = await cleanRunAfterEarlierOne(7);
    const switches = run.puts.flatMap((key, i) => (key.startsWith('control/catalog/') ? [i + 1] : []));
    expect(switches.length).toBeGreaterThan(1);
    for (const at of switches) {
      const switched = new Set(run.puts.slice(0, at - 1).filter((k) => k.startsWith('control/catalog/')));
      const seen = await crashThenRerun(run, at, 'before');
      for (const [id, p] of seen) {
        const want = switched.has(localCatalogKey(p.table)) ? run.clean : run.old;
        expect(p, `${id} after a crash at catalog switch ${run.puts[at - 1]}`).toEqual(want.get(id));
      }
    }
  });

  it('gives the same curated rows for any order and grouping of the raw objects', async () => {
    await fc.assert(
      fc.asyncProperty(seedArb, fc.integer({ min: 2, max: 3 }), fc.nat(), async (seed, groups, shuffleSeed) => {
        const traffic = smallTraffic(seed);
        const one = await deliveredLake(traffic, seed);
        const keys = await keysUnder(one.store, 'raw/');
        const nowMs = traffic.truth.arrivalRange.last + 60_000;
        await compactKeys(one.store, one.catalog, keys, nowMs);
        const want = await publishedRows(one.store, one.catalog);

        const many = await deliveredLake(traffic, seed);
        const shuffled = shuffle(keys, shuffleSeed);
        const size = Math.ceil(shuffled.length / groups);
        for (let i = 0; i < shuffled.length; i += size) {
          await compactKeys(many.store, many.catalog, shuffled.slice(i, i + size), nowMs);
        }
        expect(await publishedRows(many.store, many.catalog)).toEqual(want);
      }),
      { numRuns: 3 },
    );
  });
});

describe('window boundaries', () => {
  const LIMITS = { lateHorizonHours: 2, maxBackfillDays: 30, childRangeHours: 24 };
  const DAY0 = Date.UTC(2026, 10, 27, 0, 0, 0);

  it('puts every instant in exactly one 15-minute [start, end) window; …:15:00.000Z starts the later one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 * 24 * 3600_000 }), (offset) => {
        const t = DAY0 + offset;
        const owning = [-1, 0, 1, 2].map((k) => {
          const scheduled = Math.floor(t / SCHEDULE_PERIOD_MS) * SCHEDULE_PERIOD_MS + k * SCHEDULE_PERIOD_MS;
          return resolveWindow({ scheduledTime: new Date(scheduled).toISOString() }, new Date(scheduled), LIMITS);
        });
        const containing = owning.filter((w) => Date.parse(w.start) <= t && t < Date.parse(w.end));
        expect(containing).toHaveLength(1);
      }),
      { numRuns: 500 },
    );
    const w = resolveWindow({ scheduledTime: '2026-11-27T10:30:00Z' }, new Date('2026-11-27T10:30:00Z'), LIMITS);
    expect([w.start, w.end]).toEqual(['2026-11-27T10:15:00.000Z', '2026-11-27T10:30:00.000Z']);
  });

  it('plans each raw object in exactly one scheduled run: the window its arrival falls in, boundaries included', async () => {
    const boundaryHeavy = fc.oneof(
      fc.integer({ min: 0, max: 8 }).map((k) => k * SCHEDULE_PERIOD_MS),
      fc.integer({ min: 0, max: 8 }).map((k) => k * SCHEDULE_PERIOD_MS - 1),
      fc.integer({ min: 0, max: 2 * 3600_000 - 1 }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(boundaryHeavy, { minLength: 1, maxLength: 12 }), async (offsets) => {
        let clock = DAY0;
        const store = new MemoryObjectStore(() => new Date(clock));
        const arrivals = new Map<string, number>();
        for (const [i, off] of offsets.entries()) {
          clock = DAY0 + 3600_000 + off;
          const iso = new Date(clock).toISOString();
          const key = `raw/log_type=kube-scheduler/dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/eks-log-lake-raw-1-${iso.slice(0, 19).replace(/[:T]/g, '-')}-${i}.gz`;
          await store.put(key, `object ${i}`);
          arrivals.set(key, clock);
        }
        const plannedBy = new Map<string, string[]>();
        // Consecutive scheduled runs, each after its window closed; each records what it compacted.
        for (let end = DAY0 + 3600_000; end <= DAY0 + 4 * 3600_000; end += SCHEDULE_PERIOD_MS) {
          const window = resolveWindow({ scheduledTime: new Date(end).toISOString() }, new Date(end + 60_000), LIMITS);
          const plan = await planWindowFor({ store, limits: { maxChunkObjects: 100, maxChunkBytes: 1e9 } }, window);
          const planned = plan.chunks.flatMap((c) => c.objects);
          for (const o of planned) plannedBy.set(o.key, [...(plannedBy.get(o.key) ?? []), window.end]);
          await recordProcessed(store, planned);
        }
        for (const [key, t] of arrivals) {
          const runs = plannedBy.get(key) ?? [];
          expect(runs, key).toHaveLength(1);
          const end = Date.parse(runs[0]!);
          expect(end - SCHEDULE_PERIOD_MS <= t && t < end, `${key} at ${new Date(t).toISOString()} in ${runs[0]}`).toBe(
            true,
          );
        }
      }),
      { numRuns: 40 },
    );
  });
});

interface CleanRun {
  /** The lake after the earlier objects were published, before the run under test. */
  readonly between: ObjectStore;
  readonly later: string[];
  readonly nowMs: number;
  /** What a reader saw before the run and after it ran clean, by `table|values`. */
  readonly old: Map<string, PublishedPartition>;
  readonly clean: Map<string, PublishedPartition>;
  readonly cleanCatalog: Record<string, string>;
  /** Keys of the clean run's puts, catalog writes included, in order. */
  readonly puts: string[];
}

/**
 * Publishes every other raw object of generated traffic, then compacts the rest in a clean run
 * (so that run replaces generations) and records what it wrote.
 */
async function cleanRunAfterEarlierOne(seed: number): Promise<CleanRun> {
  const traffic = smallTraffic(seed);
  const { store, catalog } = await deliveredLake(traffic, seed);
  const keys = await keysUnder(store, 'raw/');
  const nowMs = traffic.truth.arrivalRange.last + 60_000;
  const earlier = keys.filter((_, i) => i % 2 === 0);
  const later = keys.filter((_, i) => i % 2 === 1);
  await compactKeys(store, catalog, earlier, nowMs);
  const between = await copyStore(store);
  const old = await publishedPartitions(store, catalog);
  expect(old.size).toBeGreaterThan(0);
  const counting = new FaultyObjectStore(store);
  await compactKeys(counting, new LocalCatalog(counting), later, nowMs);
  const clean = await publishedPartitions(store, catalog);
  const replaced = [...clean].filter(([id, p]) => old.has(id) && old.get(id)!.location !== p.location);
  expect(replaced.length).toBeGreaterThan(0);
  const puts = counting.faults.calls.filter((c) => c.op === 'put').map((c) => c.target);
  return { between, later, nowMs, old, clean, cleanCatalog: await snapshot(store, 'control/catalog/'), puts };
}

/**
 * Replays the run on a copy of the lake with the process dying at put `crashAt`, checks what a
 * reader sees then, reruns and checks the lake ends as after the clean run. Returns what the
 * reader saw between the crash and the rerun.
 */
async function crashThenRerun(
  run: CleanRun,
  crashAt: number,
  when: 'before' | 'after',
): Promise<Map<string, PublishedPartition>> {
  const lake = await copyStore(run.between);
  const crash = new SimulatedCrash(`put ${crashAt} of ${run.puts.length} (${when}): ${run.puts[crashAt - 1]}`);
  const crashing = new FaultyObjectStore(lake);
  const rule = crashing.failOn({ op: 'put', nth: crashAt, error: crash, when });
  await expect(compactKeys(crashing, new LocalCatalog(crashing), run.later, run.nowMs)).rejects.toBe(crash);
  expect(rule.fired).toBe(1);
  // The crash is where the clean run made the same put, and nothing was written after it.
  expect(crashing.faults.calls.filter((c) => c.op === 'put').map((c) => c.target)).toEqual(run.puts.slice(0, crashAt));

  // A reader (catalog → manifest → files) sees every partition whole, at the old or the new generation.
  const seen = await publishedPartitions(lake, new LocalCatalog(lake));
  expect([...seen.keys()]).toEqual(expect.arrayContaining([...run.old.keys()]));
  for (const [id, p] of seen) expect([run.old.get(id), run.clean.get(id)], `${id} ${crash.message}`).toContainEqual(p);

  await compactKeys(lake, new LocalCatalog(lake), run.later, run.nowMs);
  expect(await publishedPartitions(lake, new LocalCatalog(lake))).toEqual(run.clean);
  expect(await snapshot(lake, 'control/catalog/')).toEqual(run.cleanCatalog);
  return seen;
}

function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

async function snapshot(store: ObjectStore, prefix: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const key of await keysUnder(store, prefix)) out[key] = (await store.head(key))!.etag;
  return out;
}
