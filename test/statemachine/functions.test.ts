import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEmfMetrics, createMemoryMetrics, METRICS_NAMESPACE } from '../../functions/shared/metrics.ts';
import { readWorkflowConfig, WORKFLOW_ENV } from '../../functions/shared/workflow-config.ts';
import { LAMBDA_TASKS } from '../../src/adapters/local/local-workflow-runner.ts';
import { ConfigError, InvalidInputError } from '../../src/core/errors.ts';
import { functionFileOf, REQUIRED_SUBSTITUTIONS } from '../../src/core/workflow/load-definition.ts';
import { WATERMARK_LAG_METRIC } from '../../src/pipeline/ledger.ts';
import { COMPACTION_METRICS, DEFAULT_WORKFLOW_CONFIG } from '../../src/pipeline/workflow-tasks.ts';
import { makeTestLake, putRawObject, type TestLake } from './helpers/test-lake.ts';

let lake: TestLake;
afterEach(() => lake?.cleanup());

const ROOT = resolve(__dirname, '../..');

describe('workflow Lambda entries', () => {
  it('has one functions/<kebab>.ts per Task, each exporting makeHandler and handler', async () => {
    // The Firehose transform and the member stack's custom resource are entries outside the workflow.
    const outside = ['transform.ts', 'member-guard.ts'];
    const files = readdirSync(resolve(ROOT, 'functions')).filter((f) => f.endsWith('.ts') && !outside.includes(f));
    expect(files.map((f) => `functions/${f}`).sort()).toEqual(REQUIRED_SUBSTITUTIONS.map(functionFileOf).sort());
    for (const f of files) {
      const mod = await import(resolve(ROOT, 'functions', f));
      expect(typeof mod.makeHandler, f).toBe('function');
      expect(typeof mod.handler, f).toBe('function');
    }
    expect(Object.keys(LAMBDA_TASKS)).toHaveLength(REQUIRED_SUBSTITUTIONS.length);
  });

  it('answers a Task payload through makeHandler with local deps (validate-input)', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    const { makeHandler } = await import('../../functions/validate-input.ts');
    const handle = makeHandler(lake.deps);
    await expect(
      handle({ input: { scheduledTime: '2025-01-03T10:15:00Z' }, executionName: 'e-1' }),
    ).resolves.toMatchObject({
      window: { mode: 'scheduled', end: '2025-01-03T10:15:00.000Z' },
      holder: 'e-1',
    });
    await expect(handle({ input: { from: 'yesterday', to: 'today' }, executionName: 'e-2' })).rejects.toThrow(
      InvalidInputError,
    );
  });

  it('fails at cold start with a ConfigError naming the variable when AWS settings are missing', async () => {
    const { createAwsWorkflowDeps } = await import('../../functions/shared/workflow-aws.ts');
    expect(() => createAwsWorkflowDeps({ AWS_REGION: 'eu-west-1' }, 'plan-window')).toThrow(/LAKE_BUCKET is required/);
  });
});

describe('plan-window', () => {
  it('counts raw keys that are not Firehose output as IgnoredRawKeys and plans only the Firehose object (rows 35, 36)', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    const metrics = createMemoryMetrics();
    const deps = { ...lake.deps, metrics };
    const good = await putRawObject(lake, '2025-01-03T10:02:00Z', [{ id: '1', time: '2025-01-03T10:01:00Z' }]);
    const hourDir = good.slice(0, good.lastIndexOf('/') + 1);
    const strays = [`${hourDir}processing-failed/eks-logs-1-2025-01-03-10-03-00-abc`, `${hourDir}notes.txt`];
    for (const k of strays) await lake.store.put(k, '{"errorCode":"Lambda.FunctionError","rawData":"e30="}');

    const validate = (await import('../../functions/validate-input.ts')).makeHandler(deps);
    const acquire = (await import('../../functions/acquire-lease.ts')).makeHandler(deps);
    const plan = (await import('../../functions/plan-window.ts')).makeHandler(deps);
    const { window, holder } = await validate({
      input: { scheduledTime: '2025-01-03T10:15:00Z' },
      executionName: 'e-1',
    });
    const lease = await acquire({ holder });
    await expect(plan({ window, lease })).resolves.toMatchObject({ objects: 1 });
    expect(metrics.get(COMPACTION_METRICS.ignoredRawKeys.metricName)).toBe(strays.length);
  });

  it('reports zero IgnoredRawKeys when raw/ holds only Firehose output', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    const metrics = createMemoryMetrics();
    const deps = { ...lake.deps, metrics };
    await putRawObject(lake, '2025-01-03T10:02:00Z', [{ id: '1', time: '2025-01-03T10:01:00Z' }]);
    const { window, holder } = await (await import('../../functions/validate-input.ts')).makeHandler(deps)({
      input: { scheduledTime: '2025-01-03T10:15:00Z' },
      executionName: 'e-1',
    });
    const lease = await (await import('../../functions/acquire-lease.ts')).makeHandler(deps)({ holder });
    await (await import('../../functions/plan-window.ts')).makeHandler(deps)({ window, lease });
    expect(metrics.totals.has(COMPACTION_METRICS.ignoredRawKeys.metricName)).toBe(true);
    expect(metrics.get(COMPACTION_METRICS.ignoredRawKeys.metricName)).toBe(0);
  });
});

describe('workflow EMF metrics', () => {
  it('writes the watermark lag as one EMF line under the namespace and service dimension the alarm reads', () => {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      const metrics = createEmfMetrics(WATERMARK_LAG_METRIC.service);
      metrics.flush(); // nothing stored: nothing written
      metrics.gauge(WATERMARK_LAG_METRIC.metricName, 420, WATERMARK_LAG_METRIC.unit);
      metrics.flush();
    } finally {
      spy.mockRestore();
    }
    expect(lines).toHaveLength(1);
    const emf = JSON.parse(lines[0]!);
    expect(emf._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: METRICS_NAMESPACE,
        Dimensions: [['service']],
        Metrics: [{ Name: 'watermark_lag_seconds', Unit: 'Seconds' }],
      },
    ]);
    expect(emf).toMatchObject({ service: 'write-ledger', watermark_lag_seconds: 420 });
  });
});

describe('compaction EMF metrics in Lambda', () => {
  const captureStdout = (run: () => Promise<void> | void) => async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      await run();
    } finally {
      spy.mockRestore();
    }
    return lines.filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l));
  };

  it('emits the compaction counters through the Lambda composition root, under the service the alarms read', async () => {
    const { createAwsWorkflowDeps } = await import('../../functions/shared/workflow-aws.ts');
    const { service, metricName } = COMPACTION_METRICS.publishedPartitions;
    const emf = await captureStdout(async () => {
      const deps = createAwsWorkflowDeps(
        { AWS_REGION: 'eu-west-1', LAKE_BUCKET: 'lake', GLUE_DATABASE: 'eks_logs' },
        service,
      );
      // Nothing merged: no catalog call, yet publish reports its (zero) count.
      await deps.compaction.publishPartitions({ planId: 'p-1', merged: [], fence: async () => {} });
      deps.metrics.flush();
    })();
    expect(emf).toHaveLength(1);
    expect(emf[0]._aws.CloudWatchMetrics).toEqual([
      { Namespace: METRICS_NAMESPACE, Dimensions: [['service']], Metrics: [{ Name: metricName, Unit: 'Count' }] },
    ]);
    expect(emf[0]).toMatchObject({ service, [metricName]: 0 });
  });

  it('keeps only the service and table dimensions, so a quarantine reason adds no custom metric', async () => {
    const emf = await captureStdout(() => {
      const metrics = createEmfMetrics(COMPACTION_METRICS.quarantinedObjects.service);
      metrics.count(COMPACTION_METRICS.quarantinedObjects.metricName, 1, { reason: 'not_gzip', cluster: 'prod' });
      metrics.count('RowsWritten', 5, { table: 'audit_events', account: '111122223333' });
      metrics.flush();
    })();
    const sets = emf.flatMap((e) => e._aws.CloudWatchMetrics.map((m: { Dimensions: string[][] }) => m.Dimensions));
    expect(sets.sort()).toEqual([[['service']], [['service', 'table']]].sort());
    for (const e of emf) {
      expect(e).not.toHaveProperty('reason');
      expect(e).not.toHaveProperty('cluster');
      expect(e).not.toHaveProperty('account');
    }
    expect(emf.find((e) => 'table' in e)).toMatchObject({ table: 'audit_events', RowsWritten: 5 });
    expect(emf.find((e) => !('table' in e))).toMatchObject({ QuarantinedObjects: 1, service: 'stage-objects' });
  });
});

describe('readWorkflowConfig', () => {
  it.each([
    [{ MAX_CATCH_UP_HOURS: '121' }, 'MAX_CATCH_UP_HOURS must be an integer between 1 and 120, got 121'],
    [
      { MAX_CATCH_UP_HOURS: '2', LEASE_TTL_SECONDS: '7200' },
      'MAX_CATCH_UP_HOURS must be at least 3 (the lease TTL of 7200 s plus an hour), got 2',
    ],
  ])('says why a catch-up bound is refused: %j', (env, message) => {
    expect(() => readWorkflowConfig(env)).toThrow(message);
  });

  it('uses the documented defaults when nothing is set', () => {
    expect(readWorkflowConfig({})).toEqual(DEFAULT_WORKFLOW_CONFIG);
  });

  it('reads every setting from its variable', () => {
    const c = readWorkflowConfig({
      LATE_HORIZON_HOURS: '24',
      MAX_BACKFILL_DAYS: '30',
      LEASE_TTL_SECONDS: '600',
      GC_GRACE_HOURS: '6',
      [WORKFLOW_ENV.CHILD_RANGE_HOURS]: '12',
      [WORKFLOW_ENV.MAX_CHUNK_BYTES]: '1048576',
      [WORKFLOW_ENV.MAX_CHUNK_OBJECTS]: '50',
      [WORKFLOW_ENV.MERGE_GROUP_SIZE]: '10',
      [WORKFLOW_ENV.ATHENA_STATEMENTS_PER_INVOCATION]: '100',
      [WORKFLOW_ENV.ATHENA_CONCURRENCY]: '4',
      POISON_AFTER_FAILED_RUNS: '5',
      MAX_CATCH_UP_HOURS: '48',
    });
    expect(c).toEqual({
      lateHorizonHours: 24,
      maxBackfillDays: 30,
      leaseTtlSeconds: 600,
      gcGraceHours: 6,
      childRangeHours: 12,
      maxChunkBytes: 1048576,
      maxChunkObjects: 50,
      mergeGroupSize: 10,
      athenaStatementsPerInvocation: 100,
      athenaConcurrency: 4,
      poisonAfterFailedRuns: 5,
      maxCatchUpHours: 48,
    });
  });

  it.each([
    ['MAX_BACKFILL_DAYS', '-1'],
    ['LEASE_TTL_SECONDS', 'ten'],
    [WORKFLOW_ENV.MERGE_GROUP_SIZE, '0'],
    ['POISON_AFTER_FAILED_RUNS', '0'],
    ['POISON_AFTER_FAILED_RUNS', '2.5'],
    ['MAX_CATCH_UP_HOURS', '0'],
    ['MAX_CATCH_UP_HOURS', '121'],
    ['MAX_CATCH_UP_HOURS', '1'],
  ])('rejects %s=%s with a ConfigError', (name, value) => {
    expect(() => readWorkflowConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => readWorkflowConfig({ [name]: value })).toThrow(name);
  });
});
