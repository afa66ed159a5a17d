import { beforeEach, describe, expect, it } from 'vitest';
import { GlueCatalog } from '../../src/adapters/aws/glue-catalog.ts';
import { CommitConflictError, PipelineError, RetryableError } from '../../src/core/errors.ts';
import { CONTRACT_PARTITION_KEYS, partitionOf } from './catalog.contract.ts';
import { FakeGlue } from './fake-glue.ts';

const DB = 'eks_logs';
const BUCKET = 'lake-bucket';

describe('GlueCatalog against the fake Glue', () => {
  let glue: FakeGlue;
  let delays: number[];
  let catalog: GlueCatalog;

  beforeEach(() => {
    glue = new FakeGlue();
    glue.addTable(DB, 'audit_events', CONTRACT_PARTITION_KEYS, `s3://${BUCKET}/curated/audit_events/`);
    delays = [];
    catalog = new GlueCatalog({
      client: glue,
      database: DB,
      bucket: BUCKET,
      retry: { sleep: async (ms) => void delays.push(ms), baseDelayMs: 100, maxDelayMs: 2000 },
    });
  });

  it('chunks 250 new partitions into BatchCreatePartition calls of at most 100 and reads the table once (F16)', async () => {
    const ps = Array.from({ length: 250 }, (_, h) => partitionOf('audit_events', h, 'bf'));
    await catalog.putPartitions('audit_events', ps.slice(0, 240));
    await catalog.putPartitions('audit_events', ps.slice(240));
    const sizes = glue.callsOf('BatchCreatePartition').map((c) => c.input.PartitionInputList.length);
    expect(sizes).toEqual([100, 100, 40, 10]);
    expect(glue.callsOf('GetTable').length).toBe(1);
    expect(glue.callsOf('BatchUpdatePartition')).toEqual([]);
  });

  it('writes s3:// locations into Glue and reads them back lake-relative', async () => {
    const p = partitionOf('audit_events', 3, 'abc');
    await catalog.putPartitions('audit_events', [p]);
    const stored = glue.callsOf('BatchCreatePartition')[0]!.input.PartitionInputList[0];
    expect(stored.StorageDescriptor.Location).toBe(`s3://${BUCKET}/${p.location}`);
    // the table's StorageDescriptor is the template: same formats and SerDe
    expect(stored.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe(
      'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
    );
    expect(await catalog.getPartition('audit_events', p.values)).toEqual(p);
  });

  it('normalises a Glue location without trailing slash and keeps foreign locations as they are', async () => {
    const a = partitionOf('audit_events', 1, 'x');
    const b = partitionOf('audit_events', 2, 'x');
    await catalog.putPartitions('audit_events', [a, b]);
    glue.movePartition(DB, 'audit_events', a.values, `s3://${BUCKET}/${a.location.slice(0, -1)}`);
    glue.movePartition(DB, 'audit_events', b.values, 's3://other-bucket/somewhere/');
    expect(await catalog.listPartitions('audit_events')).toEqual([
      a,
      { ...b, location: 's3://other-bucket/somewhere/' },
    ]);
  });

  it('leaves AlreadyExists partitions at the wanted location alone: no update on a rerun (F14, F4)', async () => {
    const ps = [1, 2, 3].map((h) => partitionOf('audit_events', h, 'g1'));
    await catalog.putPartitions('audit_events', ps);
    await catalog.putPartitions('audit_events', ps);
    const second = glue.callsOf('BatchCreatePartition')[1]!;
    expect(second.input.PartitionInputList.length).toBe(3);
    expect(glue.callsOf('BatchUpdatePartition')).toEqual([]);
  });

  it('moves only the AlreadyExists partitions at another location, then confirms them (F14)', async () => {
    const ps = Array.from({ length: 150 }, (_, h) => partitionOf('audit_events', h, 'g1'));
    await catalog.putPartitions('audit_events', ps);
    const wanted = ps.map((p, h) => (h < 120 ? partitionOf('audit_events', h, 'g2') : p));
    await catalog.putPartitions('audit_events', wanted);
    const updates = glue.callsOf('BatchUpdatePartition').map((c) => c.input.Entries.length);
    expect(updates).toEqual([100, 20]);
    const locations = glue.locations(DB, 'audit_events');
    for (const p of wanted) expect(locations.get(JSON.stringify(p.values))).toBe(`s3://${BUCKET}/${p.location}`);
  });

  it('raises CommitConflictError when another writer moves the partition right after our update (F14)', async () => {
    const p = partitionOf('audit_events', 4, 'g1');
    await catalog.putPartitions('audit_events', [p]);
    glue.afterCall('BatchUpdatePartition', () =>
      glue.movePartition(
        DB,
        'audit_events',
        p.values,
        `s3://${BUCKET}/${partitionOf('audit_events', 4, 'other').location}`,
      ),
    );
    const err = await catalog.putPartitions('audit_events', [partitionOf('audit_events', 4, 'g2')]).catch((e) => e);
    expect(err).toBeInstanceOf(CommitConflictError);
    expect((err as Error).message).toMatch(/gen=g2\/.*found curated\/audit_events\/.*gen=other\//);
  });

  it('retries ThrottlingException and ConcurrentModificationException with growing full-jitter waits (F15)', async () => {
    glue.failCalls('BatchCreatePartition', 'ThrottlingException', 3);
    glue.failCalls('GetPartitions', 'ConcurrentModificationException', 2);
    const ps = [0, 1].map((h) => partitionOf('audit_events', h, 'g1'));
    await catalog.putPartitions('audit_events', ps);
    expect(await catalog.listPartitions('audit_events')).toEqual(ps);
    expect(glue.callsOf('BatchCreatePartition').length).toBe(4);
    expect(delays.length).toBe(5);
    // full jitter: attempt n waits in [0, min(cap, base·2^(n-1)))
    const ceilings = [100, 200, 400, 100, 200];
    delays.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(ceilings[i]!);
    });
  });

  it('retries 5xx InternalServiceException and per-entry transient errors, re-sending only those entries (F15)', async () => {
    glue.failCalls('GetTable', 'InternalServiceException', 1);
    glue.failEntries('BatchCreatePartition', 'ThrottlingException', 1);
    const ps = [0, 1, 2].map((h) => partitionOf('audit_events', h, 'g1'));
    await catalog.putPartitions('audit_events', ps);
    expect(glue.callsOf('GetTable').length).toBe(2);
    expect(glue.callsOf('BatchCreatePartition').map((c) => c.input.PartitionInputList.length)).toEqual([3, 3]);
    expect(await catalog.listPartitions('audit_events')).toEqual(ps);
  });

  it('gives up after a bounded number of attempts with a RetryableError when throttling never ends (F15)', async () => {
    glue.failCalls('BatchCreatePartition', 'ThrottlingException', 1000);
    const bounded = new GlueCatalog({
      client: glue,
      database: DB,
      bucket: BUCKET,
      retry: { sleep: async () => {}, maxAttempts: 5 },
    });
    const err = await bounded.putPartitions('audit_events', [partitionOf('audit_events', 0, 'g')]).catch((e) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect(((err as RetryableError).cause as Error).name).toBe('ThrottlingException');
    expect(glue.callsOf('BatchCreatePartition').length).toBe(5);
  });

  it('pages GetPartitions with NextToken until the last page', async () => {
    const ps = Array.from({ length: 60 }, (_, h) => partitionOf('audit_events', h, 'g'));
    await catalog.putPartitions('audit_events', ps);
    const listed = await catalog.listPartitions('audit_events');
    expect(listed.length).toBe(60);
    expect(glue.callsOf('GetPartitions').map((c) => c.input.NextToken === undefined)).toEqual([true, false, false]);
  });

  it('re-requests BatchGetPartition UnprocessedKeys when confirming moves', async () => {
    const ps = [0, 1, 2, 3].map((h) => partitionOf('audit_events', h, 'g1'));
    await catalog.putPartitions('audit_events', ps);
    glue.leaveUnprocessed(2);
    const moved = ps.map((_, h) => partitionOf('audit_events', h, 'g2'));
    await catalog.putPartitions('audit_events', moved);
    expect(await catalog.listPartitions('audit_events')).toEqual(moved);
    expect(glue.callsOf('BatchGetPartition').length).toBeGreaterThan(2);
  });

  it('fails clearly on a missing table and on a non-transient entry error', async () => {
    await expect(catalog.putPartitions('component_logs', [partitionOf('component_logs', 0, 'g')])).rejects.toThrow(
      /Glue table eks_logs\.component_logs not found/,
    );
    await expect(catalog.listPartitions('component_logs')).rejects.toThrow(/not found/);
    const short = { values: ['111122223333', 'prod-eu'], location: 'curated/audit_events/x/' };
    const err = await catalog.putPartitions('audit_events', [short]).catch((e) => e);
    expect(err).toBeInstanceOf(PipelineError);
    expect((err as Error).message).toMatch(/InvalidInputException/);
  });

  it('returns undefined for an absent partition of an existing table', async () => {
    expect(await catalog.getPartition('audit_events', ['1', 'c', '2025-01-01', '00'])).toBeUndefined();
    await expect(catalog.getPartition('component_logs', ['1', 'c', '2025-01-01', '00'])).rejects.toThrow(/not found/);
  });
});
