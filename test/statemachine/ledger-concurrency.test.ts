import { afterEach, describe, expect, it } from 'vitest';
import { PreconditionFailedError, RetryableError } from '../../src/core/errors.ts';
import { DEFAULT_QUIET_CLUSTER_SETTINGS } from '../../src/core/workflow/quiet-clusters.ts';
import {
  advanceWatermark,
  oweAthenaWork,
  processedIndexKey,
  readAttempts,
  readClusterSightings,
  readOwedAthenaWork,
  readPartitionLedger,
  readProcessed,
  readWatermark,
  recordBackfillCoverage,
  recordClusterSightings,
  recordFailedAttempts,
  recordPartitions,
  recordProcessed,
} from '../../src/pipeline/ledger.ts';
import type { ObjectStore } from '../../src/ports.ts';
import { FaultyObjectStore } from '../helpers/faults.ts';
import { makeTestLake, type TestLake } from './helpers/test-lake.ts';

let lake: TestLake;
afterEach(() => lake?.cleanup());

const HOUR = 'dt=2025-01-03/hour=09';
const rawKey = (i: number) =>
  `raw/log_type=kube-apiserver-audit/dt=2025-01-03/hour=09/eks-logs-1-2025-01-03-09-0${i}-00-${i}.gz`;
const VALUES = ['111122223333', 'prod-eu-1', '2025-01-03', '09'];
const WRITERS = 3;

/**
 * The store as `n` writers see it at once: their first reads wait for each other, so every writer
 * reads the same state before any of them writes (the lost-update interleaving), and writer `i`
 * writes after writer `i - 1`.
 */
function readTogether(store: ObjectStore, n: number): (writer: number) => ObjectStore {
  let waiting = 0;
  let release: () => void = () => {};
  const all = new Promise<void>((r) => {
    release = r;
  });
  return (writer) =>
    new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'put') {
          return async (...args: Parameters<ObjectStore['put']>) => {
            await new Promise((r) => setTimeout(r, 5 * writer));
            return target.put(...args);
          };
        }
        if (prop === 'get') {
          return async (key: string) => {
            const got = await target.get(key);
            if (waiting < n) {
              waiting++;
              if (waiting === n) release();
              await all;
            }
            return got;
          };
        }
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
}

describe('ledger writes by runs at the same time', () => {
  // Each writer reads, changes and writes the same object; without a conditional write the last one wins.
  it.each([
    [
      'the processed index',
      (s: ObjectStore, i: number) => recordProcessed(s, [{ key: rawKey(i), etag: `"e${i}"` }]),
      async () => Object.keys(await readProcessed(lake.store, HOUR)).length,
      WRITERS,
    ],
    [
      'the failed attempts',
      (s: ObjectStore, i: number) =>
        recordFailedAttempts(s, [{ key: rawKey(0), etag: '"e0"', error: 'States.Timeout' }], {
          executionName: `run-${i}`,
          at: 'x',
        }),
      async () => (await readAttempts(lake.store, HOUR))[rawKey(0)]?.runs,
      WRITERS,
    ],
    [
      'the partition counters',
      (s: ObjectStore, i: number) =>
        recordPartitions(s, [{ values: VALUES, rawObjects: 1, eventsIn: 2, rowsOut: 2, duplicatesRemoved: 0 }], {
          executionName: `run-${i}`,
          planId: `plan-${i}`,
          at: 'x',
        }),
      async () => (await readPartitionLedger(lake.store, VALUES))?.runs,
      WRITERS,
    ],
    [
      'the owed Athena steps',
      (s: ObjectStore, i: number) =>
        oweAthenaWork(
          s,
          { rawHours: [], rollups: [[...VALUES.slice(0, 3), `0${i}`]] },
          { executionName: `run-${i}`, at: 'x' },
        ),
      async () => Object.keys((await readOwedAthenaWork(lake.store)).rollups).length,
      WRITERS,
    ],
    [
      'the cluster sightings',
      (s: ObjectStore, i: number) =>
        recordClusterSightings(
          s,
          [['111122223333', `cluster-${i}`, '2025-01-03', '09']],
          '2025-01-03T10:00:00.000Z',
          DEFAULT_QUIET_CLUSTER_SETTINGS,
        ),
      async () => (await readClusterSightings(lake.store)).length,
      WRITERS,
    ],
    [
      'the watermark (the latest wins, never an earlier one)',
      (s: ObjectStore, i: number) =>
        advanceWatermark(s, {
          completeThrough: `2025-01-03T10:${String(15 * (WRITERS - i)).padStart(2, '0')}:00.000Z`,
          updatedAt: 'x',
          executionName: `run-${i}`,
          planId: `plan-${i}`,
        }),
      async () => (await readWatermark(lake.store))?.completeThrough,
      `2025-01-03T10:${15 * WRITERS}:00.000Z`,
    ],
  ])('keeps every update of %s', async (_label, write, read, expected) => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    const storeOf = readTogether(lake.store, WRITERS);
    await Promise.all(Array.from({ length: WRITERS }, (_, i) => write(storeOf(i), i)));
    expect(await read()).toBe(expected);
  });

  it('gives up with a RetryableError, writing nothing, when every conditional write loses', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    const faulty = new FaultyObjectStore(lake.store);
    faulty.failOn({
      op: 'put',
      match: processedIndexKey(HOUR),
      times: Number.POSITIVE_INFINITY,
      error: () => new PreconditionFailedError('412 Precondition Failed', processedIndexKey(HOUR)),
    });
    await expect(recordProcessed(faulty, [{ key: rawKey(1), etag: '"e1"' }])).rejects.toThrow(RetryableError);
    expect(await readProcessed(lake.store, HOUR)).toEqual({});
  });

  it('does not record backfill coverage over a watermark that changed since the run decided on it', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    const seen = { completeThrough: '2025-01-03T08:00:00.000Z', updatedAt: 'x', executionName: 'a', planId: 'p' };
    await advanceWatermark(lake.store, seen);
    const now = await advanceWatermark(lake.store, { ...seen, completeThrough: '2025-01-03T10:15:00.000Z' });
    const run = {
      holder: 'bf',
      listedThrough: '2025-01-03T09:00:00.000Z',
      executionName: 'bf-c',
      planId: 'q',
      at: 'y',
    };
    await expect(recordBackfillCoverage(lake.store, seen, run)).rejects.toThrow(/watermark changed/);
    expect(await readWatermark(lake.store)).toEqual(now);
  });
});
