import { Command, Option } from 'commander';
import { DuckDbQueryEngine } from '../../adapters/local/duckdb-query-engine.ts';
import { FsObjectStore } from '../../adapters/local/fs-object-store.ts';
import { LocalCatalog } from '../../adapters/local/local-catalog.ts';
import { InvalidInputError } from '../../core/errors.ts';
import { listNamedQueries } from '../../core/sql/catalogue.ts';
import type { QueryRow } from '../../ports.ts';

/** Output formats of `eks-log-lake query`. */
export type QueryOutputFormat = 'table' | 'json' | 'csv';

const MAX_CELL = 80;

function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function columnsOf(rows: readonly QueryRow[]): string[] {
  const cols: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  return cols;
}

/** A plain-text table: header, rule, one line per row; long cells cut at 80 characters. */
export function formatTable(rows: readonly QueryRow[]): string {
  if (rows.length === 0) return '(no rows)\n';
  const cols = columnsOf(rows);
  const cells = rows.map((r) =>
    cols.map((c) => {
      const t = cellText(r[c]).replace(/\s+/g, ' ');
      return t.length > MAX_CELL ? `${t.slice(0, MAX_CELL - 1)}…` : t;
    }),
  );
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: readonly string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const out = [line(cols), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)];
  return `${out.join('\n')}\n(${rows.length} row${rows.length === 1 ? '' : 's'})\n`;
}

/** RFC 4180 CSV with a header line; lists and maps as JSON text. */
export function formatCsv(rows: readonly QueryRow[]): string {
  const cols = columnsOf(rows);
  const esc = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  const lines = [cols.map(esc).join(','), ...rows.map((r) => cols.map((c) => esc(cellText(r[c]))).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}

/** The rows in the requested format. */
export function formatRows(rows: readonly QueryRow[], format: QueryOutputFormat): string {
  if (format === 'json') return `${JSON.stringify(rows, null, 2)}\n`;
  if (format === 'csv') return formatCsv(rows);
  return formatTable(rows);
}

/** `--list` output: one line per named query, name then description. */
export function formatQueryList(): string {
  const queries = listNamedQueries();
  const width = Math.max(...queries.map((q) => q.name.length));
  return queries.map((q) => `${q.name.padEnd(width)}  ${q.description}`).join('\n') + '\n';
}

/** `k=v` pairs into a record; a repeated key or a pair without `=` is an error. */
export function parseParams(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new InvalidInputError(`--param ${pair}: expected key=value`);
    const key = pair.slice(0, eq);
    if (key in out) throw new InvalidInputError(`--param ${key} given twice`);
    out[key] = pair.slice(eq + 1);
  }
  return out;
}

interface QueryOptions {
  list?: boolean;
  lake?: string;
  sql?: string;
  param: string[];
  format: QueryOutputFormat;
}

/** `eks-log-lake query`: the investigation pack (or any SQL) on a local lake through DuckDB. */
export function queryCommand(write: (text: string) => void = (t) => process.stdout.write(t)): Command {
  return new Command('query')
    .description('run a named investigation query (or any SQL) on a local lake with DuckDB, Athena table names')
    .argument('[name]', 'named query (see --list)')
    .option('--list', 'list the named queries: name, then description')
    .option('--lake <dir>', 'lake folder (raw/, curated/, control/catalog/); required to run a query')
    .option('--sql <statement>', 'run this SQL instead of a named query')
    .option(
      '--param <key=value>',
      'a named query parameter (repeatable)',
      (v: string, prev: string[]) => [...prev, v],
      [],
    )
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'csv']).default('table'))
    .addHelpText(
      'after',
      '\nExample: eks-log-lake query --lake .lake find-secret-reads --param dtFrom=2026-01-01 --param dtTo=2026-01-02',
    )
    .action(async (name: string | undefined, opts: QueryOptions) => {
      if (opts.list) {
        write(formatQueryList());
        return;
      }
      if ((name === undefined) === (opts.sql === undefined)) {
        throw new InvalidInputError('give either a query NAME or --sql "…" (or --list)');
      }
      if (!opts.lake) throw new InvalidInputError('--lake <dir> is required to run a query');
      if (opts.sql !== undefined && opts.param.length > 0)
        throw new InvalidInputError('--param only applies to a named query');
      const params = parseParams(opts.param);
      const engine = new DuckDbQueryEngine({
        lakeDir: opts.lake,
        catalog: new LocalCatalog(new FsObjectStore(opts.lake)),
      });
      try {
        const rows = name !== undefined ? await engine.runNamed(name, params) : await engine.runSql(opts.sql!);
        write(formatRows(rows, opts.format));
      } finally {
        await engine.close();
      }
    });
}
