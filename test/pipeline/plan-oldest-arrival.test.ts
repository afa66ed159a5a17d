import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../src/adapters/aws/s3-object-store.ts';
import { MemoryObjectStore } from '../../src/adapters/local/memory-object-store.ts';
import { LOG_TYPES } from '../../src/core/types.ts';
import { oldestRawArrivalHour } from '../../src/pipeline/plan.ts';
import { type S3TestServer, startS3TestServer } from '../helpers/s3-server.ts';
import { rawKey } from '../unit/compact/raw-fixtures.ts';

const at = (iso: string) => Date.parse(iso);

async function storeWith(keys: readonly string[]): Promise<MemoryObjectStore> {
  const store = new MemoryObjectStore();
  for (const k of keys) await store.put(k, 'x');
  return store;
}

describe('oldestRawArrivalHour', () => {
  it.each([
    ['an empty bucket', [], null],
    [
      'only keys that are not Firehose output',
      ['raw/log_type=kube-apiserver-audit/dt=2026-11-01/hour=00/notes.txt', 'raw/README.md'],
      null,
    ],
    [
      'the oldest hour over every log type',
      [
        rawKey('kube-apiserver-audit', at('2026-11-20T08:05:00Z'), 'a'),
        rawKey('kube-apiserver-audit', at('2026-11-27T07:10:00Z'), 'b'),
        rawKey('kube-scheduler', at('2026-11-19T23:59:00Z'), 'c'),
        rawKey('authenticator', at('2026-11-26T00:00:00Z'), 'd'),
      ],
      'dt=2026-11-19/hour=23',
    ],
    [
      'a Firehose key after an older manual upload of the same log type',
      [
        'raw/log_type=kube-apiserver-audit/dt=2026-10-01/hour=00/manual-upload.json',
        rawKey('kube-apiserver-audit', at('2026-11-25T10:00:00Z'), 'a'),
      ],
      'dt=2026-11-25/hour=10',
    ],
    [
      'records of log groups that are not EKS clusters (log_type=unknown)',
      [rawKey('unknown', at('2026-11-02T03:00:00Z'), 'a'), rawKey('kube-apiserver', at('2026-11-25T10:00:00Z'), 'b')],
      'dt=2026-11-02/hour=03',
    ],
    [
      'prefixes the planner never lists (an unknown log type)',
      [
        'raw/log_type=other/dt=2026-01-01/hour=00/eks-log-lake-raw-1-2026-01-01-00-00-00-a.gz',
        rawKey('kube-apiserver', at('2026-11-25T10:00:00Z'), 'b'),
      ],
      'dt=2026-11-25/hour=10',
    ],
  ] as const)('finds the oldest arrival hour under raw/ with %s', async (_, keys, expected) => {
    expect(await oldestRawArrivalHour(await storeWith(keys))).toBe(expected);
  });

  it('reads each log type only up to its first Firehose key', async () => {
    const keys = Array.from({ length: 30 }, (_, i) =>
      rawKey('kube-apiserver-audit', at('2026-11-20T00:00:00Z') + i * 3_600_000, `k${i}`),
    );
    const store = await storeWith(keys);
    const yielded: string[] = [];
    const counting = Object.assign(Object.create(store), {
      async *list(prefix: string) {
        for await (const o of store.list(prefix)) {
          yielded.push(o.key);
          yield o;
        }
      },
    });
    expect(await oldestRawArrivalHour(counting)).toBe('dt=2026-11-20/hour=00');
    expect(yielded).toEqual([keys[0]]);
  });

  describe('over S3', () => {
    let server: S3TestServer;
    beforeAll(async () => {
      server = await startS3TestServer({ bucket: 'oldest-lake' });
    });
    afterAll(async () => {
      await server?.close();
    });

    it('costs one LIST request per log type however many pages the prefixes hold', async () => {
      // Pages of 2 keys and 6 keys per log type: listing everything would take 3 requests per type.
      const store = new S3ObjectStore({ client: server.client, bucket: server.bucket, pageSize: 2 });
      for (const [t, type] of LOG_TYPES.entries()) {
        for (let i = 0; i < 6; i++) {
          await store.put(rawKey(type, at('2026-11-20T00:00:00Z') + (t + i) * 3_600_000, `k${i}`), 'x');
        }
      }
      const before = server.faults.requests.ListObjectsV2;
      expect(await oldestRawArrivalHour(store)).toBe('dt=2026-11-20/hour=00');
      // One per known log type and one for log_type=unknown (empty).
      expect(server.faults.requests.ListObjectsV2 - before).toBe(LOG_TYPES.length + 1);
    });
  });
});
