import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { type CuratedTableName, tableDef } from '../../src/core/schema.ts';
import { duckdbType } from '../../src/core/sql/ddl.ts';
import { quoteString } from '../../src/core/sql/quote.ts';
import type { CatalogPartition } from '../../src/ports.ts';

/** A curated row as test data: ISO strings for timestamps, arrays for lists, objects for maps. */
export type CuratedRow = Record<string, unknown>;

/** DuckDB `read_json` column spec of a curated table, with types derived from schema.ts. */
export function duckdbColumns(table: CuratedTableName): string {
  return tableDef(table)
    .columns.map((c) => `${quoteString(c.name)}: ${quoteString(duckdbType(c.type))}`)
    .join(', ');
}

/**
 * Writes `rows` as `<lakeDir>/curated/<table>/account=…/cluster=…/dt=…/hour=…/gen=<gen>/part-00000.parquet`
 * (ZSTD, schema types, no partition columns in the file) and returns the catalog partition.
 */
export async function writeCuratedPartition(
  lakeDir: string,
  table: CuratedTableName,
  values: readonly [string, string, string, string],
  gen: string,
  rows: readonly CuratedRow[],
): Promise<CatalogPartition> {
  const [account, cluster, dt, hour] = values;
  const location = `curated/${table}/account=${account}/cluster=${cluster}/dt=${dt}/hour=${hour}/gen=${gen}/`;
  await mkdir(join(lakeDir, location), { recursive: true });
  const tmp = await mkdtemp(join(tmpdir(), 'curated-rows-'));
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const con = await instance.connect();
  try {
    const src = join(tmp, 'rows.ndjson');
    await writeFile(src, rows.map((r) => JSON.stringify(r)).join('\n'));
    const names = tableDef(table).columns.map((c) => `"${c.name}"`);
    await con.run("SET TimeZone = 'UTC'");
    await con.run(
      `COPY (SELECT ${names.join(', ')} FROM read_json(${quoteString(src)}, format = 'newline_delimited', columns = {${duckdbColumns(table)}}))
       TO ${quoteString(join(lakeDir, location, 'part-00000.parquet'))} (FORMAT parquet, COMPRESSION zstd)`,
    );
  } finally {
    con.closeSync();
    instance.closeSync();
    await rm(tmp, { recursive: true, force: true });
  }
  return { values: [...values], location };
}
