import { utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLocalWorkflowDeps } from '../../src/adapters/local/local-workflow-deps.ts';
import { type LocalRunOptions, runLocalWorkflow } from '../../src/adapters/local/local-workflow-runner.ts';
import { acquireLease, readLeaseRecord } from '../../src/pipeline/lease.ts';
import {
  CLUSTER_SIGHTINGS_KEY,
  readAttempts,
  readProcessed,
  readWatermark,
  WATERMARK_KEY,
} from '../../src/pipeline/ledger.ts';
import { RUNS_PREFIX } from '../../src/pipeline/plan.ts';
import type { ObjectStore } from '../../src/ports.ts';
import { makeTestLake, putRawObject, TEST_CONFIG, type TestLake } from './helpers/test-lake.ts';

let lake: TestLake;
afterEach(() => lake?.cleanup());

const TTL_MS = TEST_CONFIG.leaseTtlSeconds * 1000;

/** Another run takes the lease the way it would after this one stalled past its TTL. */
async function takeOver(l: TestLake, store: ObjectStore): Promise<void> {
  l.clock.advance(TTL_MS + 60_000);
  await acquireLease({ store, clock: l.clock, ttlMs: TTL_MS }, 'newer-run');
}

/** The lake's store, calling `before` ahead of every put and delete (with the key or keys). */
function watched(l: TestLake, before: (op: 'put' | 'delete', keys: readonly string[]) => Promise<void>): ObjectStore {
  const inner = l.store;
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'put') {
        return async (k: string, body: Uint8Array | string, opts?: Parameters<ObjectStore['put']>[2]) => {
          await before('put', [k]);
          return target.put(k, body, opts);
        };
      }
      if (prop === 'delete') {
        return async (keys: readonly string[]) => {
          await before('delete', keys);
          return target.delete(keys);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

function depsOver(l: TestLake, store: ObjectStore) {
  return createLocalWorkflowDeps({
    store,
    catalog: l.catalog,
    engine: l.engine,
    clock: l.clock,
    config: TEST_CONFIG,
    registerRawPartitions: true,
  });
}

describe('a run that loses its lease while it writes its ledger', () => {
  // The per-partition counters are where the stale run stalls past its TTL and another run takes over.
  it('ends LeaseLostError and writes neither processed objects, watermark nor sightings after that', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    await putRawObject(lake, '2025-01-03T10:05:00Z', [{ id: '1', time: '2025-01-03T10:01:00Z' }]);
    let takenOver = false;
    const after: string[] = [];
    const store = watched(lake, async (op, keys) => {
      if (op !== 'put') return;
      if (!takenOver && keys[0]!.startsWith('control/ledger/partitions/')) {
        takenOver = true;
        await takeOver(lake, lake.store);
      } else if (takenOver) after.push(keys[0]!);
    });
    const run = await runLocalWorkflow(
      { scheduledTime: '2025-01-03T10:15:00Z' },
      { deps: depsOver(lake, store), executionName: 'stale' },
    );
    expect(takenOver).toBe(true);
    expect(run).toMatchObject({ status: 'FAILED', error: 'LeaseLostError' });
    expect(after.filter((k) => !k.startsWith('control/ledger/partitions/'))).toEqual([]);
    expect(await readProcessed(lake.store, 'dt=2025-01-03/hour=10')).toEqual({});
    expect(await lake.store.get(WATERMARK_KEY)).toBeUndefined();
    expect(await lake.store.get(CLUSTER_SIGHTINGS_KEY)).toBeUndefined();
    expect((await readLeaseRecord(lake.store))?.holder).toBe('newer-run');
  });

  it('ends LeaseLostError before moving the watermark when the lease is lost after the processed index', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    const key = await putRawObject(lake, '2025-01-03T10:05:00Z', [{ id: '1', time: '2025-01-03T10:01:00Z' }]);
    let takenOver = false;
    const store = watched(lake, async (op, keys) => {
      if (op === 'put' && !takenOver && keys[0]!.startsWith('control/ledger/processed/')) {
        takenOver = true;
        await takeOver(lake, lake.store);
      }
    });
    const run = await runLocalWorkflow(
      { scheduledTime: '2025-01-03T10:15:00Z' },
      { deps: depsOver(lake, store), executionName: 'stale' },
    );
    expect(run).toMatchObject({ status: 'FAILED', error: 'LeaseLostError' });
    // Processed was proven under the lease just before; what the run published is in curated/.
    expect(Object.keys(await readProcessed(lake.store, 'dt=2025-01-03/hour=10'))).toEqual([key]);
    expect(await readWatermark(lake.store)).toBeUndefined();
  });

  it('deletes nothing in CollectGarbage once another run holds the lease', async () => {
    lake = makeTestLake('2025-01-23T10:20:00Z');
    // Run files of an execution long past its redrive period: garbage for a run that still holds the lease.
    const old = `${RUNS_PREFIX}old-exec/p1/plan.json`;
    await lake.store.put(old, '{}');
    const written = new Date('2025-01-03T10:20:00Z');
    utimesSync(join(lake.dir, old), written, written);
    const deleted: string[] = [];
    const store = watched(lake, async (op, keys) => {
      if (op === 'delete') deleted.push(...keys);
    });
    const wrapTask: LocalRunOptions['wrapTask'] = (state, h) =>
      state === 'CollectGarbage'
        ? async (i) => {
            await takeOver(lake, lake.store);
            return h(i);
          }
        : h;
    const run = await runLocalWorkflow(
      { scheduledTime: '2025-01-23T10:15:00Z' },
      { deps: depsOver(lake, store), executionName: 'stale', wrapTask },
    );
    // CollectGarbage is best effort: the run's work is recorded, and the lease is the newer run's.
    expect(run.events.some((e) => e.type === 'StateEntered' && e.state === 'CollectGarbage')).toBe(true);
    expect(deleted).toEqual([]);
    expect(await lake.store.get(old)).toBeDefined();
    expect((await readLeaseRecord(lake.store))?.holder).toBe('newer-run');
  });
});

describe('failed runs toward poison', () => {
  // The automatic retry of a failed child is a new execution of the same backfill.
  it('counts one backfill once for an object whose chunk failed in a child and in its retry', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z', { childRangeHours: 1 });
    const bad = await putRawObject(lake, '2025-01-03T07:10:00Z', [{ id: '30', time: '2025-01-03T07:09:00Z' }]);
    await putRawObject(lake, '2025-01-03T08:10:00Z', [{ id: '31', time: '2025-01-03T08:09:00Z' }]);
    let stagings = 0;
    const real = lake.deps.compaction;
    const compaction = {
      ...real,
      stageObjects: async (input: Parameters<typeof real.stageObjects>[0]) => {
        if (input.keys.includes(bad)) {
          stagings++;
          throw Object.assign(new Error('injected: the object fails to stage'), { name: 'RawObjectError' });
        }
        return real.stageObjects(input);
      },
    };
    const run = await runLocalWorkflow(
      { from: '2025-01-03T07:00:00Z', to: '2025-01-03T09:00:00Z' },
      { deps: { ...lake.deps, compaction }, executionName: 'backfill-3' },
    );
    expect(run).toMatchObject({ status: 'FAILED', error: 'ItemsFailedError' });
    expect(stagings).toBeGreaterThanOrEqual(2);
    expect((await readAttempts(lake.store, 'dt=2025-01-03/hour=07'))[bad]).toMatchObject({
      runs: 1,
      lastExecution: 'backfill-3',
    });
  });
});
