import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuckDbQueryEngine } from '../../src/adapters/local/duckdb-query-engine.ts';
import { FsObjectStore } from '../../src/adapters/local/fs-object-store.ts';
import { LocalCatalog } from '../../src/adapters/local/local-catalog.ts';
import { TABLES } from '../../src/core/schema.ts';
import { writeCuratedPartition } from '../helpers/curated-parquet.ts';

const VALUES: [string, string, string, string] = ['111122223333', 'c1', '2026-02-01', '05'];
const row = (eventId: string, username: string) => ({
  time: '2026-02-01T05:00:00Z',
  event_id: eventId,
  cwl_timestamp: '2026-02-01T05:00:00Z',
  stage: 'ResponseComplete',
  username,
  user_groups: ['g1', 'g2'],
  annotations: { k: 'v' },
  response_code: 200,
  latency_ms: 1.5,
});

let lakeDir: string;
let catalog: LocalCatalog;
let engine: DuckDbQueryEngine;

beforeEach(async () => {
  lakeDir = await mkdtemp(join(tmpdir(), 'duckdb-engine-'));
  catalog = new LocalCatalog(new FsObjectStore(lakeDir));
  engine = new DuckDbQueryEngine({ lakeDir, catalog });
});

afterEach(async () => {
  await engine.close();
  await rm(lakeDir, { recursive: true, force: true });
});

describe('DuckDbQueryEngine', () => {
  it('answers over an empty lake with typed, empty tables', async () => {
    for (const t of [...TABLES.map((x) => x.name), 'raw_events']) {
      expect(await engine.runSql(`SELECT * FROM ${t} WHERE dt = '2026-02-01'`), t).toEqual([]);
    }
    const types = await engine.runSql(
      "SELECT column_name, column_type FROM (DESCRIBE audit_events) WHERE column_name IN ('time', 'user_groups', 'annotations', 'dt')",
    );
    expect(types).toEqual([
      { column_name: 'time', column_type: 'TIMESTAMP WITH TIME ZONE' },
      { column_name: 'user_groups', column_type: 'VARCHAR[]' },
      { column_name: 'annotations', column_type: 'MAP(VARCHAR, VARCHAR)' },
      { column_name: 'dt', column_type: 'VARCHAR' },
    ]);
  });

  it('reads only the generation the catalog points at, and follows a switch', async () => {
    const g1 = await writeCuratedPartition(lakeDir, 'audit_events', VALUES, 'g1', [row('1', 'old')]);
    const g2 = await writeCuratedPartition(lakeDir, 'audit_events', VALUES, 'g2', [row('1', 'new'), row('2', 'new')]);
    await catalog.putPartitions('audit_events', [g1]);
    expect(await engine.runSql('SELECT username, account, cluster, dt, hour FROM audit_events')).toEqual([
      { username: 'old', account: VALUES[0], cluster: 'c1', dt: '2026-02-01', hour: '05' },
    ]);
    await catalog.putPartitions('audit_events', [g2]);
    expect(await engine.runSql('SELECT count(*) AS n, min(username) AS u FROM audit_events')).toEqual([
      { n: 2, u: 'new' },
    ]);
  });

  it('takes partition values from the catalog, not from the path', async () => {
    const p = await writeCuratedPartition(lakeDir, 'audit_events', VALUES, 'g1', [row('1', 'x')]);
    await catalog.putPartitions('audit_events', [
      { values: ['444455556666', 'c9', '2026-02-02', '06'], location: p.location },
    ]);
    expect(await engine.runSql('SELECT account, cluster, dt, hour FROM audit_events')).toEqual([
      { account: '444455556666', cluster: 'c9', dt: '2026-02-02', hour: '06' },
    ]);
  });

  it('ignores files that are not part files and partitions whose generation is gone', async () => {
    const p = await writeCuratedPartition(lakeDir, 'audit_events', VALUES, 'g1', [row('1', 'x')]);
    await catalog.putPartitions('audit_events', [
      p,
      {
        values: [VALUES[0], VALUES[1], VALUES[2], '06'],
        location: 'curated/audit_events/account=111122223333/cluster=c1/dt=2026-02-01/hour=06/gen=gone/',
      },
    ]);
    expect(await engine.runSql('SELECT count(*) AS n FROM audit_events')).toEqual([{ n: 1 }]);
  });

  it('returns lists and maps as JSON values and counts as numbers', async () => {
    await catalog.putPartitions('audit_events', [
      await writeCuratedPartition(lakeDir, 'audit_events', VALUES, 'g1', [row('1', 'x')]),
    ]);
    expect(
      await engine.runSql(
        'SELECT user_groups, annotations, latency_ms, response_code, count(*) OVER () AS n FROM audit_events',
      ),
    ).toEqual([
      { user_groups: ['g1', 'g2'], annotations: [{ key: 'k', value: 'v' }], latency_ms: 1.5, response_code: 200, n: 1 },
    ]);
  });

  it('rejects bad parameters before running anything', async () => {
    await expect(
      engine.runNamed('list-top-callers', { dtFrom: '2026-02-01', dtTo: '2026-02-01', limit: '1; DROP' }),
    ).rejects.toThrow(/expected an integer/);
  });
});
