import { InvalidInputError } from '../errors.ts';
import { type CuratedTableName, tableDef } from '../schema.ts';
import { ddlStatementName, RAW_TABLE } from './ddl.ts';
import type { RenderOptions, SqlEngine } from './quote.ts';
import SQL_FILES from './sql-files.generated.json';
import { parseStatement, renderStatement, type SqlStatement } from './statement.ts';

/**
 * Athena statements with no DuckDB twin, and why: DDL (DuckDB views are built from the catalog
 * instead) and raw partition registration (DuckDB globs raw/ directly).
 */
export const ATHENA_ONLY: readonly string[] = [
  'add-raw-partitions',
  ddlStatementName(RAW_TABLE),
  ddlStatementName('audit_events'),
  ddlStatementName('component_logs'),
  ddlStatementName('authenticator_logs'),
  ddlStatementName('unparsed_logs'),
  ddlStatementName('audit_hourly_summary'),
];

/** Every statement of both engines, parsed once from the bundled copy of `sql/`. */
export function loadStatements(files: Readonly<Record<string, string>> = SQL_FILES): SqlStatement[] {
  return Object.entries(files).map(([path, text]) => {
    const m = /^(athena|duckdb)\/([a-z0-9-]+\.sql)$/.exec(path);
    if (!m) throw new InvalidInputError(`unexpected SQL file ${path}`);
    return parseStatement(m[1] as SqlEngine, m[2]!, text);
  });
}

let cache: SqlStatement[] | undefined;
function statements(): SqlStatement[] {
  cache ??= loadStatements();
  return cache;
}

/** The statement `name` for `engine`; throws InvalidInputError listing close names when unknown. */
export function getStatement(engine: SqlEngine, name: string): SqlStatement {
  const found = statements().find((s) => s.engine === engine && s.name === name);
  if (found) return found;
  const known = statements()
    .filter((s) => s.engine === engine)
    .map((s) => s.name)
    .sort();
  throw new InvalidInputError(`no ${engine} statement named ${name}; known: ${known.join(', ')}`);
}

/** Renders a named statement for an engine: typed, quoted, no missing or unknown parameters. */
export function renderNamed(
  engine: SqlEngine,
  name: string,
  params: Readonly<Record<string, string>>,
  options: RenderOptions = {},
): string {
  return renderStatement(getStatement(engine, name), params, options);
}

/** The investigation pack (kind `query`), sorted by name, as the Athena files declare it. */
export function listNamedQueries(): SqlStatement[] {
  return statements()
    .filter((s) => s.engine === 'athena' && s.kind === 'query')
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** One Athena named query for infra (AWS::Athena::NamedQuery): SQL rendered with example values. */
export interface NamedQueryDefinition {
  readonly name: string;
  readonly description: string;
  readonly sql: string;
}

/**
 * The investigation pack as Athena named queries. Parameters are filled with their examples so
 * each query runs as saved; the description lists what to edit.
 */
export function namedQueryDefinitions(): NamedQueryDefinition[] {
  return listNamedQueries().map((s) => {
    const example = Object.fromEntries(s.params.map((p) => [p.name, p.example]));
    const params = s.params.map((p) => `${p.name}=${p.example}`).join(', ');
    // NamedQuery descriptions are limited to 1024 characters.
    const description = `${s.description}${params ? ` Edit: ${params}.` : ''}`.slice(0, 1024);
    return { name: s.name, description, sql: renderStatement(s, example) };
  });
}

/** The Athena DDL of a curated table (or `raw_events`) at `lakeRoot` (`s3://bucket/`). */
export function renderCreateTableDdl(table: CuratedTableName | typeof RAW_TABLE, lakeRoot: string): string {
  const location = table === RAW_TABLE ? 'raw/' : `curated/${tableDef(table).name}/`;
  return renderNamed('athena', ddlStatementName(table), { location }, { lakeRoot });
}
