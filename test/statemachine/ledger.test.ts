import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryMetrics } from '../../functions/shared/metrics.ts';
import { runLocalWorkflow } from '../../src/adapters/local/local-workflow-runner.ts';
import {
  advanceWatermark,
  oweAthenaWork,
  readAttempts,
  readOwedAthenaWork,
  readPartitionLedger,
  readProcessed,
  readWatermark,
  recordBackfillCoverage,
  recordFailedAttempts,
  recordPartitions,
  recordProcessed,
  settleAthenaWork,
  takeOnOwedAthenaWork,
  WATERMARK_LAG_METRIC,
} from '../../src/pipeline/ledger.ts';
import { makeTestLake, type TestLake } from './helpers/test-lake.ts';

let lake: TestLake;
afterEach(() => lake?.cleanup());

const KEY_A = 'raw/log_type=kube-apiserver-audit/dt=2025-01-03/hour=09/eks-logs-1-2025-01-03-09-58-00-a.gz';
const KEY_B = 'raw/log_type=authenticator/dt=2025-01-03/hour=10/eks-logs-1-2025-01-03-10-05-00-b.gz';
const VALUES = ['111122223333', 'prod-eu-1', '2025-01-03', '09'];

describe('ledger', () => {
  it('counts a failed run once per execution, restarts on a new ETag, and marks poison at the limit', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    const fail = (etag: string, executionName: string) =>
      recordFailedAttempts(lake.store, [{ key: KEY_A, etag, error: 'States.Timeout' }], { executionName, at: 'x' }, 3);
    expect(await fail('"a1"', 'run-1')).toEqual([]);
    expect(await fail('"a1"', 'run-1')).toEqual([]); // a redrive of the same execution
    expect((await readAttempts(lake.store, 'dt=2025-01-03/hour=09'))[KEY_A]).toMatchObject({ runs: 1 });
    expect(await fail('"a1"', 'run-2')).toEqual([]);
    expect(await fail('"a2"', 'run-3')).toEqual([]); // the object was rewritten: start again
    expect((await readAttempts(lake.store, 'dt=2025-01-03/hour=09'))[KEY_A]).toMatchObject({ runs: 1, etag: '"a2"' });
    await fail('"a2"', 'run-4');
    expect(await fail('"a2"', 'run-5')).toEqual([{ key: KEY_A, etag: '"a2"', runs: 3, lastError: 'States.Timeout' }]);
    expect((await readAttempts(lake.store, 'dt=2025-01-03/hour=09'))[KEY_A]).toMatchObject({ runs: 3, poisoned: true });
  });

  it('records processed objects under their arrival hour and treats a repeat as a no-op', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    expect(
      await recordProcessed(lake.store, [
        { key: KEY_A, etag: '"a1"' },
        { key: KEY_B, etag: '"b1"' },
      ]),
    ).toBe(2);
    expect(await recordProcessed(lake.store, [{ key: KEY_A, etag: '"a1"' }])).toBe(0);
    expect(await readProcessed(lake.store, 'dt=2025-01-03/hour=09')).toEqual({ [KEY_A]: '"a1"' });
    expect(await readProcessed(lake.store, 'dt=2025-01-03/hour=10')).toEqual({ [KEY_B]: '"b1"' });
    // A rewritten object (new ETag) is a new version and replaces the old entry.
    expect(await recordProcessed(lake.store, [{ key: KEY_A, etag: '"a2"' }])).toBe(1);
    expect(await readProcessed(lake.store, 'dt=2025-01-03/hour=09')).toEqual({ [KEY_A]: '"a2"' });
  });

  it('accumulates per-hour counters over runs but counts one plan once', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    const counts = { values: VALUES, rawObjects: 2, eventsIn: 10, rowsOut: 9, duplicatesRemoved: 1 };
    await recordPartitions(lake.store, [counts], { executionName: 'e1', planId: 'p1', at: '2025-01-03T10:20:00.000Z' });
    await recordPartitions(lake.store, [counts], { executionName: 'e1', planId: 'p1', at: '2025-01-03T10:21:00.000Z' });
    await recordPartitions(lake.store, [{ ...counts, rawObjects: 1, eventsIn: 3, rowsOut: 12, duplicatesRemoved: 0 }], {
      executionName: 'e2',
      planId: 'p2',
      at: '2025-01-03T10:35:00.000Z',
    });
    expect(await readPartitionLedger(lake.store, VALUES)).toEqual({
      account: '111122223333',
      cluster: 'prod-eu-1',
      dt: '2025-01-03',
      hour: '09',
      rawObjects: 3,
      eventsIn: 13,
      rowsOut: 12,
      duplicatesRemoved: 1,
      runs: 2,
      lastRun: { executionName: 'e2', planId: 'p2', at: '2025-01-03T10:35:00.000Z' },
    });
  });

  it('only ever moves the watermark forward', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    const wm = (t: string) => ({ completeThrough: t, updatedAt: t, executionName: 'e', planId: 'p' });
    await advanceWatermark(lake.store, wm('2025-01-03T10:15:00.000Z'));
    await advanceWatermark(lake.store, wm('2025-01-03T10:00:00.000Z'));
    expect((await readWatermark(lake.store))?.completeThrough).toBe('2025-01-03T10:15:00.000Z');
    await advanceWatermark(lake.store, wm('2025-01-03T10:30:00.000Z'));
    expect((await readWatermark(lake.store))?.completeThrough).toBe('2025-01-03T10:30:00.000Z');
  });

  it('records how far a backfill listed, moving the watermark only forward and only past where it stood', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    const run = (listedThrough: string) => ({
      holder: 'bf-1',
      listedThrough,
      executionName: 'c',
      planId: 'p',
      at: 'x',
    });
    await advanceWatermark(lake.store, {
      completeThrough: '2025-01-03T06:00:00.000Z',
      updatedAt: 'w',
      executionName: 's',
      planId: 'q',
    });
    const behind = await recordBackfillCoverage(
      lake.store,
      (await readWatermark(lake.store))!,
      run('2025-01-02T00:00:00.000Z'),
    );
    expect(behind).toEqual({
      completeThrough: '2025-01-03T06:00:00.000Z',
      updatedAt: 'w',
      executionName: 's',
      planId: 'q',
      backfill: { holder: 'bf-1', listedThrough: '2025-01-02T00:00:00.000Z' },
    });
    const past = await recordBackfillCoverage(lake.store, behind, run('2025-01-03T09:00:00.000Z'));
    expect(past).toMatchObject({ completeThrough: '2025-01-03T09:00:00.000Z', executionName: 'c', planId: 'p' });
    expect(await readWatermark(lake.store)).toEqual(past);
    // A scheduled run that moves it drops the marker: the next backfill starts from the look-back again.
    await advanceWatermark(lake.store, {
      completeThrough: '2025-01-03T10:15:00.000Z',
      updatedAt: 'y',
      executionName: 's2',
      planId: 'r',
    });
    expect((await readWatermark(lake.store))?.backfill).toBeUndefined();
  });

  it('reports the watermark lag in seconds from every run, a backfill too, once a watermark exists', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    const metrics = createMemoryMetrics();
    const deps = { ...lake.deps, metrics };
    const lag = () => metrics.gauges.get(WATERMARK_LAG_METRIC.metricName);

    // No watermark yet and a backfill does not set one: nothing to report.
    const backfill = { from: '2025-01-03T07:00:00Z', to: '2025-01-03T08:00:00Z' };
    expect((await runLocalWorkflow(backfill, { deps })).status).toBe('SUCCEEDED');
    expect(lag()).toBeUndefined();

    // The scheduled run moves the watermark to its window's end, 5 minutes before the clock.
    expect((await runLocalWorkflow({ scheduledTime: '2025-01-03T10:15:00Z' }, { deps })).status).toBe('SUCCEEDED');
    expect(lag()).toEqual({ value: 300, unit: 'Seconds' });

    // An hour later a backfill leaves the watermark where it is; the lag it reports has grown.
    lake.clock.advance(3_600_000);
    expect((await runLocalWorkflow(backfill, { deps })).status).toBe('SUCCEEDED');
    expect(lag()).toEqual({ value: 3900, unit: 'Seconds' });
  });

  it('owes Athena steps until a run completes them, and abandons a step three runs took on without completing', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    const HOUR_09 = 'dt=2025-01-03/hour=09';
    const OTHER = ['111122223333', 'prod-eu-1', '2025-01-03', '10'];
    const owe = (executionName: string, rollups: (readonly string[])[]) =>
      oweAthenaWork(lake.store, { rawHours: [HOUR_09], rollups }, { executionName, at: '2025-01-03T10:20:00.000Z' });
    await owe('run-1', [VALUES]);
    // Run 1 takes on its own steps and fails; runs 2 and 3 take them on again (a redrive counts once).
    for (const run of ['run-1', 'run-1', 'run-2', 'run-3']) {
      expect(await takeOnOwedAthenaWork(lake.store, { executionName: run }, 3)).toEqual({
        rawHours: [HOUR_09],
        rollups: [VALUES],
        abandoned: [],
      });
    }
    // Run 4 finds both taken on by three runs: abandoned, no longer handed out, still on record.
    await owe('run-4', [OTHER]);
    expect(await takeOnOwedAthenaWork(lake.store, { executionName: 'run-4' }, 3)).toEqual({
      rawHours: [],
      rollups: [OTHER],
      abandoned: [`raw ${HOUR_09}`, `rollup ${VALUES.join('/')}`],
    });
    expect((await readOwedAthenaWork(lake.store)).rollups[VALUES.join('/')]).toMatchObject({
      runs: 3,
      abandoned: true,
      owedBy: 'run-1',
    });
    await settleAthenaWork(lake.store, { rawHours: [], rollups: [OTHER] });
    expect(Object.keys((await readOwedAthenaWork(lake.store)).rollups)).toEqual([VALUES.join('/')]);

    // New data for an abandoned hour revives it; completing it strikes it from what is owed.
    await owe('run-5', [VALUES]);
    expect(await takeOnOwedAthenaWork(lake.store, { executionName: 'run-5' }, 3)).toEqual({
      rawHours: [HOUR_09],
      rollups: [VALUES],
      abandoned: [],
    });
    await settleAthenaWork(lake.store, { rawHours: [HOUR_09], rollups: [VALUES] });
    expect(await readOwedAthenaWork(lake.store)).toEqual({ rawHours: {}, rollups: {} });
  });
});
