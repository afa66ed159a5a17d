import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../src/adapters/local/fs-object-store.ts';
import { LocalCatalog, localCatalogKey } from '../../src/adapters/local/local-catalog.ts';
import { PipelineError, PreconditionFailedError, RetryableError } from '../../src/core/errors.ts';
import { FaultyObjectStore } from '../helpers/faults.ts';
import { partitionOf } from './catalog.contract.ts';

describe('LocalCatalog specifics', () => {
  let dir: string;
  let store: FsObjectStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'local-catalog-'));
    store = new FsObjectStore(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps a table as control/catalog/<table>.json, partitions sorted by values', async () => {
    const ps = [2, 0, 1].map((h) => partitionOf('audit_events', h, 'g1'));
    await new LocalCatalog(store).putPartitions('audit_events', ps);
    expect(localCatalogKey('audit_events')).toBe('control/catalog/audit_events.json');
    const file = JSON.parse(Buffer.from((await store.get('control/catalog/audit_events.json'))!.body).toString());
    expect(file).toEqual({ version: 1, table: 'audit_events', partitions: [ps[1], ps[2], ps[0]] });
  });

  it('does not rewrite the file when nothing changes', async () => {
    const faulty = new FaultyObjectStore(store);
    const catalog = new LocalCatalog(faulty);
    const ps = [partitionOf('audit_events', 0, 'g1')];
    await catalog.putPartitions('audit_events', ps);
    await catalog.putPartitions('audit_events', ps);
    expect(faulty.faults.calls.filter((c) => c.op === 'put')).toHaveLength(1);
  });

  it('loses nothing when catalogs over separate store instances write at once', async () => {
    const catalogs = Array.from({ length: 4 }, () => new LocalCatalog(new FsObjectStore(dir)));
    const batches = catalogs.map((_, w) =>
      Array.from({ length: 5 }, (_, i) => partitionOf('audit_events', w * 5 + i, `w${w}`)),
    );
    await Promise.all(catalogs.map((c, w) => c.putPartitions('audit_events', batches[w]!)));
    expect(await new LocalCatalog(store).listPartitions('audit_events')).toHaveLength(20);
  });

  it('retries a lost If-Match race and gives up, bounded, if it never wins', async () => {
    const faulty = new FaultyObjectStore(store);
    const lose = () => new PreconditionFailedError('injected 412', localCatalogKey('audit_events'));
    faulty.failOn({ op: 'put', times: 3, error: lose });
    await new LocalCatalog(faulty).putPartitions('audit_events', [partitionOf('audit_events', 0, 'g1')]);
    expect(await new LocalCatalog(store).listPartitions('audit_events')).toHaveLength(1);

    faulty.failOn({ op: 'put', times: Number.POSITIVE_INFINITY, error: lose });
    const bounded = new LocalCatalog(faulty, { retry: { maxAttempts: 5, sleep: async () => {} } });
    const err = await bounded.putPartitions('audit_events', [partitionOf('audit_events', 1, 'g1')]).catch((e) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect(faulty.faults.calls.filter((c) => c.op === 'put' && c.fault)).toHaveLength(3 + 5);
  });

  it('reports a damaged catalog file clearly instead of overwriting it', async () => {
    await store.put('control/catalog/audit_events.json', '{"version":1,"tab');
    const catalog = new LocalCatalog(store);
    await expect(catalog.listPartitions('audit_events')).rejects.toThrow(
      /control\/catalog\/audit_events\.json is not JSON/,
    );
    await expect(catalog.putPartitions('audit_events', [partitionOf('audit_events', 0, 'g')])).rejects.toBeInstanceOf(
      PipelineError,
    );
    expect(Buffer.from((await store.get('control/catalog/audit_events.json'))!.body).toString()).toBe(
      '{"version":1,"tab',
    );
  });
});
