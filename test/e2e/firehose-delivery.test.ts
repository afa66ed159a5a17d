import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { FirehoseTransformationEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import {
  deliverTraffic,
  encodeSubscriptionMessage,
  type FirehoseProcessor,
  LocalFirehose,
  type LocalFirehoseOptions,
} from '../../src/adapters/local/firehose-delivery.ts';
import { FsObjectStore } from '../../src/adapters/local/fs-object-store.ts';
import {
  createLocalFirehose,
  type LocalTransformOptions,
  localTransformProcessor,
} from '../../src/adapters/local/local-firehose.ts';
import { parseRawKey } from '../../src/core/compact/layout.ts';
import { collectTraffic, type TrafficOptions } from '../../src/core/generate/traffic.ts';
import type { SubscriptionMessage } from '../../src/core/types.ts';

const ACCOUNTS = ['111122223333', '444455556666'];
const TRAFFIC: TrafficOptions = {
  seed: 11,
  start: new Date('2026-11-27T09:55:00Z'),
  durationMinutes: 8,
  accounts: ACCOUNTS,
  clustersPerAccount: 2,
  eventsPerMinute: 400,
  duplicateRate: 0.05,
  lateRate: 0.02,
};
const RAW_NAME =
  /^eks-log-lake-raw-1-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.gz$/;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function lake(): FsObjectStore {
  const dir = mkdtempSync(join(tmpdir(), 'firehose-'));
  dirs.push(dir);
  return new FsObjectStore(dir);
}

const TRANSFORM: LocalTransformOptions = { region: 'eu-west-1', allowedAccounts: ACCOUNTS };

async function readAll(store: FsObjectStore, prefix: string): Promise<{ key: string; body: Uint8Array }[]> {
  const out: { key: string; body: Uint8Array }[] = [];
  for await (const o of store.list(prefix)) out.push({ key: o.key, body: (await store.get(o.key))!.body });
  return out;
}

function rawLines(body: Uint8Array): Record<string, unknown>[] {
  return gunzipSync(body)
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

function firehose(store: FsObjectStore, overrides: Partial<LocalTransformOptions> = {}): LocalFirehose {
  return createLocalFirehose({ store, seed: 5, ...TRANSFORM, ...overrides });
}

/** The stream with the real transform behind `wrap`, which watches it or injects a fault. */
function wrappedFirehose(
  store: FsObjectStore,
  wrap: (handler: FirehoseProcessor) => FirehoseProcessor,
  extra: Partial<LocalFirehoseOptions> = {},
): LocalFirehose {
  const inner = localTransformProcessor(TRANSFORM);
  return new LocalFirehose({ store, seed: 5, ...extra, processor: (re) => wrap(inner(re)) });
}

describe('LocalFirehose with the real transform', () => {
  it('writes every data event once per delivery under raw/ with Firehose key names, and drops control messages', async () => {
    const store = lake();
    const { deliveries, truth } = collectTraffic(TRAFFIC);
    const stats = await deliverTraffic(deliveries, firehose(store));

    const objects = await readAll(store, 'raw/');
    expect(objects.length).toBe(stats.objects);
    const ids = new Set<string>();
    let lines = 0;
    for (const o of objects) {
      const parsed = parseRawKey(o.key);
      expect(parsed, o.key).not.toBeNull();
      expect(o.key.split('/').pop()).toMatch(RAW_NAME);
      for (const r of rawLines(o.body)) {
        expect(r.log_type).toBe(parsed!.logType);
        ids.add(`${r.account}|${r.log_group}|${r.event_id}`);
        lines++;
      }
    }
    expect(lines).toBe(truth.events.unique + truth.events.duplicate);
    expect(ids.size).toBe(truth.events.unique);
    expect(stats.dropped).toBe(truth.messages.control);
    expect(stats.ok).toBe(truth.messages.data + truth.messages.duplicate);
    expect(stats.recordsIn).toBe(deliveries.length);
    expect(await readAll(store, 'errors/')).toHaveLength(0);
    expect(Object.keys(stats.objectsByLogType).sort()).toEqual([
      'authenticator',
      'cloud-controller-manager',
      'kube-apiserver',
      'kube-apiserver-audit',
      'kube-controller-manager',
      'kube-scheduler',
      'unknown',
    ]);
  });

  it('names and partitions each object by the arrival time of its oldest record', async () => {
    const store = lake();
    const fh = firehose(store);
    const msg = (stream: string, id: string): SubscriptionMessage => ({
      messageType: 'DATA_MESSAGE',
      owner: ACCOUNTS[0]!,
      logGroup: '/aws/eks/prod-payments/cluster',
      logStream: `authenticator-${'a'.repeat(32)}`,
      subscriptionFilters: ['f'],
      logEvents: [
        {
          id,
          timestamp: Date.parse('2026-11-27T09:59:00Z'),
          message: `time="2026-11-27T09:59:00Z" level=info msg="${stream}"`,
        },
      ],
    });
    await fh.put(encodeSubscriptionMessage(msg('a', '1'.repeat(56))), new Date('2026-11-27T09:59:50Z'));
    await fh.put(encodeSubscriptionMessage(msg('b', '2'.repeat(56))), new Date('2026-11-27T10:01:10Z'));
    await fh.flush();
    const keys = (await readAll(store, 'raw/')).map((o) => o.key);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(
      /^raw\/log_type=authenticator\/dt=2026-11-27\/hour=09\/eks-log-lake-raw-1-2026-11-27-09-59-50-[0-9a-f-]{36}\.gz$/,
    );
    expect(keys[1]).toMatch(
      /^raw\/log_type=authenticator\/dt=2026-11-27\/hour=10\/eks-log-lake-raw-1-2026-11-27-10-01-10-/,
    );
  });

  it('invokes the processor with at most the buffer size of records, by size and by interval', async () => {
    const store = lake();
    const { deliveries } = collectTraffic({ ...TRAFFIC, durationMinutes: 4 });
    const seen: { bytes: number; first: number; last: number }[] = [];
    const fh = wrappedFirehose(
      store,
      (handler) => async (event: FirehoseTransformationEvent) => {
        const ts = event.records.map((r) => r.approximateArrivalTimestamp);
        seen.push({
          bytes: event.records.reduce((n, r) => n + Buffer.from(r.data, 'base64').byteLength, 0),
          first: Math.min(...ts),
          last: Math.max(...ts),
        });
        return handler(event);
      },
      { processorBufferBytes: 64 * 1024 },
    );
    await deliverTraffic(deliveries, fh);
    const bigOnes = deliveries.filter((d) => encodeSubscriptionMessage(d.message).byteLength > 64 * 1024).length;
    for (const s of seen) {
      expect(s.last - s.first).toBeLessThanOrEqual(60_000);
    }
    expect(seen.filter((s) => s.bytes > 64 * 1024).length).toBeLessThanOrEqual(bigOnes);
    expect(seen.length).toBeGreaterThan(4);
  });

  it('writes ProcessingFailed records under errors/processing-failed/ in Firehose’s error shape', async () => {
    const store = lake();
    const { deliveries, truth } = collectTraffic({ ...TRAFFIC, durationMinutes: 3 });
    const fh = firehose(store, { allowedAccounts: [ACCOUNTS[0]!] });
    const stats = await deliverTraffic(deliveries, fh);
    const rejected = deliveries.filter((d) => d.message.owner === ACCOUNTS[1]).length;
    expect(rejected).toBeGreaterThan(0);
    expect(stats.processingFailed).toBe(rejected);
    const errors = await readAll(store, 'errors/');
    expect(errors.length).toBe(stats.errorObjects);
    let n = 0;
    for (const o of errors) {
      expect(o.key).toMatch(/^errors\/processing-failed\/dt=\d{4}-\d\d-\d\d\/hour=\d\d\/eks-log-lake-raw-1-/);
      for (const line of Buffer.from(o.body).toString('utf8').trim().split('\n')) {
        const rec = JSON.parse(line);
        expect(Object.keys(rec).sort()).toEqual([
          'arrivalTimestamp',
          'attemptEndingTimestamp',
          'attemptsMade',
          'errorCode',
          'errorMessage',
          'lambdaArn',
          'rawData',
        ]);
        expect(rec.errorCode).toBe('Lambda.ProcessingFailedStatus');
        const message = JSON.parse(gunzipSync(Buffer.from(rec.rawData, 'base64')).toString('utf8'));
        expect(message.owner).toBe(ACCOUNTS[1]);
        n++;
      }
    }
    expect(n).toBe(rejected);
    expect(truth.messages.data).toBeGreaterThan(rejected);
  });

  it('retries a failing invocation and delivers once it succeeds', async () => {
    const store = lake();
    const { deliveries, truth } = collectTraffic({ ...TRAFFIC, durationMinutes: 2 });
    let calls = 0;
    const fh = wrappedFirehose(store, (handler) => async (event) => {
      calls++;
      if (calls <= 2) throw new Error('Task timed out after 60.00 seconds');
      return handler(event);
    });
    const stats = await deliverTraffic(deliveries, fh);
    expect(stats.failedInvocations).toBe(2);
    expect(stats.errorRecords).toBe(0);
    let lines = 0;
    for (const o of await readAll(store, 'raw/')) lines += rawLines(o.body).length;
    expect(lines).toBe(truth.events.unique + truth.events.duplicate);
  });

  it('sends a whole batch to errors/ after the retries when the processor keeps failing or answers badly', async () => {
    for (const [behaviour, code] of [
      ['throws', 'Lambda.FunctionError'],
      ['drops an answer', 'Lambda.InvalidOutput'],
    ] as const) {
      const store = lake();
      const { deliveries } = collectTraffic({ ...TRAFFIC, durationMinutes: 1 });
      const fh = wrappedFirehose(store, (handler) => async (event) => {
        if (behaviour === 'throws') throw new Error('boom');
        const out = await handler(event);
        return { records: out.records.slice(1) };
      });
      const stats = await deliverTraffic(deliveries, fh);
      expect(stats.errorRecords).toBe(deliveries.length);
      expect(await readAll(store, 'raw/')).toHaveLength(0);
      for (const o of await readAll(store, 'errors/')) {
        const rec = JSON.parse(Buffer.from(o.body).toString('utf8').split('\n')[0]!);
        expect(rec.errorCode).toBe(code);
        expect(rec.attemptsMade).toBe(4);
      }
    }
  });

  it('feeds re-ingested overflow back through the stream, losing no event even under sustained overload', async () => {
    const store = lake();
    const { deliveries, truth } = collectTraffic({ ...TRAFFIC, durationMinutes: 3, eventsPerMinute: 1200 });
    // A response budget far below what each 60-second batch produces forces the overflow path every time.
    const fh = firehose(store, { responseBudgetBytes: 300_000 });
    const stats = await deliverTraffic(deliveries, fh);
    expect(stats.recordsReingested).toBeGreaterThan(0);
    const ids = new Set<string>();
    for (const o of await readAll(store, 'raw/'))
      for (const r of rawLines(o.body)) ids.add(`${r.account}|${r.log_group}|${r.event_id}`);
    const delivered = ids.size;
    for (const o of await readAll(store, 'errors/'))
      for (const line of Buffer.from(o.body).toString('utf8').trim().split('\n')) {
        const m = JSON.parse(gunzipSync(Buffer.from(JSON.parse(line).rawData, 'base64')).toString('utf8'));
        for (const e of m.logEvents) ids.add(`${m.owner}|${m.logGroup}|${e.id}`);
      }
    expect(delivered).toBeGreaterThan(truth.events.unique / 2);
    expect(ids.size).toBe(truth.events.unique);
  });

  it('writes the same keys and bytes for the same seed', async () => {
    const { deliveries } = collectTraffic({ ...TRAFFIC, durationMinutes: 2 });
    const a = lake();
    const b = lake();
    await deliverTraffic(deliveries, firehose(a));
    await deliverTraffic(deliveries, firehose(b));
    const ra = await readAll(a, '');
    const rb = await readAll(b, '');
    expect(rb.map((o) => o.key)).toEqual(ra.map((o) => o.key));
    expect(rb.map((o) => Buffer.from(o.body).toString('base64'))).toEqual(
      ra.map((o) => Buffer.from(o.body).toString('base64')),
    );
  });
});
