import { InvalidInputError } from '../errors.ts';

/** The two SQL dialects the lake speaks: Athena (Trino DML, Hive DDL) in AWS, DuckDB locally. */
export type SqlEngine = 'athena' | 'duckdb';

/**
 * Typed placeholder kinds. Every value arrives as a string (CLI, Step Functions input) and is
 * validated by its kind before it is quoted, so no raw value ever reaches the SQL text.
 */
export type ParamType = 'string' | 'date' | 'hour' | 'timestamp' | 'int' | 'identifier' | 'token' | 'location';

export const PARAM_TYPES: readonly ParamType[] = [
  'string',
  'date',
  'hour',
  'timestamp',
  'int',
  'identifier',
  'token',
  'location',
];

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,127}$/;
const TOKEN = /^[A-Za-z0-9_.:-]{1,128}$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const HOUR = /^([01]\d|2[0-3])$/;
const INT = /^-?\d{1,15}$/;
const ISO_TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:?\d{2})$/;
const LOCATION_CHARS = /^[A-Za-z0-9_.=:@+\-/]+$/;

/** A SQL string literal: single quotes doubled (standard SQL; Trino and DuckDB agree). */
export function quoteString(value: string): string {
  if (value.includes('\u0000')) throw new InvalidInputError('a SQL string may not contain NUL');
  return `'${value.replaceAll("'", "''")}'`;
}

/** A Hive DDL string literal (COMMENT, LOCATION, SERDEPROPERTIES): Hive escapes with backslashes. */
export function quoteHiveString(value: string): string {
  if (value.includes('\u0000')) throw new InvalidInputError('a SQL string may not contain NUL');
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** A double-quoted identifier (Trino, DuckDB); only lower_snake names are accepted. */
export function quoteIdentifier(name: string): string {
  if (!IDENTIFIER.test(name)) {
    throw new InvalidInputError(`identifier ${JSON.stringify(name)} is not lower_snake ([a-z_][a-z0-9_]*)`);
  }
  return `"${name}"`;
}

/** A backquoted identifier for Hive DDL (Athena CREATE/ALTER), where `time`, `user`… are reserved. */
export function quoteHiveIdentifier(name: string): string {
  if (!IDENTIFIER.test(name)) {
    throw new InvalidInputError(`identifier ${JSON.stringify(name)} is not lower_snake ([a-z_][a-z0-9_]*)`);
  }
  return `\`${name}\``;
}

/** Options that depend on where a statement runs rather than on what it asks. */
export interface RenderOptions {
  /** Prefix that turns a lake-relative `location` into an absolute one: `s3://bucket/` or `/abs/lake/`. */
  readonly lakeRoot?: string;
}

/** Validates `value` as `type` and returns its SQL text for `engine`; throws InvalidInputError. */
export function renderValue(
  engine: SqlEngine,
  type: ParamType,
  name: string,
  value: string,
  options: RenderOptions = {},
  suffix = '',
): string {
  const bad = (why: string) => new InvalidInputError(`parameter ${name}=${JSON.stringify(value)}: ${why}`);
  switch (type) {
    case 'string':
      return quoteString(value);
    case 'date': {
      const m = DATE.exec(value);
      if (!m || !isRealDate(Number(m[1]), Number(m[2]), Number(m[3]))) throw bad('expected a date YYYY-MM-DD');
      return quoteString(value);
    }
    case 'hour':
      if (!HOUR.test(value)) throw bad('expected an hour 00-23 (two digits)');
      return quoteString(value);
    case 'int':
      if (!INT.test(value)) throw bad('expected an integer');
      return String(Number(value));
    case 'identifier':
      if (!IDENTIFIER.test(value)) throw bad('expected a lower_snake identifier');
      return `"${value}"`;
    case 'token':
      if (!TOKEN.test(value)) throw bad('expected a token of letters, digits and _.:- (at most 128)');
      return value;
    case 'timestamp':
      return renderTimestamp(engine, value, bad);
    case 'location':
      return renderLocation(value, options, suffix, bad);
  }
}

function isRealDate(y: number, m: number, d: number): boolean {
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

/** ISO 8601 with an explicit zone → a UTC timestamp literal of the engine's column type. */
function renderTimestamp(engine: SqlEngine, value: string, bad: (why: string) => Error): string {
  const m = ISO_TIMESTAMP.exec(value);
  const t = m ? new Date(value) : undefined;
  if (!m || !t || Number.isNaN(t.getTime()))
    throw bad('expected an ISO 8601 timestamp with a zone, e.g. 2026-01-01T00:00:00Z');
  const [date, time] = t.toISOString().replace('Z', '').split('T');
  // Curated columns are `timestamp` (UTC wall time) in Athena and TIMESTAMPTZ in DuckDB.
  return engine === 'athena' ? `TIMESTAMP '${date} ${time}'` : `TIMESTAMPTZ '${date} ${time}+00'`;
}

function renderLocation(value: string, options: RenderOptions, suffix: string, bad: (why: string) => Error): string {
  if (!LOCATION_CHARS.test(value) || value.startsWith('/') || !value.endsWith('/')) {
    throw bad('expected a lake-relative prefix ending in / (letters, digits, _.=:@+-/)');
  }
  if (value.split('/').some((seg, i, all) => seg === '..' || seg === '.' || (seg === '' && i < all.length - 1))) {
    throw bad('a location may not contain empty, . or .. segments');
  }
  if (options.lakeRoot === undefined) throw bad('rendering a location needs a lakeRoot (s3://bucket/ or a folder)');
  if (!options.lakeRoot.endsWith('/')) throw bad(`lakeRoot ${options.lakeRoot} must end in /`);
  return quoteString(`${options.lakeRoot}${value}${suffix}`);
}
