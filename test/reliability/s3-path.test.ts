import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../src/adapters/aws/s3-object-store.ts';
import { LocalCatalog } from '../../src/adapters/local/local-catalog.ts';
import { LeaseHeldError, LeaseLostError } from '../../src/core/errors.ts';
import { mergePartition, publishPartitions, type StageResult, stageObjects } from '../../src/pipeline/compact.ts';
import { acquireLease, fenceLease, readLeaseRecord } from '../../src/pipeline/lease.ts';
import type { Clock } from '../../src/ports.ts';
import { type S3TestServer, startS3TestServer } from '../helpers/s3-server.ts';
import { compactionDeps, identityOf, planIdOf, planWindowFor, publishedRows, QUIET } from './pipeline.ts';

// The S3 code path (S3ObjectStore over the AWS SDK) against s3rver on loopback, behind a proxy
// that enforces conditional writes and injects 500/503/409 at the HTTP layer.

const T0 = Date.UTC(2026, 10, 27, 3, 0, 0);
const HOUR = 3600_000;
const HOUR_PREFIX = 'dt=2026-11-27/hour=03';
const noWait = { sleep: async () => {} };

function line(id: string, second: number): string {
  const t = new Date(T0 + second * 1000).toISOString().replace('Z', '000Z');
  return JSON.stringify({
    time: t,
    cwl_timestamp: T0 + second * 1000,
    event_id: id,
    account: '111122223333',
    region: 'eu-west-1',
    cluster: 'prod-payments',
    log_group: '/aws/eks/prod-payments/cluster',
    log_stream: 'kube-scheduler-0f1e2d3c',
    log_type: 'kube-scheduler',
    parse_status: 'ok',
    severity: 'INFO',
    thread_id: 1,
    source_file: 'schedule_one.go',
    source_line: 266,
    msg: 'Successfully bound pod to node',
    kv: { pod: `default/p-${id.slice(-4)}` },
    message: `I1127 03:00:00.000000       1 schedule_one.go:266] "Successfully bound pod to node" pod="default/p-${id.slice(-4)}"`,
  });
}
const idOf = (n: number) => `3${String(n).padStart(55, '0')}`;

async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

describe('the S3 code path on loopback', () => {
  let server: S3TestServer;
  let store: S3ObjectStore;

  beforeAll(async () => {
    server = await startS3TestServer({ bucket: 'reliability-lake' });
    store = new S3ObjectStore({ client: server.client, bucket: server.bucket, retry: noWait, pageSize: 100 });
  });
  afterAll(async () => {
    await server?.close();
  });
  beforeEach(() => server.faults.clear());

  it('plans and compacts 250 raw objects across list pages of 100 with 500s on GET and 503s on PUT: every event once (F9, F10, F13)', async () => {
    const n = 250;
    const keys = Array.from(
      { length: n },
      (_, i) =>
        `raw/log_type=kube-scheduler/${HOUR_PREFIX}/eks-log-lake-raw-1-2026-11-27-03-00-00-${String(i).padStart(5, '0')}.gz`,
    );
    // One event each; every 100th object re-delivers the event of the object before it.
    await mapLimit(keys, 16, async (key) => {
      const i = keys.indexOf(key);
      const lines = [line(idOf(i), i % 3000)];
      if (i % 100 === 99) lines.push(line(idOf(i - 1), (i - 1) % 3000));
      await store.put(key, gzipSync(`${lines.join('\n')}\n`));
    });

    const listsBefore = server.faults.requests.ListObjectsV2;
    const plan = await planWindowFor(
      { store, limits: { maxChunkObjects: 2000, maxChunkBytes: 1e12 }, log: QUIET },
      {
        mode: 'backfill',
        start: '2026-11-27T03:00:00.000Z',
        end: '2026-11-27T04:00:00.000Z',
        arrivalHours: [HOUR_PREFIX],
        arrivedBefore: null,
        childRanges: [],
      },
    );
    const planned = plan.chunks.flatMap((c) => c.objects.map((o) => o.key));
    expect(planned).toEqual(keys);
    // Seven log-type prefixes listed; the kube-scheduler one took three pages. (Pages of S3's
    // maximum of 1,000 keys are covered by the ObjectStore contract suite on the same server.)
    expect(server.faults.requests.ListObjectsV2 - listsBefore).toBe(9);

    // Bursts shorter than the SDK's attempts: each is ridden out by its retry with backoff.
    server.faults.internalErrors(2, 'GetObject', keys[10]);
    server.faults.internalErrors(1, 'GetObject', keys[240]);
    server.faults.slowDown(2, 'PutObject', /^control\/staging\//);
    server.faults.slowDown(1, 'PutObject', /^curated\//);
    const firedBefore = server.faults.fired.length;
    // As the workflow runs it: StageObjects over chunks of 100 in parallel, then merge and publish.
    const catalog = new LocalCatalog(store);
    const deps = compactionDeps(store, catalog, T0 + HOUR);
    const planId = await planIdOf(store, planned);
    const chunks = Array.from({ length: Math.ceil(n / 100) }, (_, c) => planned.slice(c * 100, c * 100 + 100));
    const staged: StageResult[] = [];
    await mapLimit(chunks, 6, async (keysOfChunk) => {
      const chunkId = `c${chunks.indexOf(keysOfChunk)}`;
      staged.push(await stageObjects(deps, { planId, chunkId, keys: keysOfChunk }));
    });
    const partitions = new Map(staged.flatMap((r) => r.partitions.map((p) => [`${p.table}|${p.values}`, p] as const)));
    const merged = [];
    for (const p of partitions.values()) merged.push(await mergePartition(deps, { planId, ...p }));
    await publishPartitions(deps, { planId, merged, fence: async () => {} });
    expect(server.faults.pending()).toBe(0);
    expect(
      server.faults.fired
        .slice(firedBefore)
        .map((f) => f.kind)
        .sort(),
    ).toEqual(['InternalError', 'InternalError', 'InternalError', 'SlowDown', 'SlowDown', 'SlowDown']);
    const total = (f: (r: StageResult) => number) => staged.reduce((x, r) => x + f(r), 0);
    expect(total((r) => r.objects)).toBe(n);
    expect(total((r) => r.events)).toBe(n + 2);
    expect(total((r) => r.quarantined + r.quarantinedObjects)).toBe(0);
    const rows = await publishedRows(store, catalog);
    expect(rows).toHaveLength(n);
    expect(new Set(rows.map(identityOf)).size).toBe(n);
  });

  it('round-trips keys with +, %2F, spaces, = and non-ASCII exactly once through list and get (row 37)', async () => {
    const keys = [
      `raw/log_type=unknown/${HOUR_PREFIX}/a+b.gz`,
      `raw/log_type=unknown/${HOUR_PREFIX}/a%2Fb.gz`,
      `raw/log_type=unknown/${HOUR_PREFIX}/a b=c.gz`,
      `raw/log_type=unknown/${HOUR_PREFIX}/é-ü.gz`,
    ];
    for (const k of keys) await store.put(k, k);
    const listed: string[] = [];
    for await (const o of store.list(`raw/log_type=unknown/${HOUR_PREFIX}/`)) listed.push(o.key);
    expect(listed.sort()).toEqual([...keys].sort());
    for (const k of keys) expect(Buffer.from((await store.get(k))!.body).toString('utf8')).toBe(k);
  });

  describe('the compaction lease on S3 conditional writes', () => {
    class TestClock implements Clock {
      constructor(public ms: number) {}
      now() {
        return new Date(this.ms);
      }
    }

    it('grants the lease to exactly one of concurrent runs, through a 409 on the lease object (F6, F12)', async () => {
      const key = 'control/leases/compaction.json';
      await store.delete([key]);
      const clock = new TestClock(T0);
      const firedBefore = server.faults.fired.length;
      server.faults.conditionalConflicts(1, key);
      const deps = { store, clock, ttlMs: 15 * 60_000 };
      const results = await Promise.allSettled(
        ['schedule', 'backfill', 'duplicate-trigger', 'redrive', 'manual'].map((h) => acquireLease(deps, h)),
      );
      const granted = results.filter((r) => r.status === 'fulfilled');
      expect(granted).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(LeaseHeldError);
      expect(server.faults.fired.slice(firedBefore).map((f) => f.kind)).toEqual(['ConditionalRequestConflict']);
      const winner = (granted[0] as PromiseFulfilledResult<{ holder: string; token: number }>).value;
      expect(await readLeaseRecord(store)).toMatchObject({ holder: winner.holder, token: 1, released: false });
    });

    it('fences out a holder that stalled past expiry once another run took the lease (F7)', async () => {
      await store.delete(['control/leases/compaction.json']);
      const clock = new TestClock(T0);
      const deps = { store, clock, ttlMs: 60_000 };
      const stalled = await acquireLease(deps, 'stalled');
      await fenceLease(deps, stalled);
      clock.ms += 61_000;
      const next = await acquireLease(deps, 'next');
      expect(next.token).toBe(stalled.token + 1);
      await expect(fenceLease(deps, stalled)).rejects.toThrow(LeaseLostError);
      await fenceLease(deps, next);
      expect(await readLeaseRecord(store)).toMatchObject({ holder: 'next', token: 2 });
    });
  });
});
