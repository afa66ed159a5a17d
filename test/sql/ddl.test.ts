import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hiveType, RAW_PARTITION_KEYS, TABLES } from '../../src/core/schema.ts';
import { renderCreateTableDdl } from '../../src/core/sql/catalogue.ts';
import {
  curatedTableDdlFile,
  ddlStatementName,
  RAW_COLUMNS,
  RAW_TABLE,
  rawTableDdlFile,
} from '../../src/core/sql/ddl.ts';

const SQL_DIR = join(__dirname, '../../sql');

// The DDL files and the bundled copy of sql/ are generated; `npx vitest run test/sql -u` rewrites them.
describe('generated SQL files', () => {
  it.each(TABLES.map((t) => [t.name, t] as const))('keeps the DDL of %s equal to schema.ts', async (_n, table) => {
    await expect(curatedTableDdlFile(table)).toMatchFileSnapshot(
      join(SQL_DIR, 'athena', `${ddlStatementName(table.name)}.sql`),
    );
  });

  it('keeps the raw table DDL equal to its column list', async () => {
    await expect(rawTableDdlFile()).toMatchFileSnapshot(join(SQL_DIR, 'athena', `${ddlStatementName(RAW_TABLE)}.sql`));
  });

  it('bundles exactly the files under sql/ into the catalogue module', async () => {
    const files: Record<string, string> = {};
    for (const engine of ['athena', 'duckdb']) {
      for (const f of readdirSync(join(SQL_DIR, engine)).sort()) {
        files[`${engine}/${f}`] = readFileSync(join(SQL_DIR, engine, f), 'utf8');
      }
    }
    await expect(`${JSON.stringify(files, null, 2)}\n`).toMatchFileSnapshot(
      join(__dirname, '../../src/core/sql/sql-files.generated.json'),
    );
  });
});

describe('renderCreateTableDdl', () => {
  it('declares every schema column with its hiveType, in order, then the partition keys', () => {
    for (const table of TABLES) {
      const ddl = renderCreateTableDdl(table.name, 's3://lake-bucket/');
      const declared = [...ddl.matchAll(/^ {2}`([a-z_0-9]+)` (\S+) COMMENT/gm)].map((m) => [m[1], m[2]]);
      expect(declared).toEqual([...table.columns, ...table.partitionKeys].map((c) => [c.name, hiveType(c.type)]));
      expect(ddl).toContain(`LOCATION 's3://lake-bucket/curated/${table.name}/'`);
      expect(ddl).toContain('STORED AS PARQUET');
    }
  });

  it('maps native audit JSON keys of raw records to lower_snake columns', () => {
    const ddl = renderCreateTableDdl(RAW_TABLE, 's3://lake-bucket/');
    expect(ddl).toContain("'mapping.audit_id' = 'auditid'");
    expect(ddl).toContain("'mapping.source_ips' = 'sourceips'");
    expect(ddl).toContain("LOCATION 's3://lake-bucket/raw/'");
    const declared = [...ddl.matchAll(/^ {2}`([a-z_0-9]+)` (\S+) COMMENT/gm)].map((m) => m[1]);
    expect(declared).toEqual([...RAW_COLUMNS, ...RAW_PARTITION_KEYS].map((c) => c.name));
  });

  it('escapes comments the Hive way, so an apostrophe survives', () => {
    expect(renderCreateTableDdl('audit_events', 's3://b/')).toContain("COMMENT 'the event\\'s own time");
  });
});
