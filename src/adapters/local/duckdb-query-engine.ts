import type { Dirent } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { InvalidInputError, QueryFailedError } from '../../core/errors.ts';
import { TABLES, type TableDef } from '../../core/schema.ts';
import { getStatement } from '../../core/sql/catalogue.ts';
import { duckdbType, RAW_COLUMNS, RAW_TABLE } from '../../core/sql/ddl.ts';
import { quoteIdentifier, quoteString } from '../../core/sql/quote.ts';
import { renderStatement } from '../../core/sql/statement.ts';
import type { Catalog, CatalogPartition, QueryEngine, QueryRow } from '../../ports.ts';

/** What the local engine reads: the lake folder and the catalog that says which generation is live. */
export interface DuckDbQueryEngineOptions {
  readonly lakeDir: string;
  readonly catalog: Catalog;
  /** DuckDB worker threads (default 2). */
  readonly threads?: number;
}

const PART_FILE = /^part-.*\.parquet$/;

/**
 * Athena's local stand-in. Curated tables are views under their Athena names over only the
 * files of each partition's published generation (from the catalog); partition columns come
 * from the catalog values. `raw_events` reads raw/ gzip NDJSON directly.
 */
export class DuckDbQueryEngine implements QueryEngine {
  readonly lakeDir: string;
  private readonly catalog: Catalog;
  private readonly threads: number;
  private connection: Promise<{ instance: DuckDBInstance; con: DuckDBConnection }> | undefined;
  /** Serialises view refresh + query: one connection, one statement at a time. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: DuckDbQueryEngineOptions) {
    this.lakeDir = resolve(options.lakeDir);
    this.catalog = options.catalog;
    this.threads = options.threads ?? 2;
  }

  /** Renders the DuckDB twin of `name`; creates the directory of any `location` parameter first. */
  async runNamed(name: string, params: Readonly<Record<string, string>>): Promise<QueryRow[]> {
    const stmt = getStatement('duckdb', name);
    const sql = renderStatement(stmt, params, { lakeRoot: `${this.lakeDir}/` });
    for (const p of stmt.params.filter((x) => x.type === 'location')) {
      const location = params[p.name] ?? p.default;
      if (location !== undefined) await mkdir(join(this.lakeDir, location), { recursive: true });
    }
    return this.runSql(sql);
  }

  /** Runs one statement against the views as the catalog has them now. */
  runSql(sql: string): Promise<QueryRow[]> {
    const run = this.queue.then(async () => {
      const { con } = await this.connect();
      await this.refreshViews(con);
      let reader: Awaited<ReturnType<DuckDBConnection['runAndReadAll']>>;
      try {
        reader = await con.runAndReadAll(sql);
      } catch (error) {
        // The same class Athena's engine raises for a failed statement, with DuckDB's reason.
        throw new QueryFailedError(error instanceof Error ? error.message : String(error));
      }
      const rows = reader.getRowObjectsJson() as QueryRow[];
      const bigints = reader
        .columnNames()
        .filter((_n, i) => /^(BIGINT|HUGEINT|UBIGINT)$/.test(String(reader.columnTypes()[i])));
      // DuckDB hands 64-bit integers over as strings; counts fit a JS number.
      for (const row of rows) {
        for (const c of bigints) {
          const v = row[c];
          if (typeof v === 'string' && Number.isSafeInteger(Number(v))) row[c] = Number(v);
        }
      }
      return rows;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Closes the DuckDB instance; the engine may not be used afterwards. */
  async close(): Promise<void> {
    const pending = this.connection;
    this.connection = undefined;
    if (!pending) return;
    await this.queue;
    const { instance, con } = await pending;
    con.closeSync();
    instance.closeSync();
  }

  private connect(): Promise<{ instance: DuckDBInstance; con: DuckDBConnection }> {
    this.connection ??= (async () => {
      const instance = await DuckDBInstance.create(':memory:', { threads: String(this.threads) });
      const con = await instance.connect();
      // Offline: fail fast instead of trying to download an extension.
      await con.run('SET autoinstall_known_extensions = false');
      await con.run('SET autoload_known_extensions = false');
      await con.run("SET TimeZone = 'UTC'");
      return { instance, con };
    })();
    return this.connection;
  }

  private async refreshViews(con: DuckDBConnection): Promise<void> {
    for (const table of TABLES) {
      const partitions = await this.catalog.listPartitions(table.name);
      const branches: string[] = [];
      for (const p of partitions) {
        const files = await this.publishedFiles(p);
        if (files.length > 0) branches.push(curatedBranch(table, p, files));
      }
      const body = branches.length > 0 ? branches.join('\nUNION ALL\n') : emptyBranch(table);
      await con.run(`CREATE OR REPLACE TEMP VIEW ${quoteIdentifier(table.name)} AS\n${body}`);
    }
    await con.run(`CREATE OR REPLACE TEMP VIEW ${RAW_TABLE} AS\n${await this.rawBody(con)}`);
  }

  private async publishedFiles(p: CatalogPartition): Promise<string[]> {
    if (p.location.includes('..') || p.location.startsWith('/')) {
      throw new InvalidInputError(`catalog location ${p.location} is not lake-relative`);
    }
    const dir = join(this.lakeDir, p.location);
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return entries
      .filter((e) => e.isFile() && PART_FILE.test(e.name))
      .map((e) => join(dir, e.name))
      .sort();
  }

  private async rawBody(con: DuckDBConnection): Promise<string> {
    const glob = `${this.lakeDir}/raw/**/*.gz`;
    const found = await con.runAndReadAll(`SELECT count(*) AS n FROM glob(${quoteString(glob)})`);
    const projection = [
      ...RAW_COLUMNS.map((c) => `${quoteIdentifier2(c.jsonKey)} AS ${quoteIdentifier(c.name)}`),
      'log_type',
      'dt',
      'hour',
    ].join(', ');
    if (Number(found.getRowObjectsJson()[0]?.n ?? 0) === 0) {
      const nulls = RAW_COLUMNS.map((c) => `CAST(NULL AS ${c.duckdbType}) AS ${quoteIdentifier(c.name)}`);
      return `SELECT ${nulls.join(', ')}, CAST(NULL AS VARCHAR) AS log_type, CAST(NULL AS VARCHAR) AS dt, CAST(NULL AS VARCHAR) AS hour WHERE false`;
    }
    const columns = RAW_COLUMNS.map((c) => `${quoteString(c.jsonKey)}: ${quoteString(c.duckdbType)}`).join(', ');
    return [
      `SELECT ${projection}`,
      `FROM read_json(${quoteString(glob)}, format = 'newline_delimited', compression = 'gzip',`,
      `  columns = {${columns}},`,
      // Like the Athena table: partition values are strings, and a damaged line is skipped.
      "  hive_partitioning = true, hive_types = {'log_type': VARCHAR, 'dt': VARCHAR, 'hour': VARCHAR},",
      '  ignore_errors = true)',
    ].join('\n');
  }
}

/** A double-quoted JSON key (may be camelCase, unlike our identifiers). */
function quoteIdentifier2(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new InvalidInputError(`bad JSON key ${name}`);
  return `"${name}"`;
}

function curatedBranch(table: TableDef, p: CatalogPartition, files: readonly string[]): string {
  if (p.values.length !== table.partitionKeys.length) {
    throw new InvalidInputError(`${table.name}: partition ${p.values.join('/')} does not match its keys`);
  }
  const cols = table.columns.map(
    (c) => `CAST(${quoteIdentifier(c.name)} AS ${duckdbType(c.type)}) AS ${quoteIdentifier(c.name)}`,
  );
  const keys = table.partitionKeys.map((k, i) => `${quoteString(p.values[i]!)} AS ${quoteIdentifier(k.name)}`);
  return `SELECT ${[...cols, ...keys].join(', ')} FROM read_parquet([${files.map(quoteString).join(', ')}])`;
}

function emptyBranch(table: TableDef): string {
  const cols = table.columns.map((c) => `CAST(NULL AS ${duckdbType(c.type)}) AS ${quoteIdentifier(c.name)}`);
  const keys = table.partitionKeys.map((k) => `CAST(NULL AS VARCHAR) AS ${quoteIdentifier(k.name)}`);
  return `SELECT ${[...cols, ...keys].join(', ')} WHERE false`;
}
