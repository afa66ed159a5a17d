import { utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryMetrics } from '../../functions/shared/metrics.ts';
import { DuckDbQueryEngine } from '../../src/adapters/local/duckdb-query-engine.ts';
import { LocalCatalog } from '../../src/adapters/local/local-catalog.ts';
import {
  type LocalRunOptions,
  redriveLocalWorkflow,
  runLocalWorkflow,
} from '../../src/adapters/local/local-workflow-runner.ts';
import { MemoryObjectStore } from '../../src/adapters/local/memory-object-store.ts';
import { formatSummary } from '../../src/cli/commands/run.ts';
import { MANIFEST_NAME } from '../../src/core/compact/index.ts';
import { QueryFailedError, RetryableError, ScanLimitExceededError } from '../../src/core/errors.ts';
import type { KnownLogType } from '../../src/core/types.ts';
import { compactObjects, publishPartitions } from '../../src/pipeline/compact.ts';
import { collectGarbage } from '../../src/pipeline/gc.ts';
import {
  advanceWatermark,
  readAttempts,
  readOwedAthenaWork,
  readProcessed,
  readWatermark,
} from '../../src/pipeline/ledger.ts';
import { athenaStepsOver } from '../../src/pipeline/workflow-athena.ts';
import { type AthenaSteps, compactionStepsOver, type RunSummary } from '../../src/pipeline/workflow-tasks.ts';
import type { Log, QueryEngine } from '../../src/ports.ts';
import { awsError, enospcError, FaultyObjectStore } from '../helpers/faults.ts';
import {
  cwlId,
  makeTestLake,
  observeRun,
  publishedRows,
  putRawObject,
  type TestLake,
} from '../statemachine/helpers/test-lake.ts';
import { ALL_TYPES, gzipObject, message, rawKey, rawLines, sampleEvents } from '../unit/compact/raw-fixtures.ts';
import { compactionDeps, keysUnder, planIdOf, QUIET, publishedRows as readPublished } from './pipeline.ts';

// Faults F1–F29 of the reliability matrix that no other suite injects: each run asserts no loss,
// no duplicate and a clear error. The rest are mapped to their tests in docs/reliability.md.

const HOUR = 3600_000;
const T0 = Date.UTC(2026, 10, 27, 1, 0, 0);
const NOW = T0 + 3 * HOUR;
/** When the seeded lake's store stamps every write (its injected clock). */
const STORED_AT = T0 + HOUR;

function linesOf(types: readonly KnownLogType[], startMs: number, n: number, seq0 = 0): string[] {
  return types.flatMap((t) => rawLines(message(t, sampleEvents(t, startMs, n, seq0))));
}

/** A lake with three raw objects (120 events over every stream type), one published run as reference. */
async function seeded() {
  const store = new MemoryObjectStore(() => new Date(STORED_AT));
  const keys: string[] = [];
  for (let i = 0; i < 3; i++) {
    const key = rawKey('kube-apiserver-audit', T0 + HOUR, `eks-log-lake-raw-1-obj${i}`);
    await store.put(key, gzipObject(linesOf(ALL_TYPES, T0 + i * 600_000, 5, i * 100), 2));
    keys.push(key);
  }
  return { store, catalog: new LocalCatalog(store), keys };
}

let reference: string[] | undefined;
async function referenceRows(): Promise<string[]> {
  if (!reference) {
    const s = await seeded();
    await compactObjects(deps(s.store, s.catalog), { planId: await planIdOf(s.store, s.keys), keys: s.keys });
    reference = await readPublished(s.store, s.catalog);
    expect(reference).toHaveLength(3 * 5 * ALL_TYPES.length);
  }
  return reference;
}

function deps(store: MemoryObjectStore | FaultyObjectStore, catalog: LocalCatalog, nowMs = NOW) {
  return compactionDeps(store, catalog, nowMs);
}

/** Sets the file time of every object in a folder-store lake to `at`. */
async function stampLake(lake: TestLake, at: Date): Promise<void> {
  for await (const o of lake.store.list('')) utimesSync(join(lake.dir, o.key), at, at);
}

/**
 * The test lake's workflow with rollups built by DuckDB (so their rows can be compared) and the
 * Athena-only raw-partition DDL recorded; `fail` makes every rollup statement (and with `raw`, the
 * raw-partition DDL) throw until cleared.
 */
function withDuckDbRollups(lake: TestLake) {
  const duck = new DuckDbQueryEngine({ lakeDir: lake.dir, catalog: lake.catalog });
  const rawHours: string[] = [];
  let failure: (() => Error) | undefined;
  let failRaw = false;
  const engine: QueryEngine = {
    async runNamed(name, params) {
      if (name !== 'add-raw-partitions') return duck.runNamed(name, params);
      if (failure && failRaw) throw failure();
      rawHours.push(`dt=${params.dt}/hour=${params.hour}`);
      return [];
    },
    runSql: (sql) => duck.runSql(sql),
  };
  const steps = athenaStepsOver({
    engine,
    catalog: lake.catalog,
    registerRawPartitions: true,
    store: lake.store,
    clock: lake.deps.clock,
  });
  const athena: AthenaSteps = {
    ...steps,
    async buildRollup(input) {
      if (failure) throw failure();
      return steps.buildRollup(input);
    },
  };
  return {
    deps: { ...lake.deps, athena },
    rawHours,
    fail(error: (() => Error) | undefined, options: { raw?: boolean } = {}) {
      failure = error;
      failRaw = options.raw ?? false;
    },
    rollupRows: () => duck.runSql('SELECT * FROM audit_hourly_summary ORDER BY ALL'),
    close: () => duck.close(),
  };
}

/** The test lake's workflow deps with compaction reading through `store` (a fault wrapper). */
function withCompactionStore(lake: TestLake, store: FaultyObjectStore) {
  return {
    ...lake.deps,
    compaction: compactionStepsOver({
      store,
      catalog: lake.catalog,
      log: QUIET,
      now: () => lake.clock.now(),
      lateHorizonHours: lake.deps.config.lateHorizonHours,
    }),
  };
}

describe('faults injected into compaction', () => {
  it('F9: a GetObject stream cut mid-object fails the unit with a retryable error, publishes nothing, and the retry loses nothing', async () => {
    const s = await seeded();
    const faulty = new FaultyObjectStore(s.store);
    const cut = faulty.failOn({
      op: 'getStream',
      match: s.keys[1],
      cutAfterBytes: 100,
      error: () => new RetryableError('GetObject body ended early after every attempt'),
    });
    const catalog = new LocalCatalog(faulty);
    const planId = await planIdOf(s.store, s.keys);
    await expect(compactObjects(deps(faulty, catalog), { planId, keys: s.keys })).rejects.toThrow(RetryableError);
    expect(cut.fired).toBe(1);
    expect(await s.catalog.listPartitions('audit_events')).toEqual([]);
    await compactObjects(deps(faulty, catalog), { planId, keys: s.keys });
    expect(await readPublished(s.store, s.catalog)).toEqual(await referenceRows());
  });

  it('F11: two writers of the same plan write byte-identical files and manifests; the rows are published once', async () => {
    const s = await seeded();
    const planId = await planIdOf(s.store, s.keys);
    const [a, b] = await Promise.all([
      compactObjects(deps(s.store, s.catalog), { planId, keys: s.keys }),
      compactObjects(deps(s.store, new LocalCatalog(s.store)), { planId, keys: s.keys }),
    ]);
    expect(a.rows).toEqual(b.rows);
    expect(await readPublished(s.store, s.catalog)).toEqual(await referenceRows());

    // The same plan in another lake yields the same bytes, so a second writer's put of a
    // generation file or manifest can only ever write what is already there.
    const other = await seeded();
    await compactObjects(deps(other.store, other.catalog), { planId, keys: other.keys });
    const generation = await keysUnder(s.store, 'curated/');
    expect(generation.some((k) => k.endsWith(MANIFEST_NAME))).toBe(true);
    expect(await keysUnder(other.store, 'curated/')).toEqual(generation);
    for (const k of generation) expect((await other.store.head(k))!.etag, k).toBe((await s.store.head(k))!.etag);
  });

  it.each([
    ['behind', -2 * HOUR],
    ['ahead', 2 * HOUR],
  ])('F25: a worker clock 2 h %s puts every event in the same partitions', async (_, skew) => {
    const s = await seeded();
    await compactObjects(deps(s.store, s.catalog, NOW + skew), {
      planId: await planIdOf(s.store, s.keys),
      keys: s.keys,
    });
    expect(await readPublished(s.store, s.catalog)).toEqual(await referenceRows());
  });

  it('F27: KMS AccessDenied on decrypt fails the unit loudly with the AWS error, publishes nothing, and is not swallowed', async () => {
    const s = await seeded();
    const faulty = new FaultyObjectStore(s.store);
    faulty.failOn({
      op: 'getStream',
      match: s.keys[2],
      times: Number.POSITIVE_INFINITY,
      error: () =>
        awsError('AccessDenied', 403, 'User is not authorized to perform kms:Decrypt on the key of this object'),
    });
    const catalog = new LocalCatalog(faulty);
    const run = compactObjects(deps(faulty, catalog), { planId: await planIdOf(s.store, s.keys), keys: s.keys });
    await expect(run).rejects.toMatchObject({ name: 'AccessDenied', message: expect.stringMatching(/kms:Decrypt/) });
    expect(await s.catalog.listPartitions('audit_events')).toEqual([]);
    expect(await keysUnder(s.store, 'curated/')).toEqual([]);
  });

  it('F28: ENOSPC while staging fails the unit cleanly; the retry publishes every row once and GC removes the staging', async () => {
    const s = await seeded();
    const faulty = new FaultyObjectStore(s.store);
    faulty.failOn({ op: 'put', match: /^control\/staging\//, nth: 3, error: () => enospcError('/tmp/stage.parquet') });
    const catalog = new LocalCatalog(faulty);
    const planId = await planIdOf(s.store, s.keys);
    await expect(compactObjects(deps(faulty, catalog), { planId, keys: s.keys })).rejects.toMatchObject({
      code: 'ENOSPC',
    });
    expect(await s.catalog.listPartitions('component_logs')).toEqual([]);
    expect(await keysUnder(s.store, 'curated/')).toEqual([]);
    await compactObjects(deps(faulty, catalog), { planId, keys: s.keys });
    expect(await readPublished(s.store, s.catalog)).toEqual(await referenceRows());
    expect((await keysUnder(s.store, 'control/staging/')).length).toBeGreaterThan(0);
    const gc = await collectGarbage(
      { ...deps(s.store, s.catalog), now: () => new Date(STORED_AT + 25 * HOUR) },
      { graceHours: 24 },
    );
    expect(gc.stagingPlans).toBe(1);
    expect(await keysUnder(s.store, 'control/staging/')).toEqual([]);
    expect(await readPublished(s.store, s.catalog)).toEqual(await referenceRows());
  });
});

describe('catalog batches', () => {
  it('F16, F19: publish hands the catalog at most 100 partitions per call and fences before each', async () => {
    const store = new MemoryObjectStore();
    const inner = new LocalCatalog(store);
    const sizes: number[] = [];
    const catalog = {
      getPartition: inner.getPartition.bind(inner),
      listPartitions: inner.listPartitions.bind(inner),
      putPartitions: async (table: string, parts: Parameters<LocalCatalog['putPartitions']>[1]) => {
        sizes.push(parts.length);
        await inner.putPartitions(table, parts);
      },
    };
    const merged = Array.from({ length: 250 }, (_, i) => {
      const values = [
        '111122223333',
        'prod',
        `2026-${String(1 + Math.floor(i / 24 / 28)).padStart(2, '0')}-${String(1 + (Math.floor(i / 24) % 28)).padStart(2, '0')}`,
        String(i % 24).padStart(2, '0'),
      ];
      return {
        table: 'audit_events' as const,
        values,
        location: `curated/audit_events/account=${values[0]}/cluster=${values[1]}/dt=${values[2]}/hour=${values[3]}/gen=p1/`,
        baseLocation: null,
        changed: true,
        rows: 1,
        addedRows: 1,
        duplicates: 0,
        files: 1,
        bytesOut: 1,
      };
    });
    let fences = 0;
    const res = await publishPartitions(
      { catalog, log: QUIET },
      {
        planId: 'p1',
        merged,
        fence: async () => {
          fences++;
        },
      },
    );
    expect(sizes).toEqual([100, 100, 50]);
    expect(fences).toBe(3);
    expect(res).toMatchObject({ published: 250, catalogCalls: 3 });
    expect(await inner.listPartitions('audit_events')).toHaveLength(250);
  });
});

// The workflow under the local runner (the real ASL): Retry/Catch decide what a fault does.
describe('faults injected into the compaction workflow', () => {
  const WF_NOW = '2025-01-03T10:20:00Z';
  const SCHEDULED = { scheduledTime: '2025-01-03T10:15:00Z' };
  let lake: TestLake | undefined;
  afterEach(() => lake?.cleanup());

  async function seedWindow(l: TestLake): Promise<string[]> {
    return [
      await putRawObject(l, '2025-01-03T09:58:00Z', [
        { id: '1', time: '2025-01-03T09:57:00Z' },
        { id: '2', time: '2025-01-03T09:57:01Z' },
      ]),
      await putRawObject(l, '2025-01-03T10:05:00Z', [{ id: '3', time: '2025-01-03T10:01:00Z' }]),
      await putRawObject(l, '2025-01-03T10:06:00Z', [{ id: '4', time: '2025-01-03T10:02:00Z' }]),
    ];
  }
  const ids = async (l: TestLake) => (await publishedRows(l, 'audit_events')).map((r) => r.event_id);
  const snapshot = async (l: TestLake) => {
    const out: Record<string, string> = {};
    for await (const o of l.store.list('control/catalog/')) out[o.key] = o.etag;
    return out;
  };

  it('row 31: a zero-byte raw object is counted, recorded as processed and never planned again, without an error', async () => {
    lake = makeTestLake(WF_NOW);
    const keys = await seedWindow(lake);
    const empty = 'raw/log_type=kube-apiserver-audit/dt=2025-01-03/hour=10/eks-logs-1-2025-01-03-10-07-00-empty.gz';
    await lake.store.put(empty, new Uint8Array(0));
    utimesSync(join(lake.dir, empty), new Date('2025-01-03T10:07:00Z'), new Date('2025-01-03T10:07:00Z'));
    const run = await runLocalWorkflow(SCHEDULED, { deps: lake.deps });
    expect(run.status).toBe('SUCCEEDED');
    expect(run.output as RunSummary).toMatchObject({ objects: 4, failedItems: 0, quarantined: 0 });
    expect(Object.keys(await readProcessed(lake.store, 'dt=2025-01-03/hour=10')).sort()).toEqual(
      [...keys.slice(1), empty].sort(),
    );
    const again = await runLocalWorkflow(SCHEDULED, { deps: lake.deps });
    expect(again.output as RunSummary).toMatchObject({ objects: 0 });
  });

  it('F4: a crash after the catalog switch, before the ledger, is repaired by the next run without a second publish', async () => {
    lake = makeTestLake(WF_NOW, { maxChunkObjects: 1 });
    const keys = await seedWindow(lake);
    const crash: LocalRunOptions['wrapTask'] = (state, h) =>
      state === 'WriteLedger'
        ? async () => {
            const e = new Error('worker died after publishing');
            e.name = 'SimulatedCrash';
            throw e;
          }
        : h;
    const first = await runLocalWorkflow(SCHEDULED, { deps: lake.deps, wrapTask: crash });
    expect(first).toMatchObject({ status: 'FAILED', error: 'SimulatedCrash' });
    expect(await ids(lake)).toEqual(['1', '2', '3', '4'].map(cwlId));
    expect(await readProcessed(lake.store, 'dt=2025-01-03/hour=10')).toEqual({});
    const catalog = await snapshot(lake);

    lake.clock.advance((lake.deps.config.leaseTtlSeconds + 1) * 1000);
    const second = await runLocalWorkflow(SCHEDULED, { deps: lake.deps });
    expect(second.status).toBe('SUCCEEDED');
    expect(second.output as RunSummary).toMatchObject({ objects: 3, failedItems: 0 });
    expect(await snapshot(lake)).toEqual(catalog);
    expect(await ids(lake)).toEqual(['1', '2', '3', '4'].map(cwlId));
    expect(Object.keys(await readProcessed(lake.store, 'dt=2025-01-03/hour=10')).sort()).toEqual(keys.slice(1).sort());
  });

  it.each([
    ['F21: a Lambda timeout', 'States.Timeout'],
    ['F22: an out-of-memory kill', 'Lambda.Unknown'],
  ])(
    '%s is retried twice, then the unit fails alone: the rest publishes, nothing partial, the next run finishes',
    async (_, error) => {
      lake = makeTestLake(WF_NOW, { maxChunkObjects: 1 });
      await seedWindow(lake);
      let attempts = 0;
      const dying: LocalRunOptions['wrapTask'] = (state, h) =>
        state === 'StageObjects'
          ? async (i) => {
              if (i.Payload.chunkId !== 1) return h(i);
              attempts++;
              const e = new Error(`Task timed out / Runtime exited (${error})`);
              e.name = error;
              throw e;
            }
          : h;
      const first = await runLocalWorkflow(SCHEDULED, { deps: lake.deps, wrapTask: dying });
      expect(attempts).toBe(3);
      expect(first).toMatchObject({ status: 'FAILED', error: 'ItemsFailedError' });
      expect(first.cause).toContain(`chunk 1: ${error}`);
      const afterFailure = await ids(lake);
      expect(afterFailure).toHaveLength(3);
      expect(new Set(afterFailure).size).toBe(3);

      const second = await runLocalWorkflow(SCHEDULED, { deps: lake.deps });
      expect(second.status).toBe('SUCCEEDED');
      expect(await ids(lake)).toEqual(['1', '2', '3', '4'].map(cwlId));
    },
  );

  it('F9, F21, F22: an object that fails in 3 runs is marked poison, copied to quarantine/objects/ with the reason, and the window completes', async () => {
    lake = makeTestLake(WF_NOW, { maxChunkObjects: 2 });
    const keys = await seedWindow(lake);
    const bad = keys[1]!;
    const faulty = new FaultyObjectStore(lake.store);
    faulty.failOn({
      op: 'getStream',
      match: bad,
      times: Number.POSITIVE_INFINITY,
      error: () => awsError('InternalError', 500, 'We encountered an internal error. Please try again.'),
    });
    const deps = withCompactionStore(lake, faulty);
    const hour = 'dt=2025-01-03/hour=10';
    // Run 1: the bad object shares a chunk with a good one; both fail.
    const first = await runLocalWorkflow(SCHEDULED, { deps });
    expect(first).toMatchObject({ status: 'FAILED', error: 'ItemsFailedError' });
    expect((await readAttempts(lake.store, hour))[bad]).toMatchObject({ runs: 1 });
    // Run 2: the objects of the failed chunk get a chunk each; the good one goes through.
    const second = await runLocalWorkflow(SCHEDULED, { deps });
    expect(second).toMatchObject({ status: 'FAILED', error: 'ItemsFailedError' });
    expect(await ids(lake)).toEqual(['1', '2', '4'].map(cwlId));
    expect(await keysUnder(lake.store, 'quarantine/objects/')).toEqual([]);
    // Run 3: the third failed run marks it poison; the window completes and the watermark moves.
    const third = await runLocalWorkflow(SCHEDULED, { deps });
    expect(third.status).toBe('SUCCEEDED');
    expect(third.output as RunSummary).toMatchObject({
      poisonedObjects: 1,
      failedItems: 0,
      watermark: '2025-01-03T10:15:00.000Z',
    });
    expect((await readAttempts(lake.store, hour))[bad]).toMatchObject({ runs: 3, poisoned: true });
    expect(await keysUnder(lake.store, 'quarantine/objects/')).toEqual([
      `quarantine/objects/${bad}`,
      `quarantine/objects/${bad}.reason.json`,
    ]);
    const note = JSON.parse(
      Buffer.from((await lake.store.get(`quarantine/objects/${bad}.reason.json`))!.body).toString('utf8'),
    );
    expect(note).toMatchObject({ reason: 'poison', failedRuns: 3, key: bad, copied: true });
    expect(note.detail).toMatch(/InternalError/);
    expect((await lake.store.get(`quarantine/objects/${bad}`))!.body).toEqual((await lake.store.get(bad))!.body);
    // Run 4: never planned again.
    const fourth = await runLocalWorkflow(SCHEDULED, { deps });
    expect(fourth.output as RunSummary).toMatchObject({ status: 'succeeded', objects: 0, poisonedObjects: 0 });
    expect(await ids(lake)).toEqual(['1', '2', '4'].map(cwlId));
  });

  it('F27: AccessDenied from KMS is retried, then fails the execution as AccessDeniedError; the other units still publish', async () => {
    lake = makeTestLake(WF_NOW, { maxChunkObjects: 1 });
    const keys = await seedWindow(lake);
    const faulty = new FaultyObjectStore(lake.store);
    const denied = faulty.failOn({
      op: 'getStream',
      match: keys[1],
      times: Number.POSITIVE_INFINITY,
      error: () => awsError('AccessDenied', 403, 'not authorized to perform kms:Decrypt'),
    });
    const deps = withCompactionStore(lake, faulty);
    const run = await runLocalWorkflow(SCHEDULED, { deps });
    expect(run).toMatchObject({ status: 'FAILED', error: 'AccessDeniedError', failedState: 'AccessDenied' });
    expect(run.cause).toMatch(
      /^Access denied .*chunk 1: AccessDeniedError \(AccessDenied: not authorized to perform kms:Decrypt\)/,
    );
    expect(denied.fired).toBe(2);
    // Correct data of the other units is published and recorded; the denied object is not.
    expect(await ids(lake)).toEqual(['1', '2', '4'].map(cwlId));
    expect(Object.keys(await readProcessed(lake.store, 'dt=2025-01-03/hour=10'))).toEqual([keys[2]]);
    expect(await readAttempts(lake.store, 'dt=2025-01-03/hour=10')).toEqual({});
  });

  it.each([
    [
      'KMS AccessDenied on decrypt',
      () => awsError('AccessDenied', 403, 'not authorized to perform kms:Decrypt'),
      'AccessDeniedError',
      /AccessDenied: not authorized to perform kms:Decrypt/,
    ],
    [
      'a disabled KMS key',
      () => awsError('KMS.DisabledException', 400, 'the key is disabled'),
      'AccessDeniedError',
      /KMS\.DisabledException: the key is disabled/,
    ],
    [
      'S3 throttling',
      () => awsError('SlowDown', 503, 'Please reduce your request rate.'),
      'ThrottledError',
      /SlowDown: Please reduce your request rate\./,
    ],
  ])(
    'F27: %s for three runs never poisons: each run fails naming it, nothing is recorded, and once fixed every object reaches curated',
    async (_, error, name, cause) => {
      lake = makeTestLake(WF_NOW);
      const keys = await seedWindow(lake);
      const faulty = new FaultyObjectStore(lake.store);
      faulty.failOn({ op: 'getStream', match: /^raw\//, times: Number.POSITIVE_INFINITY, error });
      const deps = withCompactionStore(lake, faulty);
      const hour = 'dt=2025-01-03/hour=10';
      for (const _ of [1, 2, 3]) {
        const run = await runLocalWorkflow(SCHEDULED, { deps });
        expect(run).toMatchObject({ status: 'FAILED', error: name });
        expect(run.cause).toMatch(cause);
        expect(await readAttempts(lake.store, hour)).toEqual({});
        expect(await readProcessed(lake.store, hour)).toEqual({});
        expect(await keysUnder(lake.store, 'quarantine/objects/')).toEqual([]);
        expect(await ids(lake)).toEqual([]);
      }
      faulty.faults.clear();
      const fixed = await runLocalWorkflow(SCHEDULED, { deps });
      expect(fixed.status).toBe('SUCCEEDED');
      expect(fixed.output as RunSummary).toMatchObject({ objects: 3, poisonedObjects: 0, failedItems: 0 });
      expect(await ids(lake)).toEqual(['1', '2', '3', '4'].map(cwlId));
      expect(Object.keys(await readProcessed(lake.store, hour)).sort()).toEqual(keys.slice(1).sort());
    },
  );

  /** Rollup rows of `seedWindow` after one clean scheduled run. */
  async function cleanRollupRows() {
    const clean = makeTestLake(WF_NOW);
    const duck = withDuckDbRollups(clean);
    try {
      await seedWindow(clean);
      expect((await runLocalWorkflow(SCHEDULED, { deps: duck.deps })).status).toBe('SUCCEEDED');
      const rows = await duck.rollupRows();
      expect(rows.map((r) => r.hour)).toEqual(['09', '10']);
      return rows;
    } finally {
      await duck.close();
      clean.cleanup();
    }
  }

  it.each([
    [
      'F17: Athena throttling that outlasts every retry',
      () => new RetryableError('TooManyRequestsException after 6 attempts'),
      'RetryableError',
    ],
    [
      'F20: a rollup cancelled at the bytes-scanned cutoff',
      () => new ScanLimitExceededError('cancelled: bytes scanned over the cutoff'),
      'ScanLimitExceededError',
    ],
  ])('%s: the next run builds the rollups the failed run owed, equal to a clean run', async (_, error, name) => {
    const expected = await cleanRollupRows();
    lake = makeTestLake(WF_NOW);
    await seedWindow(lake);
    const duck = withDuckDbRollups(lake);
    try {
      duck.fail(error);
      const failed = await runLocalWorkflow(SCHEDULED, { deps: duck.deps });
      expect(failed).toMatchObject({ status: 'FAILED', error: name, failedState: 'RunAthenaSteps' });
      expect(await lake.catalog.listPartitions('audit_hourly_summary')).toEqual([]);

      duck.fail(undefined);
      lake.clock.advance((lake.deps.config.leaseTtlSeconds + 1) * 1000);
      const next = await runLocalWorkflow(SCHEDULED, { deps: duck.deps });
      expect(next.status).toBe('SUCCEEDED');
      expect(await duck.rollupRows()).toEqual(expected);
      expect(await ids(lake)).toEqual(['1', '2', '3', '4'].map(cwlId));
    } finally {
      await duck.close();
    }
  });

  it('F26: a later run that plans no object still does the Athena steps a failed backfill owed; a redrive of the failed run then ends LeaseLost', async () => {
    const expected = await cleanRollupRows();
    lake = makeTestLake(WF_NOW);
    await seedWindow(lake);
    const duck = withDuckDbRollups(lake);
    try {
      duck.fail(() => new QueryFailedError('HIVE_METASTORE_ERROR: table raw_events is being altered'), { raw: true });
      lake.clock.advance(HOUR);
      const failed = await runLocalWorkflow(
        { from: '2025-01-03T09:00:00Z', to: '2025-01-03T11:00:00Z' },
        { deps: duck.deps },
      );
      expect(failed).toMatchObject({ status: 'FAILED', error: 'QueryFailedError', failedState: 'RunAthenaSteps' });

      // Twelve hours on, the scheduled window's look-back no longer reaches those arrival hours:
      // scheduled runs kept the watermark current meanwhile (with none, the first scheduled run
      // would start it at the oldest raw hour and plan these unrecorded objects again).
      duck.fail(undefined);
      duck.rawHours.length = 0;
      lake.clock.advance(12 * HOUR);
      await advanceWatermark(lake.store, {
        completeThrough: '2025-01-03T23:00:00.000Z',
        updatedAt: '2025-01-03T23:01:00.000Z',
        executionName: 'scheduled-2300',
        planId: 'p',
      });
      const next = await runLocalWorkflow({ scheduledTime: '2025-01-03T23:15:00Z' }, { deps: duck.deps });
      expect(next.status).toBe('SUCCEEDED');
      expect(next.output as RunSummary).toMatchObject({ objects: 0, failedItems: 0 });
      expect(duck.rawHours.sort()).toEqual(['dt=2025-01-03/hour=09', 'dt=2025-01-03/hour=10']);
      expect(await duck.rollupRows()).toEqual(expected);

      const rollups = await lake.catalog.listPartitions('audit_hourly_summary');
      const redriven = await redriveLocalWorkflow(failed, { deps: duck.deps });
      expect(redriven).toMatchObject({ status: 'FAILED', error: 'LeaseLostError' });
      expect(await lake.catalog.listPartitions('audit_hourly_summary')).toEqual(rollups);

      // Nothing is owed any more: a further run has no Athena work.
      duck.rawHours.length = 0;
      lake.clock.advance(HOUR);
      const after = await runLocalWorkflow({ scheduledTime: '2025-01-04T00:15:00Z' }, { deps: duck.deps });
      expect(after.status).toBe('SUCCEEDED');
      expect(after.events.some((e) => e.state === 'RunAthenaSteps')).toBe(false);
      expect(duck.rawHours).toEqual([]);
    } finally {
      await duck.close();
    }
  });

  it('F4: a crash right after PublishPartitions leaves the Athena steps owed; the next run builds rollups equal to a clean run', async () => {
    const expected = await cleanRollupRows();
    lake = makeTestLake(WF_NOW);
    await seedWindow(lake);
    const duck = withDuckDbRollups(lake);
    try {
      const crash: LocalRunOptions['wrapTask'] = (state, h) =>
        state === 'PublishPartitions'
          ? async (i) => {
              await h(i);
              const e = new Error('worker died after switching the catalog');
              e.name = 'SimulatedCrash';
              throw e;
            }
          : h;
      const first = await runLocalWorkflow(SCHEDULED, { deps: duck.deps, wrapTask: crash });
      expect(first).toMatchObject({ status: 'FAILED', error: 'SimulatedCrash', failedState: 'PublishPartitions' });
      expect(await ids(lake)).toEqual(['1', '2', '3', '4'].map(cwlId));
      expect(await duck.rollupRows()).toEqual([]);

      lake.clock.advance((lake.deps.config.leaseTtlSeconds + 1) * 1000);
      expect((await runLocalWorkflow(SCHEDULED, { deps: duck.deps })).status).toBe('SUCCEEDED');
      expect(await duck.rollupRows()).toEqual(expected);
      expect(await readOwedAthenaWork(lake.store)).toEqual({ rawHours: {}, rollups: {} });
    } finally {
      await duck.close();
    }
  });

  it('F20: a rollup that can never succeed fails three runs, then is abandoned and logged instead of failing every later run', async () => {
    lake = makeTestLake(WF_NOW);
    await seedWindow(lake);
    const l = lake;
    const errors: { message: string; fields?: Record<string, unknown> }[] = [];
    const log: Log = { ...QUIET, error: (message, fields) => errors.push({ message, fields }) };
    const metrics = createMemoryMetrics();
    const inner = athenaStepsOver({
      engine: l.engine,
      catalog: l.catalog,
      registerRawPartitions: true,
      store: l.store,
      clock: l.deps.clock,
    });
    const deps = {
      ...l.deps,
      log,
      metrics,
      athena: {
        ...inner,
        async buildRollup(input: Parameters<typeof inner.buildRollup>[0]) {
          if (input.values[3] === '10') throw new ScanLimitExceededError('cancelled: bytes scanned over the cutoff');
          return inner.buildRollup(input);
        },
      },
    };
    for (const _ of [1, 2, 3]) {
      const run = await runLocalWorkflow(SCHEDULED, { deps });
      expect(run).toMatchObject({ status: 'FAILED', error: 'ScanLimitExceededError', failedState: 'RunAthenaSteps' });
      // What did build is published at once; only the failing hour stays owed.
      expect((await l.catalog.listPartitions('audit_hourly_summary')).map((p) => p.values[3])).toEqual(['09']);
      expect(Object.keys((await readOwedAthenaWork(l.store)).rollups)).toEqual([
        '111122223333/prod-eu-1/2025-01-03/10',
      ]);
      l.clock.advance((l.deps.config.leaseTtlSeconds + 1) * 1000);
    }
    expect(metrics.get('AbandonedAthenaSteps')).toBe(0);
    const fourth = await runLocalWorkflow(SCHEDULED, { deps });
    expect(fourth.status).toBe('SUCCEEDED');
    expect(metrics.get('AbandonedAthenaSteps')).toBe(1);
    expect(errors).toContainEqual({
      message: 'owed Athena steps abandoned after repeated failed runs',
      fields: { count: 1, steps: ['rollup 111122223333/prod-eu-1/2025-01-03/10'] },
    });
    expect((await readOwedAthenaWork(l.store)).rollups['111122223333/prod-eu-1/2025-01-03/10']).toMatchObject({
      runs: 3,
      abandoned: true,
    });
    expect(await ids(l)).toEqual(['1', '2', '3', '4'].map(cwlId));
  });

  it('F27: Athena access denied in four runs never abandons the owed steps; once fixed the next run builds rollups equal to a clean run', async () => {
    const expected = await cleanRollupRows();
    lake = makeTestLake(WF_NOW);
    await seedWindow(lake);
    const duck = withDuckDbRollups(lake);
    try {
      duck.fail(() => awsError('AccessDeniedException', 400, 'not authorized to perform athena:StartQueryExecution'));
      for (const _ of [1, 2, 3, 4]) {
        const run = await runLocalWorkflow(SCHEDULED, { deps: duck.deps });
        expect(run).toMatchObject({ status: 'FAILED', error: 'AccessDeniedException', failedState: 'RunAthenaSteps' });
        lake.clock.advance((lake.deps.config.leaseTtlSeconds + 1) * 1000);
      }
      const owed = await readOwedAthenaWork(lake.store);
      expect(Object.values(owed.rollups).map((r) => [r.runs, r.abandoned])).toEqual([
        [0, undefined],
        [0, undefined],
      ]);
      duck.fail(undefined);
      expect((await runLocalWorkflow(SCHEDULED, { deps: duck.deps })).status).toBe('SUCCEEDED');
      expect(await duck.rollupRows()).toEqual(expected);
    } finally {
      await duck.close();
    }
  });

  it('F20: children of one backfill each count as a run toward abandoning an owed rollup, so one bad hour does not fail them all', async () => {
    lake = makeTestLake(WF_NOW, { childRangeHours: 1 });
    await seedWindow(lake);
    const l = lake;
    const inner = athenaStepsOver({
      engine: l.engine,
      catalog: l.catalog,
      registerRawPartitions: true,
      store: l.store,
      clock: l.deps.clock,
    });
    const deps = {
      ...l.deps,
      athena: {
        ...inner,
        async buildRollup(input: Parameters<typeof inner.buildRollup>[0]) {
          if (input.values[3] === '10') throw new ScanLimitExceededError('cancelled: bytes scanned over the cutoff');
          return inner.buildRollup(input);
        },
      },
    };
    const first = await runLocalWorkflow(SCHEDULED, { deps });
    expect(first).toMatchObject({ status: 'FAILED', error: 'ScanLimitExceededError' });
    // Later raw objects for three more arrival hours, then a backfill of them: one child per hour.
    for (const h of ['11', '12', '13']) {
      await putRawObject(l, `2025-01-03T${h}:05:00Z`, [{ id: `5${h}`, time: `2025-01-03T${h}:01:00Z` }]);
    }
    l.clock.advance(4 * HOUR);
    const backfill = await runLocalWorkflow({ from: '2025-01-03T11:00:00Z', to: '2025-01-03T14:00:00Z' }, { deps });
    expect(backfill.status).toBe('FAILED');
    // Children 1 and 2 take the owed rollup on (its 2nd and 3rd run) and fail; child 3 abandons it.
    expect(backfill.cause).toMatch(/^2 of 3 items failed/);
    expect(backfill.cause).not.toMatch(/range 2025-01-03T13:00/);
    expect((await readOwedAthenaWork(l.store)).rollups['111122223333/prod-eu-1/2025-01-03/10']).toMatchObject({
      runs: 3,
      abandoned: true,
    });
    expect((await l.catalog.listPartitions('audit_hourly_summary')).map((p) => p.values[3])).toEqual([
      '09',
      '11',
      '12',
      '13',
    ]);
  });

  it('F27: AccessDenied reading staged rows in a merge fails the run as AccessDeniedError, marks nothing poison, and the next run publishes everything', async () => {
    lake = makeTestLake(WF_NOW);
    await seedWindow(lake);
    const faulty = new FaultyObjectStore(lake.store);
    faulty.failOn({
      op: ['get', 'getStream'],
      match: /^control\/staging\//,
      times: Number.POSITIVE_INFINITY,
      error: () => awsError('AccessDenied', 403, 'not authorized to perform kms:Decrypt'),
    });
    const deps = withCompactionStore(lake, faulty);
    const run = await runLocalWorkflow(SCHEDULED, { deps });
    expect(run).toMatchObject({ status: 'FAILED', error: 'AccessDeniedError' });
    expect(run.cause).toMatch(/merge group \d+: AccessDeniedError \(AccessDenied: not authorized/);
    expect(await ids(lake)).toEqual([]);
    expect(await readProcessed(lake.store, 'dt=2025-01-03/hour=10')).toEqual({});
    expect(await readAttempts(lake.store, 'dt=2025-01-03/hour=10')).toEqual({});

    faulty.faults.clear();
    expect((await runLocalWorkflow(SCHEDULED, { deps })).status).toBe('SUCCEEDED');
    expect(await ids(lake)).toEqual(['1', '2', '3', '4'].map(cwlId));
  });

  it('F18: a rollup that fails after writing part files is rebuilt in a new generation; the orphan is never published and GC removes it', async () => {
    lake = makeTestLake(WF_NOW);
    await seedWindow(lake);
    const l = lake;
    const inner = athenaStepsOver({
      engine: l.engine,
      catalog: l.catalog,
      registerRawPartitions: false,
      store: l.store,
      clock: l.deps.clock,
    });
    const orphans: string[] = [];
    const deps = {
      ...l.deps,
      athena: {
        ...inner,
        async buildRollup(input: Parameters<typeof inner.buildRollup>[0]) {
          const built = await inner.buildRollup(input);
          if (orphans.length === 0) {
            // Athena wrote a part file into the target, then the query failed.
            const key = `${built.location}part-00000.parquet`;
            await l.store.put(key, 'half an UNLOAD');
            orphans.push(key);
            l.clock.advance(1000);
            throw new RetryableError('HIVE_CURSOR_ERROR after writing part files');
          }
          return built;
        },
      },
    };
    const run = await runLocalWorkflow(SCHEDULED, { deps });
    expect(run.status).toBe('SUCCEEDED');
    const rollups = await l.catalog.listPartitions('audit_hourly_summary');
    expect(rollups).toHaveLength(2);
    for (const p of rollups) expect(orphans[0]!.startsWith(p.location)).toBe(false);

    // The folder store dates objects by file time: stamp the lake at the test clock so GC runs on it.
    await stampLake(l, l.clock.now());
    const gc = await collectGarbage(
      { store: l.store, catalog: l.catalog, log: QUIET, now: () => new Date(l.clock.now().getTime() + 25 * HOUR) },
      { graceHours: 24 },
    );
    expect(gc.generations).toBeGreaterThanOrEqual(1);
    expect(await l.store.head(orphans[0]!)).toBeUndefined();
    expect(await l.catalog.listPartitions('audit_hourly_summary')).toEqual(rollups);
  });
});

describe('F27: an outage of any length (compaction failing, schedule disabled, IAM or KMS broken)', () => {
  const LOG_TYPE_COUNT = 7;
  let lake: TestLake | undefined;
  afterEach(() => lake?.cleanup());

  /** `n` one-event raw objects arriving `spacingMs` apart from `fromIso`; returns their keys. */
  async function seedArrivals(l: TestLake, fromIso: string, n: number, idBase: number, spacingMs = 15_000) {
    const keys: string[] = [];
    for (let i = 0; i < n; i++) {
      const at = new Date(Date.parse(fromIso) + i * spacingMs).toISOString();
      keys.push(await putRawObject(l, at, [{ id: String(idBase + i), time: at }]));
    }
    return keys;
  }

  const observed = observeRun;

  /** The distinct hour prefixes of the recorded raw LISTs, in order, and how many LISTs there were. */
  const hoursListed = (lists: readonly string[]) => {
    const hours = [...new Set(lists.map((p) => /dt=[^/]+\/hour=\d{2}/.exec(p)![0]))];
    return { first: hours[0], last: hours.at(-1), hours: hours.length, lists: lists.length };
  };

  const scheduledAt = async (l: TestLake, scheduledTime: string, deps = l.deps) => {
    l.clock.current = new Date(Date.parse(scheduledTime) + 60_000);
    return runLocalWorkflow({ scheduledTime }, { deps });
  };

  it('F27: a normal run after a clean one lists exactly the look-back hours, as before any watermark existed', async () => {
    lake = makeTestLake('2025-01-03T10:01:00Z');
    const first = observed(lake);
    expect((await scheduledAt(lake, '2025-01-03T10:00:00Z', first.deps)).status).toBe('SUCCEEDED');
    await seedArrivals(lake, '2025-01-03T10:02:00Z', 3, 1);
    const next = observed(lake);
    const run = await scheduledAt(lake, '2025-01-03T10:15:00Z', next.deps);
    expect(run.output as RunSummary).toMatchObject({
      objects: 3,
      failedItems: 0,
      watermark: '2025-01-03T10:15:00.000Z',
    });
    // Window [10:00, 10:15), 6-hour look-back: hours 04..10, one LIST per log type, no more.
    expect(hoursListed(next.rawLists)).toEqual({
      first: 'dt=2025-01-03/hour=04',
      last: 'dt=2025-01-03/hour=10',
      hours: 7,
      lists: 7 * LOG_TYPE_COUNT,
    });
    // With no watermark yet the first run also reads each log type's first key (none here).
    const [lookUps, hourLists] = [
      first.rawLists.filter((p) => !p.includes('/dt=')),
      first.rawLists.filter((p) => p.includes('/dt=')),
    ];
    expect(lookUps).toHaveLength(LOG_TYPE_COUNT);
    expect(hoursListed(hourLists)).toEqual({
      first: 'dt=2025-01-03/hour=03',
      last: 'dt=2025-01-03/hour=09',
      hours: 7,
      lists: 7 * LOG_TYPE_COUNT,
    });
    expect(next.metrics.get('BackfillRequiredHours')).toBe(0);
    expect(next.errors).toEqual([]);
  });

  it.each([
    ['2 days and 2 hours (the reviewed repro)', '2026-11-27T07:15:00Z'],
    ['3 days', '2026-11-28T05:15:00Z'],
  ])(
    'F27: the first scheduled run after an outage of %s compacts every object that arrived during it exactly once, then moves the watermark',
    async (_, resumeAt) => {
      lake = makeTestLake('2026-11-25T05:01:00Z', { lateHorizonHours: 48, maxChunkObjects: 50 });
      const before = await scheduledAt(lake, '2026-11-25T05:00:00Z');
      expect((before.output as RunSummary).watermark).toBe('2026-11-25T05:00:00.000Z');
      // 196 objects arrive in hour 05 while no run completes.
      const keys = await seedArrivals(lake, '2026-11-25T05:00:10Z', 196, 1000);
      const o = observed(lake);
      const run = await scheduledAt(lake, resumeAt, o.deps);
      expect(run.status).toBe('SUCCEEDED');
      expect(run.output as RunSummary).toMatchObject({
        objects: 196,
        failedItems: 0,
        rowsOut: 196,
        watermark: new Date(resumeAt).toISOString(),
      });
      // Listed from the look-back before the watermark, not only before this window.
      expect(hoursListed(o.rawLists).first).toBe('dt=2026-11-23/hour=05');
      expect(o.metrics.get('BackfillRequiredHours')).toBe(0);
      const expected = keys.map((_, i) => cwlId(String(1000 + i))).sort();
      expect((await publishedRows(lake, 'audit_events')).map((r) => r.event_id)).toEqual(expected);
      expect(Object.keys(await readProcessed(lake.store, 'dt=2026-11-25/hour=05')).sort()).toEqual([...keys].sort());

      // The next run finds nothing left and publishes nothing twice.
      const next = await scheduledAt(lake, new Date(Date.parse(resumeAt) + 15 * 60_000).toISOString());
      expect(next.output as RunSummary).toMatchObject({ objects: 0, failedItems: 0 });
      expect((await publishedRows(lake, 'audit_events')).map((r) => r.event_id)).toEqual(expected);
      expect((await readWatermark(lake.store))?.completeThrough).toBe(
        new Date(Date.parse(resumeAt) + 15 * 60_000).toISOString(),
      );
    },
  );

  it('F27: a backfill moves the watermark only if it starts at or before the watermark look-back (or continues its own earlier child)', async () => {
    lake = makeTestLake('2026-11-20T05:01:00Z', { lateHorizonHours: 48 });
    expect((await scheduledAt(lake, '2026-11-20T05:00:00Z')).status).toBe('SUCCEEDED');
    lake.clock.current = new Date('2026-11-20T07:30:00Z');
    const wm = async () => (await readWatermark(lake!.store))?.completeThrough;
    // Starts after the look-back (2026-11-18T05:00): objects that arrived after the watermark may sit before it.
    expect(
      (await runLocalWorkflow({ from: '2026-11-18T06:00:00Z', to: '2026-11-20T07:00:00Z' }, { deps: lake.deps }))
        .status,
    ).toBe('SUCCEEDED');
    expect(await wm()).toBe('2026-11-20T05:00:00.000Z');
    // From the look-back, in day-sized children: each continues where the previous one stopped.
    expect(
      (await runLocalWorkflow({ from: '2026-11-18T05:00:00Z', to: '2026-11-20T07:00:00Z' }, { deps: lake.deps }))
        .status,
    ).toBe('SUCCEEDED');
    expect(await wm()).toBe('2026-11-20T07:00:00.000Z');
  });

  it('F27: past the catch-up bound a run publishes the newest hours, keeps the watermark, names the backfill; that backfill and the next run bring everything in', async () => {
    lake = makeTestLake('2026-11-20T05:01:00Z', { lateHorizonHours: 48, maxChunkObjects: 50 });
    expect((await scheduledAt(lake, '2026-11-20T05:00:00Z')).status).toBe('SUCCEEDED');
    const old = await seedArrivals(lake, '2026-11-20T05:10:00Z', 4, 100);
    const fresh = await seedArrivals(lake, '2026-11-26T06:10:00Z', 3, 200);

    // Six days on: more than the 96-hour bound, so the run lists the newest 96 + 48 hours only.
    const o = observed(lake);
    const run = await scheduledAt(lake, '2026-11-26T07:15:00Z', o.deps);
    expect(run.status).toBe('SUCCEEDED');
    const backfill = { from: '2026-11-18T05:00:00.000Z', to: '2026-11-26T08:00:00.000Z' };
    expect(run.output as RunSummary).toMatchObject({
      objects: 3,
      failedItems: 0,
      watermark: null,
      backfillRequired: backfill,
    });
    // `eks-log-lake run` says it too, with the input to start.
    expect(formatSummary(run.output as RunSummary)).toContain(
      `  watermark left behind: the lag is past what a scheduled run catches up; start the backfill ${JSON.stringify(backfill)}`,
    );
    expect(hoursListed(o.rawLists)).toMatchObject({ first: 'dt=2026-11-20/hour=07', last: 'dt=2026-11-26/hour=07' });
    expect((await readWatermark(lake.store))?.completeThrough).toBe('2026-11-20T05:00:00.000Z');
    expect(o.metrics.get('BackfillRequiredHours')).toBe(195);
    expect(o.errors.map((e) => e.fields?.backfill)).toContainEqual(backfill);
    expect(o.errors.map((e) => e.fields?.startExecutionInput)).toContain(JSON.stringify(backfill));
    expect(o.errors.map((e) => e.message)).toContain('watermark not moved: this run did not list every hour since it');
    expect((await publishedRows(lake, 'audit_events')).map((r) => r.event_id)).toEqual(
      fresh.map((_, i) => cwlId(String(200 + i))),
    );

    // The operator starts exactly the named backfill (day-sized children, oldest first).
    lake.clock.current = new Date('2026-11-26T07:40:00Z');
    const filled = await runLocalWorkflow(backfill, { deps: lake.deps });
    expect(filled.status).toBe('SUCCEEDED');
    expect((await readWatermark(lake.store))?.completeThrough).toBe('2026-11-26T07:40:00.000Z');
    const all = [...old.map((_, i) => cwlId(String(100 + i))), ...fresh.map((_, i) => cwlId(String(200 + i)))].sort();
    expect((await publishedRows(lake, 'audit_events')).map((r) => r.event_id)).toEqual(all);

    // The next scheduled run is back inside the bound and moves the watermark on.
    const after = observed(lake);
    const next = await scheduledAt(lake, '2026-11-26T07:45:00Z', after.deps);
    expect(next.output as RunSummary).toMatchObject({
      objects: 0,
      failedItems: 0,
      watermark: '2026-11-26T07:45:00.000Z',
    });
    expect(after.metrics.get('BackfillRequiredHours')).toBe(0);
    expect((await publishedRows(lake, 'audit_events')).map((r) => r.event_id)).toEqual(all);
  });
});
