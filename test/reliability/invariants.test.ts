import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LocalCatalog } from '../../src/adapters/local/local-catalog.ts';
import { MemoryObjectStore } from '../../src/adapters/local/memory-object-store.ts';
import { resolveWindow } from '../../src/core/workflow/input.ts';
import { SCHEDULE_PERIOD_MS } from '../../src/core/workflow/window.ts';
import { compactObjects } from '../../src/pipeline/compact.ts';
import { recordProcessed } from '../../src/pipeline/ledger.ts';
import type { ObjectStore } from '../../src/ports.ts';
import { FaultyObjectStore } from '../helpers/faults.ts';
import {
  compactionDeps,
  deliveredLake,
  identityOf,
  keysUnder,
  planIdOf,
  planWindowFor,
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
    await fc.assert(
      fc.asyncProperty(seedArb, async (seed) => {
        const traffic = smallTraffic(seed);
        const { store, catalog, stats } = await deliveredLake(traffic, seed);
        const keys = await keysUnder(store, 'raw/');
        const nowMs = traffic.truth.arrivalRange.last + 60_000;
        const sum = await compactKeys(store, catalog, keys, nowMs);
        const rows = await publishedRows(store, catalog);
        const ids = rows.map(identityOf);
        const { events } = traffic.truth;

        // Every curated row is unique on (account, log_group, event_id) and every distinct event is one row.
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids.length).toBe(events.unique);
        const generated = events.unique + events.duplicate + events.control;
        const failed = stats.processingFailed; // records, each a whole message; none expected here
        expect(failed).toBe(0);
        expect(stats.dropped).toBe(traffic.truth.messages.control);
        expect(generated).toBe(rows.length + sum.quarantined + events.control + sum.duplicates);
        expect(sum.events).toBe(events.unique + events.duplicate);
      }),
      { numRuns: 3 },
    );
  });

  it('is idempotent: a rerun of the same window, and a rerun after a crash at any put, ends in the same state', async () => {
    await fc.assert(
      fc.asyncProperty(seedArb, fc.integer({ min: 1, max: 50 }), async (seed, crashAt) => {
        const traffic = smallTraffic(seed);
        const { store, catalog } = await deliveredLake(traffic, seed);
        const keys = await keysUnder(store, 'raw/');
        const nowMs = traffic.truth.arrivalRange.last + 60_000;
        await compactKeys(store, catalog, keys, nowMs);
        const once = await publishedRows(store, catalog);
        const catalogFiles = await snapshot(store, 'control/catalog/');
        const again = await compactKeys(store, catalog, keys, nowMs);
        expect(again.published).toBe(0);
        expect(await publishedRows(store, catalog)).toEqual(once);
        expect(await snapshot(store, 'control/catalog/')).toEqual(catalogFiles);

        // A fresh lake, a crash at the n-th put of the run (any phase), then a rerun: same rows.
        const fresh = await deliveredLake(traffic, seed);
        const crashing = new FaultyObjectStore(fresh.store);
        crashing.crashOn('put', undefined, crashAt);
        const crashCatalog = new LocalCatalog(crashing);
        await compactKeys(crashing, crashCatalog, keys, nowMs).catch(() => undefined);
        expect(await publishedRows(fresh.store, fresh.catalog)).toEqual(expect.any(Array));
        await compactKeys(fresh.store, fresh.catalog, keys, nowMs);
        expect(await publishedRows(fresh.store, fresh.catalog)).toEqual(once);
      }),
      { numRuns: 3 },
    );
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
          const key = `raw/log_type=kube-scheduler/dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/eks-log-lake-raw-1-${i}.gz`;
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
