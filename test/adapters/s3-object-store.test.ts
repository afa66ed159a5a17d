import { ListObjectsV2Command, PutObjectCommand, type S3ServiceException } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../src/adapters/aws/s3-object-store.ts';
import { PreconditionFailedError, RetryableError } from '../../src/core/errors.ts';
import { type S3TestServer, startS3TestServer } from '../helpers/s3-server.ts';

const noWait = { sleep: async () => {} };
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

function patterned(size: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 7 + (i >> 8)) & 0xff;
  return bytes;
}

describe('S3ObjectStore under injected S3 faults', () => {
  let server: S3TestServer;
  let store: S3ObjectStore;

  beforeAll(async () => {
    server = await startS3TestServer({ bucket: 'fault-lake' });
    store = new S3ObjectStore({ client: server.client, bucket: server.bucket, retry: noWait });
  });
  afterAll(async () => {
    await server?.close();
  });
  beforeEach(() => {
    server.faults.clear();
  });

  describe('the proxy in front of s3rver', () => {
    it('answers conditional PutObject as S3 does: 412 PreconditionFailed, 404 NoSuchKey for If-Match on a missing key', async () => {
      const put = (Key: string, extra: { IfNoneMatch?: string; IfMatch?: string }) =>
        server.client.send(new PutObjectCommand({ Bucket: server.bucket, Key, Body: 'x', ...extra })).then(
          () => 'ok',
          (e: S3ServiceException) => `${e.$metadata.httpStatusCode} ${e.name}`,
        );
      expect(await put('proxy/a', { IfNoneMatch: '*' })).toBe('ok');
      expect(await put('proxy/a', { IfNoneMatch: '*' })).toBe('412 PreconditionFailed');
      expect(await put('proxy/a', { IfMatch: '"0123"' })).toBe('412 PreconditionFailed');
      expect(await put('proxy/missing', { IfMatch: '"0123"' })).toBe('404 NoSuchKey');
    });

    it('lists with a Delimiter in S3 byte order, common prefixes counted in MaxKeys pages', async () => {
      for (const k of ['delim/a/b', 'delim/a-c', 'delim/a/c', 'delim/b', 'delim/c/x/y']) await store.put(k, k);
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await server.client.send(
          new ListObjectsV2Command({
            Bucket: server.bucket,
            Prefix: 'delim/',
            Delimiter: '/',
            MaxKeys: 2,
            ContinuationToken: token,
          }),
        );
        const entries = [
          ...(page.Contents ?? []).map((c) => c.Key!),
          ...(page.CommonPrefixes ?? []).map((c) => c.Prefix!),
        ].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
        seen.push(...entries);
        token = page.NextContinuationToken;
        pages++;
      } while (token && pages < 10);
      expect(seen).toEqual(['delim/a-c', 'delim/a/', 'delim/b', 'delim/c/']);
      expect(pages).toBe(2);
    });

    it('is needed: s3rver alone ignores If-None-Match and overwrites', async () => {
      const raw = server.makeClient({ endpoint: server.upstreamEndpoint });
      try {
        await raw.send(new PutObjectCommand({ Bucket: server.bucket, Key: 'proxy/raw', Body: 'one' }));
        await raw.send(
          new PutObjectCommand({ Bucket: server.bucket, Key: 'proxy/raw', Body: 'two', IfNoneMatch: '*' }),
        );
        expect(text((await store.get('proxy/raw'))!.body)).toBe('two');
      } finally {
        raw.destroy();
      }
    });
  });

  it('completes a put through a 503 SlowDown burst and stores one object (F10)', async () => {
    server.faults.slowDown(2, 'PutObject', 'slow/part-00000.parquet');
    const firedBefore = server.faults.fired.length;
    const before = server.faults.requests.PutObject;
    const { etag } = await store.put('slow/part-00000.parquet', 'parquet bytes', { ifNoneMatch: '*' });
    expect(server.faults.fired.slice(firedBefore).map((f) => f.kind)).toEqual(['SlowDown', 'SlowDown']);
    expect(server.faults.requests.PutObject - before).toBe(3);
    expect(await collect(store.list('slow/'))).toEqual([
      expect.objectContaining({ key: 'slow/part-00000.parquet', etag }),
    ]);
  });

  it('surfaces SlowDown once the SDK attempts are spent', async () => {
    server.faults.slowDown(10, 'PutObject', 'slow/never.parquet');
    const err = await store.put('slow/never.parquet', 'x').catch((e: unknown) => e);
    expect((err as Error).name).toBe('SlowDown');
    expect(await store.head('slow/never.parquet')).toBeUndefined();
  });

  it('retries 409 ConditionalRequestConflict and then writes (F12)', async () => {
    server.faults.conditionalConflicts(3, 'conflict/manifest.json');
    const firedBefore = server.faults.fired.length;
    const { etag } = await store.put('conflict/manifest.json', '{"plan":"p1"}', { ifNoneMatch: '*' });
    expect(server.faults.fired.slice(firedBefore).map((f) => f.kind)).toEqual(
      Array(3).fill('ConditionalRequestConflict'),
    );
    expect((await store.head('conflict/manifest.json'))!.etag).toBe(etag);
  });

  it('gives up on endless 409s with a RetryableError, bounded by the retry budget', async () => {
    const bounded = new S3ObjectStore({
      client: server.client,
      bucket: server.bucket,
      retry: { ...noWait, maxAttempts: 4 },
    });
    server.faults.conditionalConflicts(50, 'conflict/busy.json');
    const err = await bounded.put('conflict/busy.json', '{}', { ifNoneMatch: '*' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect(((err as RetryableError).cause as Error).name).toBe('ConditionalRequestConflict');
    expect(server.faults.pending()).toBe(46);
  });

  it('reports 412 after a 409 when the other writer won meanwhile (F11)', async () => {
    await store.put('conflict/lease.json', '{"owner":"a"}');
    server.faults.conditionalConflicts(1, 'conflict/lease.json');
    await expect(store.put('conflict/lease.json', '{"owner":"b"}', { ifNoneMatch: '*' })).rejects.toBeInstanceOf(
      PreconditionFailedError,
    );
    expect(text((await store.get('conflict/lease.json'))!.body)).toBe('{"owner":"a"}');
  });

  it('resumes a GetObject body cut mid-stream and returns every byte (F9)', async () => {
    const bytes = patterned(300_000);
    await store.put('cut/raw.gz', bytes);
    server.faults.truncateGets(2, 70_000, 'cut/raw.gz');
    const firedBefore = server.faults.fired.length;
    const before = server.faults.requests.GetObject;
    const got = await store.get('cut/raw.gz');
    expect(Buffer.from(got!.body).equals(bytes)).toBe(true);
    expect(server.faults.fired.slice(firedBefore).map((f) => f.kind)).toEqual(['TruncateBody', 'TruncateBody']);
    expect(server.faults.requests.GetObject - before).toBe(3);
  });

  it('resumes a streamed body the same way', async () => {
    const bytes = patterned(250_000);
    await store.put('cut/stream.gz', bytes);
    server.faults.truncateGets(1, 1, 'cut/stream.gz');
    const chunks = await collect((await store.getStream('cut/stream.gz'))!);
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
  });

  it('fails with a RetryableError when every read breaks, so the caller can mark the object poison (F9)', async () => {
    await store.put('cut/poison.gz', patterned(50_000));
    server.faults.truncateGets(100, 1000, 'cut/poison.gz');
    const before = server.faults.requests.GetObject;
    const err = await store.get('cut/poison.gz').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as Error).message).toMatch(/body broke 4 times/);
    expect(server.faults.requests.GetObject - before).toBe(4);
  });

  it('refuses to splice two versions when the object is replaced between reads', async () => {
    await store.put('cut/replaced.gz', patterned(100_000));
    const replacing = new S3ObjectStore({
      client: server.client,
      bucket: server.bucket,
      retry: { sleep: async () => void (await store.put('cut/replaced.gz', 'new version')) },
    });
    server.faults.truncateGets(1, 10_000, 'cut/replaced.gz');
    await expect(replacing.get('cut/replaced.gz')).rejects.toThrow(/replaced or deleted while being read/);
  });

  it('rides through 500 InternalError on GetObject with the SDK retry', async () => {
    await store.put('err500/x.json', '{"a":1}');
    server.faults.internalErrors(2, 'GetObject', 'err500/x.json');
    expect(text((await store.get('err500/x.json'))!.body)).toBe('{"a":1}');
    expect(server.faults.pending()).toBe(0);
  });

  it('pages ListObjectsV2 by the configured size, with a failed page retried, counting every key (F13)', async () => {
    const paged = new S3ObjectStore({ client: server.client, bucket: server.bucket, pageSize: 100 });
    const keys = Array.from({ length: 250 }, (_, i) => `paged/k-${String(i).padStart(4, '0')}`);
    for (let i = 0; i < keys.length; i += 25) await Promise.all(keys.slice(i, i + 25).map((k) => store.put(k, k)));
    const before = server.faults.requests.ListObjectsV2;
    server.faults.internalErrors(1, 'ListObjectsV2');
    const listed = (await collect(paged.list('paged/'))).map((o) => o.key);
    expect(listed).toEqual(keys);
    expect(server.faults.requests.ListObjectsV2 - before).toBe(4);
  });

  describe('a 403 on a read, as S3 answers a missing key when ListBucket is conditioned on s3:prefix', () => {
    const reads = [
      ['get', (key: string) => store.get(key), 'GetObject'],
      ['getStream', (key: string) => store.getStream(key), 'GetObject'],
      ['head', (key: string) => store.head(key), 'HeadObject'],
    ] as const;

    it.each(reads)('%s answers absent when a LIST of exactly the key finds nothing', async (_op, read, s3op) => {
      // A key that is a prefix of another must still read as absent.
      await store.put('denied/lease.json.bak', 'other');
      server.faults.accessDenied(1, s3op, 'denied/lease.json');
      const before = { ...server.faults.requests };
      expect(await read('denied/lease.json')).toBeUndefined();
      expect(server.faults.requests[s3op] - before[s3op]).toBe(1);
      expect(server.faults.requests.ListObjectsV2 - before.ListObjectsV2).toBe(1);
      expect(server.faults.pending()).toBe(0);
    });

    it.each(reads)(
      '%s rethrows the 403 when the key exists (a real denial, e.g. the KMS key)',
      async (_op, read, s3op) => {
        await store.put('denied/present.json', '{}');
        server.faults.accessDenied(1, s3op, 'denied/present.json');
        const err = await Promise.resolve(read('denied/present.json')).catch((e: unknown) => e);
        expect((err as S3ServiceException).$metadata?.httpStatusCode).toBe(403);
        expect(server.faults.pending()).toBe(0);
      },
    );

    it('rethrows the read 403, not the LIST error, when the LIST is denied too', async () => {
      server.faults.accessDenied(1, 'GetObject', 'denied/nowhere.json');
      server.faults.accessDenied(1, 'ListObjectsV2');
      const err = await store.get('denied/nowhere.json').catch((e: unknown) => e);
      expect((err as S3ServiceException).name).toBe('AccessDenied');
      expect((err as S3ServiceException).$metadata.httpStatusCode).toBe(403);
    });
  });

  it('deletes in DeleteObjects batches of at most 1,000 keys', async () => {
    const keys = Array.from({ length: 1001 }, (_, i) => `bulk/k-${String(i).padStart(4, '0')}`);
    for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => store.put(k, '')));
    const before = server.faults.requests.DeleteObjects;
    await store.delete([...keys, 'bulk/never-existed']);
    expect(server.faults.requests.DeleteObjects - before).toBe(2);
    expect(await collect(store.list('bulk/'))).toEqual([]);
  });
});
