import { describe, expect, it } from 'vitest';
import {
  ATHENA_ONLY,
  getStatement,
  listNamedQueries,
  loadStatements,
  namedQueryDefinitions,
  renderNamed,
} from '../../../src/core/sql/catalogue.ts';
import { PLACEHOLDER } from '../../../src/core/sql/statement.ts';

const all = loadStatements();
const athena = all.filter((s) => s.engine === 'athena');
const duckdb = all.filter((s) => s.engine === 'duckdb');
const VERBS = ['add', 'count', 'create', 'find', 'list'];

describe('SQL catalogue', () => {
  it('gives every Athena statement a DuckDB twin except the explicit allow-list', () => {
    const withoutTwin = athena.filter((a) => !duckdb.some((d) => d.name === a.name)).map((a) => a.name);
    expect(withoutTwin.sort()).toEqual([...ATHENA_ONLY].sort());
    for (const d of duckdb)
      expect(
        athena.map((a) => a.name),
        d.name,
      ).toContain(d.name);
  });

  it('declares the same parameters, kind and description in both twins', () => {
    for (const d of duckdb) {
      const a = athena.find((x) => x.name === d.name)!;
      expect(d.params, d.name).toEqual(a.params);
      expect(d.kind, d.name).toBe(a.kind);
      expect(d.description, d.name).toBe(a.description);
    }
  });

  it('uses every declared parameter in each file', () => {
    for (const s of all)
      expect([...s.placeholders].sort(), `${s.engine}/${s.name}`).toEqual(s.params.map((p) => p.name).sort());
  });

  it('names files <verb>-<object> with a known verb', () => {
    for (const s of all) expect(VERBS, s.name).toContain(s.name.split('-')[0]);
  });

  it('ships an investigation pack of at least 12 read-only queries', () => {
    const pack = listNamedQueries();
    expect(pack.length).toBeGreaterThanOrEqual(12);
    for (const q of pack) {
      expect(q.idempotent, q.name).toMatch(/^yes/);
      expect(q.body, q.name).toMatch(/^(SELECT|WITH)\b/);
    }
  });

  it('renders the named queries for infra with example values and no placeholder left', () => {
    const defs = namedQueryDefinitions();
    expect(defs.map((d) => d.name)).toEqual(listNamedQueries().map((q) => q.name));
    for (const d of defs) {
      expect(d.sql, d.name).not.toMatch(PLACEHOLDER);
      expect(d.sql, d.name).toContain("dt BETWEEN '2026-01-01' AND '2026-01-01'");
      expect(d.description.length).toBeLessThanOrEqual(1024);
      expect(d.description).toContain('dtFrom=2026-01-01');
    }
  });

  it('renders the rollup for each engine into the generation location under the lake root', () => {
    const params = {
      planId: 'p42',
      account: '111122223333',
      cluster: 'prod-eu-1',
      dt: '2026-01-02',
      hour: '07',
      location: 'curated/audit_hourly_summary/account=111122223333/cluster=prod-eu-1/dt=2026-01-02/hour=07/gen=p42/',
    };
    const a = renderNamed('athena', 'create-audit-hourly-summary', params, { lakeRoot: 's3://lake/' });
    expect(a).toContain(`TO 's3://lake/${params.location}'`);
    expect(a).toContain("AND hour = '07'");
    expect(a).toMatch(/-- plan p42$/);
    const d = renderNamed('duckdb', 'create-audit-hourly-summary', params, { lakeRoot: '/data/lake/' });
    expect(d).toContain(`TO '/data/lake/${params.location}part-00000.parquet'`);
  });

  it('rejects an unknown statement name, listing the known ones', () => {
    expect(() => getStatement('duckdb', 'add-raw-partitions')).toThrow(/known: .*find-object-changes/);
  });
});
