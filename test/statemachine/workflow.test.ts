import { utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type LocalExecution,
  type LocalRunOptions,
  redriveLocalWorkflow,
  runLocalWorkflow,
  type WorkflowProgress,
} from '../../src/adapters/local/local-workflow-runner.ts';
import { RetryableError } from '../../src/core/errors.ts';
import { acquireLease, readLeaseRecord } from '../../src/pipeline/lease.ts';
import { readPartitionLedger, readProcessed, readWatermark } from '../../src/pipeline/ledger.ts';
import type { RunSummary } from '../../src/pipeline/workflow-tasks.ts';
import { cwlId, makeTestLake, publishedRows, putRawObject, type TestLake } from './helpers/test-lake.ts';

let lake: TestLake;
afterEach(() => lake?.cleanup());

const NOW = '2025-01-03T10:20:00Z';
const SCHEDULED = { scheduledTime: '2025-01-03T10:15:00Z' };

/** Three objects over two arrival hours; event 2 is delivered twice (a Firehose retry). */
async function seedWindow(l: TestLake): Promise<string[]> {
  return [
    await putRawObject(l, '2025-01-03T09:58:00Z', [
      { id: '1', time: '2025-01-03T09:57:00Z' },
      { id: '2', time: '2025-01-03T09:57:01Z' },
    ]),
    await putRawObject(l, '2025-01-03T10:05:00Z', [
      { id: '2', time: '2025-01-03T09:57:01Z' },
      { id: '3', time: '2025-01-03T10:01:00Z' },
    ]),
    await putRawObject(l, '2025-01-03T10:06:00Z', [{ id: '4', time: '2025-01-03T10:02:00Z' }]),
  ];
}

const ids = async (l: TestLake) => (await publishedRows(l, 'audit_events')).map((r) => r.event_id);
const statesEntered = (e: LocalExecution) => e.events.filter((x) => x.type === 'StateEntered').map((x) => x.state);
const summaryOf = (e: LocalExecution) => e.output as RunSummary;

async function catalogSnapshot(l: TestLake): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const o of l.store.list('control/catalog/')) {
    out[o.key] = Buffer.from((await l.store.get(o.key))!.body).toString('utf8');
  }
  return out;
}

describe('compaction workflow under the local runner', () => {
  it('compacts a scheduled window: rows deduplicated and published, ledger, watermark, rollups, lease released', async () => {
    lake = makeTestLake(NOW);
    const keys = await seedWindow(lake);
    const run = await runLocalWorkflow(SCHEDULED, { deps: lake.deps });

    expect(run.status).toBe('SUCCEEDED');
    expect(summaryOf(run)).toMatchObject({
      status: 'succeeded',
      mode: 'scheduled',
      start: '2025-01-03T10:00:00.000Z',
      end: '2025-01-03T10:15:00.000Z',
      objects: 3,
      chunks: 2,
      eventsIn: 5,
      rowsOut: 4,
      duplicatesRemoved: 1,
      failedItems: 0,
      watermark: '2025-01-03T10:15:00.000Z',
    });
    expect(await ids(lake)).toEqual(['1', '2', '3', '4'].map(cwlId));
    expect((await readWatermark(lake.store))?.completeThrough).toBe('2025-01-03T10:15:00.000Z');
    expect(Object.keys(await readProcessed(lake.store, 'dt=2025-01-03/hour=10')).sort()).toEqual(keys.slice(1).sort());
    expect(await readPartitionLedger(lake.store, ['111122223333', 'prod-eu-1', '2025-01-03', '09'])).toMatchObject({
      rowsOut: 2,
      eventsIn: 2,
      runs: 1,
      lastRun: { executionName: run.executionName },
    });
    expect(lake.engine.calls.map((c) => `${c.name} ${c.params.dt}/${c.params.hour}`)).toEqual([
      'add-raw-partitions 2025-01-03/09',
      'add-raw-partitions 2025-01-03/10',
      'create-audit-hourly-summary 2025-01-03/09',
      'create-audit-hourly-summary 2025-01-03/10',
    ]);
    const rollups = await lake.catalog.listPartitions('audit_hourly_summary');
    expect(rollups.map((p) => p.values[3])).toEqual(['09', '10']);
    expect((await readLeaseRecord(lake.store))?.released).toBe(true);
  });

  it('does nothing but record the watermark when no raw object arrived', async () => {
    lake = makeTestLake(NOW);
    const run = await runLocalWorkflow(SCHEDULED, { deps: lake.deps });
    expect(run.status).toBe('SUCCEEDED');
    expect(summaryOf(run)).toMatchObject({ objects: 0, partitions: 0, rowsOut: 0, failedItems: 0 });
    expect(statesEntered(run)).not.toContain('StageChunks');
    expect(statesEntered(run)).not.toContain('PublishPartitions');
    expect(lake.engine.calls).toEqual([]);
    expect((await readWatermark(lake.store))?.completeThrough).toBe('2025-01-03T10:15:00.000Z');
  });

  it('rejects bad input before any work: no lease, no plan (reliability row 39)', async () => {
    lake = makeTestLake(NOW);
    const run = await runLocalWorkflow(
      { from: '2025-01-03T00:00:00Z', to: '2025-01-02T00:00:00Z' },
      { deps: lake.deps },
    );
    expect(run).toMatchObject({ status: 'FAILED', error: 'InvalidInputError', failedState: 'RejectInput' });
    expect(run.cause).toMatch(/reversed/);
    expect(await readLeaseRecord(lake.store)).toBeUndefined();
    const listed: string[] = [];
    for await (const o of lake.store.list('control/')) listed.push(o.key);
    expect(listed).toEqual([]);
  });

  it('retries a transient failure of a Map item and then succeeds', async () => {
    lake = makeTestLake(NOW);
    await seedWindow(lake);
    let failures = 0;
    const run = await runLocalWorkflow(SCHEDULED, {
      deps: lake.deps,
      wrapTask: (state, h) =>
        state === 'StageObjects'
          ? async (i) => {
              if (failures++ === 0) throw new RetryableError('S3 503 SlowDown');
              return h(i);
            }
          : h,
    });
    expect(run.status).toBe('SUCCEEDED');
    expect(run.events.filter((e) => e.type === 'StateRetried').map((e) => e.state)).toEqual(['StageObjects']);
    expect(await ids(lake)).toEqual(['1', '2', '3', '4'].map(cwlId));
  });

  it('catches a failing item, publishes the others, fails at the end with a summary, and the next run finishes the job', async () => {
    lake = makeTestLake(NOW, { maxChunkObjects: 1 });
    const keys = await seedWindow(lake);
    const broken: LocalRunOptions['wrapTask'] = (state, h) =>
      state === 'StageObjects'
        ? async (i) => {
            if (i.Payload.chunkId === 1) {
              const e = new Error('object is not gzip');
              e.name = 'RawObjectError';
              throw e;
            }
            return h(i);
          }
        : h;
    const first = await runLocalWorkflow(SCHEDULED, { deps: lake.deps, wrapTask: broken });

    expect(first).toMatchObject({ status: 'FAILED', error: 'ItemsFailedError', failedState: 'ItemsFailed' });
    expect(first.cause).toMatch(
      /^1 of \d+ items failed; what succeeded was published\. chunk 1: RawObjectError \(object is not gzip\)/,
    );
    expect(await ids(lake)).toEqual(['1', '2', '4'].map(cwlId));
    expect(Object.keys(await readProcessed(lake.store, 'dt=2025-01-03/hour=10'))).toEqual([keys[2]]);
    expect(await readWatermark(lake.store)).toBeUndefined();
    expect((await readLeaseRecord(lake.store))?.released).toBe(true);

    const second = await runLocalWorkflow(SCHEDULED, { deps: lake.deps });
    expect(second.status).toBe('SUCCEEDED');
    expect(summaryOf(second)).toMatchObject({ objects: 1, rowsOut: 1, duplicatesRemoved: 1 });
    expect(await ids(lake)).toEqual(['1', '2', '3', '4'].map(cwlId));
  });

  // F6 and F8: a schedule, a duplicate trigger and a backfill at once; one lease, one publish.
  it('lets exactly one of overlapping runs publish; the others skip or fail on the lease', async () => {
    lake = makeTestLake(NOW);
    await seedWindow(lake);
    const published: string[] = [];
    const options = (): LocalRunOptions => ({
      deps: lake.deps,
      wrapTask: (state, h) =>
        state === 'PublishPartitions'
          ? async (i) => {
              published.push(i.Payload.lease.holder);
              return h(i);
            }
          : h,
    });
    const runs = await Promise.all([
      runLocalWorkflow(SCHEDULED, { ...options(), executionName: 'sched-a' }),
      runLocalWorkflow(SCHEDULED, { ...options(), executionName: 'sched-a-duplicate' }),
      runLocalWorkflow(
        { from: '2025-01-03T09:00:00Z', to: '2025-01-03T11:00:00Z' },
        { ...options(), executionName: 'backfill' },
      ),
    ]);
    expect(published).toHaveLength(1);
    for (const r of runs) {
      const skipped =
        r.status === 'SUCCEEDED' && (r.output as { summary?: { status: string } }).summary?.status === 'skipped';
      const didNothing = r.status === 'SUCCEEDED' && summaryOf(r).objects === 0;
      const publisher = published[0] === r.executionName;
      const refused = r.status === 'FAILED' && r.error === 'LeaseHeldError';
      expect([skipped, didNothing, publisher, refused].filter(Boolean), r.executionName).toHaveLength(1);
    }
    expect(await ids(lake)).toEqual(['1', '2', '3', '4'].map(cwlId));
  });

  // F7 through the workflow: the lease is taken over while this run merges; it must not publish.
  it('stops a run whose lease was taken over before it publishes', async () => {
    lake = makeTestLake(NOW);
    await seedWindow(lake);
    const run = await runLocalWorkflow(SCHEDULED, {
      deps: lake.deps,
      executionName: 'stalled',
      wrapTask: (state, h) =>
        state === 'PlanMerge'
          ? async (i) => {
              const out = await h(i);
              lake.clock.advance((lake.deps.config.leaseTtlSeconds + 1) * 1000);
              await acquireLease({ store: lake.store, clock: lake.clock, ttlMs: 60_000 }, 'newer-run');
              return out;
            }
          : h,
    });
    expect(run).toMatchObject({ status: 'FAILED', error: 'LeaseLostError', failedState: 'LeaseLost' });
    expect(await lake.catalog.listPartitions('audit_events')).toEqual([]);
    expect((await readLeaseRecord(lake.store))?.holder).toBe('newer-run');
  });

  it('backfills across a day boundary through child executions, reporting progress per child', async () => {
    lake = makeTestLake(NOW, { childRangeHours: 2 });
    await putRawObject(lake, '2025-01-02T23:30:00Z', [{ id: '10', time: '2025-01-02T23:29:00Z' }]);
    await putRawObject(lake, '2025-01-03T00:10:00Z', [
      { id: '11', time: '2025-01-03T00:09:00Z' },
      { id: '12', time: '2025-01-02T23:59:59.999Z' },
    ]);
    const progress: WorkflowProgress[] = [];
    const run = await runLocalWorkflow(
      { from: '2025-01-02T22:00:00Z', to: '2025-01-03T02:00:00Z' },
      { deps: lake.deps, onProgress: (p) => progress.push(p) },
    );
    expect(run.status).toBe('SUCCEEDED');
    expect(summaryOf(run)).toMatchObject({ mode: 'backfill', hours: 4, objects: 2, rowsOut: 3, failedItems: 0 });
    expect(run.events.filter((e) => e.type === 'StateExited' && e.state === 'StartChildExecution')).toHaveLength(2);
    expect(progress.map((p) => [p.hoursDone, p.hoursTotal, p.rows])).toEqual([
      [2, 4, 1],
      [4, 4, 3],
    ]);
    const parts = await lake.catalog.listPartitions('audit_events');
    expect(parts.map((p) => `${p.values[2]}/${p.values[3]}`)).toEqual(['2025-01-02/23', '2025-01-03/00']);
    expect(await ids(lake)).toEqual(['10', '11', '12'].map(cwlId));
    // A backfill never moves the freshness watermark.
    expect(await readWatermark(lake.store)).toBeUndefined();
  });

  it('finishes the other children of a backfill when one fails, then fails the parent naming the range', async () => {
    lake = makeTestLake(NOW, { childRangeHours: 1 });
    const bad = await putRawObject(lake, '2025-01-03T07:10:00Z', [{ id: '30', time: '2025-01-03T07:09:00Z' }]);
    await putRawObject(lake, '2025-01-03T08:10:00Z', [{ id: '31', time: '2025-01-03T08:09:00Z' }]);
    let childAttempts = 0;
    const run = await runLocalWorkflow(
      { from: '2025-01-03T07:00:00Z', to: '2025-01-03T09:00:00Z' },
      {
        deps: lake.deps,
        wrapTask: (state, h) => {
          if (state === 'StartChildExecution') {
            return async (i) => {
              if (i.Input.from === '2025-01-03T07:00:00.000Z') childAttempts++;
              return h(i);
            };
          }
          if (state !== 'PlanWindow') return h;
          return async (i) => {
            const out = (await h(i)) as { Payload: { objects: number } };
            const hours = i.Payload.window.arrivalHours as string[];
            if (hours.includes('dt=2025-01-03/hour=07')) throw new RetryableError(`S3 keeps failing for ${bad}`);
            return out;
          };
        },
      },
    );
    expect(run).toMatchObject({ status: 'FAILED', error: 'ItemsFailedError' });
    expect(run.cause).toMatch(
      /^1 of 2 items failed; what succeeded was published\. range 2025-01-03T07:00:00.000Z\.\.2025-01-03T08:00:00.000Z: States\.TaskFailed/,
    );
    // The failed child was retried once (Retry on States.TaskFailed), then recorded.
    expect(childAttempts).toBe(2);
    expect(await ids(lake)).toEqual([cwlId('31')]);
  });

  // F5: the same window three times; nothing changes after the first.
  it('changes nothing when the same window runs again and again', async () => {
    lake = makeTestLake(NOW);
    await seedWindow(lake);
    const first = await runLocalWorkflow(SCHEDULED, { deps: lake.deps });
    const catalog = await catalogSnapshot(lake);
    const rows = await publishedRows(lake, 'audit_events');
    for (const _ of [2, 3]) {
      const again = await runLocalWorkflow(SCHEDULED, { deps: lake.deps });
      expect(again.status).toBe('SUCCEEDED');
      expect(summaryOf(again)).toMatchObject({ objects: 0, rowsOut: 0, partitions: 0 });
      expect(await catalogSnapshot(lake)).toEqual(catalog);
      expect(await publishedRows(lake, 'audit_events')).toEqual(rows);
    }
    expect(summaryOf(first).rowsOut).toBe(4);
  });

  it('loops RunAthenaSteps in bounded batches until every touched hour has its rollup', async () => {
    lake = makeTestLake(NOW, { athenaStatementsPerInvocation: 1 });
    await seedWindow(lake);
    const run = await runLocalWorkflow(SCHEDULED, { deps: lake.deps });
    expect(run.status).toBe('SUCCEEDED');
    expect(statesEntered(run).filter((s) => s === 'RunAthenaSteps')).toHaveLength(2);
    expect(lake.engine.calls.filter((c) => c.name === 'create-audit-hourly-summary')).toHaveLength(2);
    const rollups = await lake.catalog.listPartitions('audit_hourly_summary');
    expect(rollups.map((p) => p.values[3])).toEqual(['09', '10']);
    // Each invocation wrote its own generation, so a retried UNLOAD never meets a non-empty target.
    expect(new Set(rollups.map((p) => p.location.split('gen=')[1])).size).toBe(2);
  });

  it('never publishes a merge computed against an older catalog state when a later run plans the same objects', async () => {
    lake = makeTestLake(NOW);
    await putRawObject(lake, '2025-01-03T09:58:00Z', [{ id: '20', time: '2025-01-03T09:57:00Z' }]);
    const failPublish: LocalRunOptions['wrapTask'] = (state, h) =>
      state === 'PublishPartitions'
        ? async () => {
            const e = new Error('glue unavailable');
            e.name = 'AccessDeniedException';
            throw e;
          }
        : h;
    const a = await runLocalWorkflow(SCHEDULED, { deps: lake.deps, wrapTask: failPublish });
    expect(a.failedState).toBe('PublishPartitions');

    // A late event for the same hour arrives and a backfill of its arrival hour publishes it.
    await putRawObject(lake, '2025-01-03T10:25:00Z', [{ id: '21', time: '2025-01-03T09:57:30Z' }]);
    lake.clock.advance(60 * 60 * 1000);
    const c = await runLocalWorkflow({ from: '2025-01-03T10:00:00Z', to: '2025-01-03T11:00:00Z' }, { deps: lake.deps });
    expect(summaryOf(c)).toMatchObject({ objects: 1, rowsOut: 1 });

    // The same scheduled window again plans exactly what the failed run planned (same planId).
    const b = await runLocalWorkflow(SCHEDULED, { deps: lake.deps });
    expect(await ids(lake)).toEqual(['20', '21'].map(cwlId));
    const planOfA: string[] = [];
    for await (const o of lake.store.list(`control/runs/${a.executionName}/`)) planOfA.push(o.key.split('/')[3]!);
    expect(summaryOf(b)).toMatchObject({ planId: planOfA[0], objects: 1 });
  });

  it('deletes run files of executions older than the redrive window, keeping recent ones', async () => {
    lake = makeTestLake(NOW);
    await seedWindow(lake);
    const old = await runLocalWorkflow(SCHEDULED, { deps: lake.deps, executionName: 'old-run' });
    expect(old.status).toBe('SUCCEEDED');
    const runFiles = async (execution: string) => {
      const keys: string[] = [];
      for await (const o of lake.store.list(`control/runs/${execution}/`)) keys.push(o.key);
      return keys;
    };
    // The folder store dates objects by file time; put the run's files at the test clock's time.
    for (const key of await runFiles('old-run')) utimesSync(join(lake.dir, key), new Date(NOW), new Date(NOW));
    lake.clock.advance(14 * 24 * 3600_000);
    await runLocalWorkflow(
      { scheduledTime: '2025-01-17T10:15:00Z' },
      { deps: lake.deps, executionName: 'two-weeks-later' },
    );
    expect((await runFiles('old-run')).length).toBeGreaterThan(0);
    lake.clock.advance(2 * 24 * 3600_000);
    await runLocalWorkflow(
      { scheduledTime: '2025-01-19T10:15:00Z' },
      { deps: lake.deps, executionName: 'sixteen-days-later' },
    );
    expect(await runFiles('old-run')).toEqual([]);
    expect((await runFiles('sixteen-days-later')).length).toBeGreaterThan(0);
  });

  // F26: a redrive resumes at the failed state; finished steps are not run again.
  it('redrives a failed execution from the failed state without redoing finished work', async () => {
    lake = makeTestLake(NOW);
    await seedWindow(lake);
    let down = true;
    const options: LocalRunOptions = {
      deps: lake.deps,
      wrapTask: (state, h) =>
        state === 'PublishPartitions'
          ? async (i) => {
              if (down) {
                const e = new Error('AccessDeniedException: glue:BatchCreatePartition');
                e.name = 'AccessDeniedException';
                throw e;
              }
              return h(i);
            }
          : h,
    };
    const failed = await runLocalWorkflow(SCHEDULED, options);
    expect(failed).toMatchObject({
      status: 'FAILED',
      error: 'AccessDeniedException',
      failedState: 'PublishPartitions',
    });
    expect(await lake.catalog.listPartitions('audit_events')).toEqual([]);

    down = false;
    const redriven = await redriveLocalWorkflow(failed, options);
    expect(redriven.status).toBe('SUCCEEDED');
    expect(statesEntered(redriven)[0]).toBe('PublishPartitions');
    for (const done of ['AcquireLease', 'PlanWindow', 'StageObjects', 'MergePartition']) {
      expect(statesEntered(redriven)).not.toContain(done);
    }
    expect(await ids(lake)).toEqual(['1', '2', '3', '4'].map(cwlId));
    expect(summaryOf(redriven)).toMatchObject({ objects: 3, rowsOut: 4, failedItems: 0 });
  });
});
