import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryMetrics } from '../../functions/shared/metrics.ts';
import { createLocalWorkflowDeps } from '../../src/adapters/local/local-workflow-deps.ts';
import { runLocalWorkflow } from '../../src/adapters/local/local-workflow-runner.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { readLeaseRecord } from '../../src/pipeline/lease.ts';
import { advanceWatermark } from '../../src/pipeline/ledger.ts';
import { COMPACTION_METRICS, type RunSummary } from '../../src/pipeline/workflow-tasks.ts';
import {
  cwlId,
  makeTestLake,
  publishedRows,
  putRawObject,
  RecordingEngine,
  type TestLake,
} from './helpers/test-lake.ts';

let lake: TestLake;
afterEach(() => lake?.cleanup());

describe('createLocalWorkflowDeps', () => {
  it.each([
    ['the default 96', {}, null],
    [
      '48 from its config',
      { maxCatchUpHours: 48 },
      { from: '2025-01-01T03:00:00.000Z', to: '2025-01-03T11:00:00.000Z' },
    ],
  ] as const)(
    'catches up a watermark 2 days behind by the bound of its config: %s hours',
    async (_, config, backfill) => {
      lake = makeTestLake('2025-01-03T10:20:00Z', config);
      await advanceWatermark(lake.store, {
        completeThrough: '2025-01-01T09:00:00.000Z',
        updatedAt: '2025-01-01T10:01:00.000Z',
        executionName: 'scheduled-earlier',
        planId: 'p',
      });
      const run = await runLocalWorkflow({ scheduledTime: '2025-01-03T10:15:00Z' }, { deps: lake.deps });
      expect((run.output as RunSummary).backfillRequired).toEqual(backfill);
    },
  );

  it.each([
    [{ maxCatchUpHours: 500 }, 'workflow config maxCatchUpHours must be an integer between 1 and 120, got 500'],
    [
      { maxCatchUpHours: 3, leaseTtlSeconds: 14_400 },
      'workflow config maxCatchUpHours must be at least 5 (the lease TTL of 14400 s plus an hour), got 3',
    ],
  ])('refuses a catch-up bound the AWS configuration would refuse: %j', (config, message) => {
    const open = () =>
      createLocalWorkflowDeps({ store: lake.store, catalog: lake.catalog, engine: new RecordingEngine(), config });
    lake = makeTestLake('2025-01-03T10:20:00Z');
    expect(open).toThrow(ConfigError);
    expect(open).toThrow(message);
  });

  it('runs the workflow over a store, catalog and query engine the caller opened', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    await putRawObject(lake, '2025-01-03T10:05:00Z', [
      { id: '1', time: '2025-01-03T10:01:00Z' },
      { id: '2', time: '2025-01-03T10:02:00Z' },
    ]);
    const engine = new RecordingEngine();
    const deps = createLocalWorkflowDeps({
      store: lake.store,
      catalog: lake.catalog,
      engine,
      clock: lake.clock,
      registerRawPartitions: true,
    });

    const run = await runLocalWorkflow({ scheduledTime: '2025-01-03T10:15:00Z' }, { deps });

    expect(run.status).toBe('SUCCEEDED');
    expect((await publishedRows(lake, 'audit_events')).map((r) => r.event_id)).toEqual([cwlId('1'), cwlId('2')]);
    // The given engine ran the Athena steps: the raw partition of the arrival hour, then the rollup.
    expect(engine.calls.map((c) => c.name)).toEqual(['add-raw-partitions', 'create-audit-hourly-summary']);
    expect(engine.calls[0]!.params).toEqual({ dt: '2025-01-03', hour: '10' });
    expect(await readLeaseRecord(lake.store)).toMatchObject({ released: true });
  });

  it('hands its Metrics port to the compaction steps, which count quarantined objects and published partitions', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    await lake.store.put(
      'raw/log_type=kube-apiserver-audit/dt=2025-01-03/hour=10/eks-logs-1-bad.gz',
      Buffer.from('not gzip'),
    );
    const metrics = createMemoryMetrics();
    const deps = createLocalWorkflowDeps({ lakeDir: lake.dir, clock: lake.clock, metrics });
    try {
      await deps.compaction.stageObjects({
        planId: 'p-1',
        chunkId: 'c00000',
        keys: ['raw/log_type=kube-apiserver-audit/dt=2025-01-03/hour=10/eks-logs-1-bad.gz'],
      });
      await deps.compaction.publishPartitions({ planId: 'p-1', merged: [], fence: async () => {} });
    } finally {
      await deps.close();
    }
    expect(metrics.get(COMPACTION_METRICS.quarantinedObjects.metricName)).toBe(1);
    expect(metrics.totals.has(COMPACTION_METRICS.publishedPartitions.metricName)).toBe(true);
  });

  it('gives compaction the late horizon of its config, so the planner and the quarantine agree', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z', { lateHorizonHours: 6 });
    const key = await putRawObject(lake, '2025-01-03T10:05:00Z', [
      { id: '1', time: '2025-01-03T04:10:00Z' }, // 5 h 55 min before arrival: inside the horizon
      { id: '2', time: '2025-01-03T03:50:00Z' }, // 6 h 15 min before arrival: outside it
    ]);
    const staged = await lake.compaction.stageObjects({ planId: 'p-1', chunkId: 'c00000', keys: [key] });
    expect(staged).toMatchObject({ events: 2, quarantined: 1 });
  });

  it('composes the same over a lake folder, with DuckDB it closes itself', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    await putRawObject(lake, '2025-01-03T10:05:00Z', [{ id: '7', time: '2025-01-03T10:01:00Z' }]);
    const deps = createLocalWorkflowDeps({ lakeDir: lake.dir, clock: lake.clock });
    try {
      const run = await runLocalWorkflow({ scheduledTime: '2025-01-03T10:15:00Z' }, { deps });
      expect(run.status).toBe('SUCCEEDED');
    } finally {
      await deps.close();
    }
    expect((await publishedRows(lake, 'audit_events')).map((r) => r.event_id)).toEqual([cwlId('7')]);
  });
});
