import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbQueryEngine } from '../../src/adapters/local/duckdb-query-engine.ts';
import { parseInputsToLines } from '../../src/cli/commands/parse.ts';
import { TABLES } from '../../src/core/schema.ts';
import { listNamedQueries } from '../../src/core/sql/catalogue.ts';
import { compactObjects } from '../../src/pipeline/compact.ts';
import { countRows, type Lake, makeLake, readPublished } from '../pipeline/compact-lake.ts';

// Real sample lines → parser → raw/ objects → compaction (parquet-wasm) → catalog → DuckDB views.
const MESSAGES = join(__dirname, '../fixtures/messages');
const ALL_TIME = { dtFrom: '2000-01-01', dtTo: '2099-12-31' };

let lake: Lake;
let engine: DuckDbQueryEngine;
let rawLines = 0;

beforeAll(async () => {
  lake = makeLake();
  const byKey = new Map<string, string[]>();
  let latest = 0;
  for (const f of readdirSync(MESSAGES).filter((x) => x.endsWith('.json.gz'))) {
    for (const line of parseInputsToLines([{ name: f, bytes: readFileSync(join(MESSAGES, f)) }], {
      region: 'eu-west-1',
    })) {
      const rec = JSON.parse(line) as { log_type: string; cwl_timestamp: number };
      const at = new Date(rec.cwl_timestamp).toISOString();
      const key = `raw/log_type=${rec.log_type}/dt=${at.slice(0, 10)}/hour=${at.slice(11, 13)}/eks-logs-1.gz`;
      byKey.set(key, [...(byKey.get(key) ?? []), line]);
      latest = Math.max(latest, rec.cwl_timestamp);
      rawLines++;
    }
  }
  for (const [key, lines] of byKey) await lake.store.put(key, gzipSync(`${lines.join('\n')}\n`));
  await compactObjects(lake.deps(latest + 3_600_000), { planId: 'p1', keys: [...byKey.keys()] });
  engine = new DuckDbQueryEngine({ lakeDir: lake.dir, catalog: lake.catalog });
});

afterAll(async () => {
  await engine?.close();
  lake?.dispose();
});

describe('the pack over compacted real samples', () => {
  it('exposes exactly the published rows of every curated table', async () => {
    const published = await readPublished(lake.store, lake.catalog);
    let viewed = 0;
    for (const t of TABLES.filter((x) => x.producer === 'compaction')) {
      const [row] = await engine.runSql(`SELECT count(*) AS n FROM ${t.name}`);
      expect(row!.n, t.name).toBe(published[t.name]!.length);
      viewed += Number(row!.n);
    }
    expect(viewed).toBe(countRows(published));
    expect(viewed).toBeGreaterThan(0);
  });

  it('runs every named query without error', async () => {
    for (const q of listNamedQueries()) {
      const params: Record<string, string> = { ...ALL_TIME };
      if (q.params.some((p) => p.name === 'username')) params.username = 'eks:node-manager';
      for (const p of q.params) if (!(p.name in params) && p.default === undefined) params[p.name] = p.example;
      await expect(engine.runNamed(q.name, params), q.name).resolves.toBeInstanceOf(Array);
    }
  });

  it('counts every raw line through raw_events', async () => {
    const rows = await engine.runNamed('count-raw-events', ALL_TIME);
    expect(rows.reduce((n, r) => n + Number(r.events), 0)).toBe(rawLines);
  });

  it('finds the unmapped-ARN denial of the authenticator sample', async () => {
    const rows = await engine.runNamed('list-authenticator-denials', ALL_TIME);
    expect(rows).toContainEqual(
      expect.objectContaining({ arn: 'arn:aws:iam::012345678910:role/SSODeveloperAccess', error: 'ARN is not mapped' }),
    );
  });

  it('finds the scheduler sample that could not place minio-1', async () => {
    const rows = await engine.runNamed('find-scheduler-failures', ALL_TIME);
    expect(rows.map((r) => r.pod)).toContain('test-the-oss/minio-1');
  });

  it('finds the controller-manager lease acquisition of the samples', async () => {
    const rows = await engine.runNamed('find-leader-election-changes', ALL_TIME);
    expect(rows.map((r) => r.msg).join('\n')).toMatch(
      /successfully acquired lease kube-system\/kube-controller-manager/,
    );
  });
});
