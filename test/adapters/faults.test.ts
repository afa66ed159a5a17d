import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../src/adapters/local/fs-object-store.ts';
import { LocalCatalog } from '../../src/adapters/local/local-catalog.ts';
import { RetryableError } from '../../src/core/errors.ts';
import { awsError, enospcError, FaultyCatalog, FaultyObjectStore, SimulatedCrash } from '../helpers/faults.ts';
import { partitionOf } from './catalog.contract.ts';

async function keys(store: FaultyObjectStore | FsObjectStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list(prefix)) out.push(o.key);
  return out;
}

describe('fault-injecting wrappers', () => {
  let dir: string;
  let inner: FsObjectStore;
  let store: FaultyObjectStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'faults-'));
    inner = new FsObjectStore(dir);
    store = new FaultyObjectStore(inner);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('crashes on the k-th matching put before it lands, leaving k-1 files (F1)', async () => {
    const handle = store.crashOn('put', /^curated\/.*\.parquet$/, 3);
    await store.put('control/lease.json', '{}');
    const parts = [0, 1, 2, 3].map((i) => `curated/t/gen=a/part-${i}.parquet`);
    const written: string[] = [];
    const err = await (async () => {
      for (const k of parts) {
        await store.put(k, 'x');
        written.push(k);
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SimulatedCrash);
    expect((err as SimulatedCrash).where).toMatch(/part-2\.parquet/);
    expect(written).toEqual(parts.slice(0, 2));
    expect(await keys(inner, 'curated/')).toEqual(parts.slice(0, 2));
    expect(handle).toMatchObject({ seen: 3, fired: 1 });
    await store.put(parts[2]!, 'x'); // the rule is spent: a rerun goes through
    expect(await keys(inner, 'curated/')).toEqual(parts.slice(0, 3));
  });

  it('crashes after the write landed when asked to (F2, F3)', async () => {
    store.crashAfter('put', 'control/manifests/w1.json');
    await expect(store.put('control/manifests/w1.json', '{"plan":"p"}')).rejects.toBeInstanceOf(SimulatedCrash);
    expect(Buffer.from((await inner.get('control/manifests/w1.json'))!.body).toString()).toBe('{"plan":"p"}');
  });

  it('fails N times then succeeds', async () => {
    await inner.put('raw/a.gz', 'abc');
    store.failTimes('get', 2, 'raw/a.gz');
    await expect(store.get('raw/a.gz')).rejects.toBeInstanceOf(RetryableError);
    await expect(store.get('raw/a.gz')).rejects.toBeInstanceOf(RetryableError);
    expect(Buffer.from((await store.get('raw/a.gz'))!.body).toString()).toBe('abc');
    expect(store.faults.calls.map((c) => c.fault ?? 'ok')).toEqual(['RetryableError', 'RetryableError', 'ok']);
  });

  it('throws AWS-shaped and ENOSPC errors on cue (F10, F28)', async () => {
    store.failOn({ op: 'put', error: () => awsError('SlowDown', 503) });
    store.failOn({ op: 'put', nth: 2, error: () => enospcError('/tmp/stage/part-0.parquet') });
    const first = await store.put('a', 'x').catch((e: unknown) => e);
    expect(first).toMatchObject({ name: 'SlowDown', $metadata: { httpStatusCode: 503 } });
    const second = await store.put('b', 'x').catch((e: unknown) => e);
    expect(second).toMatchObject({ code: 'ENOSPC', syscall: 'write' });
    await store.put('c', 'x');
    expect(await keys(inner, '')).toEqual(['c']);
  });

  it('cuts a stream after some bytes (F9)', async () => {
    await inner.put('raw/big.gz', Buffer.alloc(100_000, 7));
    store.failOn({ op: 'getStream', cutAfterBytes: 1000, error: awsError('InternalError', 500) });
    let got = 0;
    const err = await (async () => {
      for await (const chunk of (await store.getStream('raw/big.gz'))!) got += chunk.byteLength;
    })().catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'InternalError' });
    expect(got).toBe(1000);
  });

  it('fails a list and a delete when any key matches', async () => {
    await inner.put('x/1', '1');
    store.failOn({ op: 'delete', match: /\/2$/, error: new Error('delete refused') });
    await store.delete(['x/1']);
    await expect(store.delete(['x/3', 'x/2'])).rejects.toThrow('delete refused');
    store.crashOn('list', 'x/');
    await expect(keys(store, 'x/')).rejects.toBeInstanceOf(SimulatedCrash);
    expect(await keys(store, 'x/')).toEqual([]);
  });

  it('crashes a catalog switch after it took effect (F4) and passes through otherwise', async () => {
    const catalog = new FaultyCatalog(new LocalCatalog(inner));
    catalog.crashAfter('putPartitions', 'audit_events');
    const p = partitionOf('audit_events', 0, 'g2');
    await expect(catalog.putPartitions('audit_events', [p])).rejects.toBeInstanceOf(SimulatedCrash);
    expect(await catalog.getPartition('audit_events', p.values)).toEqual(p);
    catalog.failTimes('listPartitions', 1);
    await expect(catalog.listPartitions('audit_events')).rejects.toBeInstanceOf(RetryableError);
    expect(await catalog.listPartitions('audit_events')).toEqual([p]);
  });

  it('rejects rules that could never fire', () => {
    expect(() => store.failOn({ op: 'put', nth: 0 })).toThrow(/nth/);
    expect(() => store.failOn({ op: 'put', times: 0 })).toThrow(/times/);
  });
});
