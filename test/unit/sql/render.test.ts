import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/core/errors.ts';
import {
  type ParamType,
  quoteHiveString,
  quoteIdentifier,
  quoteString,
  renderValue,
  type SqlEngine,
} from '../../../src/core/sql/quote.ts';
import { parseStatement, renderStatement } from '../../../src/core/sql/statement.ts';

const FILE = [
  '-- name: find-things',
  '-- kind: query',
  '-- description: Things.',
  '-- param: dtFrom date 2026-01-01 first day',
  '-- param: who string alice user',
  '-- param: limit int 10 rows',
  '-- default: limit 10',
  '-- idempotent: yes, read-only',
  'SELECT * FROM t WHERE dt >= {{dtFrom}} AND username = {{who}} LIMIT {{limit}}',
].join('\n');

describe('quoting helpers', () => {
  it.each([
    ['plain', "'plain'"],
    ["o'brien", "'o''brien'"],
    ["''", "''''''"],
    ['back\\slash', "'back\\slash'"],
    ['new\nline', "'new\nline'"],
  ])('quotes the string %j as %s', (value, sql) => {
    expect(quoteString(value)).toBe(sql);
  });

  it('escapes Hive DDL strings with backslashes', () => {
    expect(quoteHiveString("it's a \\ test")).toBe("'it\\'s a \\\\ test'");
  });

  it('quotes lower_snake identifiers and rejects anything else', () => {
    expect(quoteIdentifier('audit_events')).toBe('"audit_events"');
    for (const bad of ['Audit', 'a-b', 'x"y', '', '1abc', 'a b'])
      expect(() => quoteIdentifier(bad)).toThrow(InvalidInputError);
  });

  it('rejects NUL in strings', () => {
    expect(() => quoteString('a\u0000b')).toThrow(InvalidInputError);
  });
});

describe('typed values', () => {
  const ok: [SqlEngine, ParamType, string, string][] = [
    ['athena', 'string', "x'y", "'x''y'"],
    ['athena', 'date', '2024-02-29', "'2024-02-29'"],
    ['athena', 'hour', '07', "'07'"],
    ['duckdb', 'int', '-42', '-42'],
    ['athena', 'identifier', 'audit_events', '"audit_events"'],
    ['athena', 'token', 'plan-2026_01.a:b', 'plan-2026_01.a:b'],
    ['athena', 'timestamp', '2026-01-01T01:02:03Z', "TIMESTAMP '2026-01-01 01:02:03.000'"],
    ['athena', 'timestamp', '2026-01-01T01:02:03.5+02:00', "TIMESTAMP '2025-12-31 23:02:03.500'"],
    ['duckdb', 'timestamp', '2026-01-01T01:02:03Z', "TIMESTAMPTZ '2026-01-01 01:02:03.000+00'"],
  ];
  it.each(ok)('renders %s %s %j as %s', (engine, type, value, sql) => {
    expect(renderValue(engine, type, 'p', value)).toBe(sql);
  });

  const bad: [ParamType, string][] = [
    ['date', '2023-02-29'],
    ['date', '2026-1-01'],
    ['date', "2026-01-01' OR '1'='1"],
    ['hour', '24'],
    ['hour', '7'],
    ['int', '1.5'],
    ['int', '1; DROP TABLE x'],
    ['identifier', 'x"; DROP'],
    ['token', 'a b'],
    ['token', "p1'"],
    ['token', 'p1\n--'],
    ['timestamp', '2026-01-01T00:00:00'],
    ['timestamp', 'yesterday'],
    ['location', '/abs/path/'],
    ['location', 'curated/x'],
    ['location', 'curated/../control/'],
    ['location', "curated/x'y/"],
    ['location', 'curated//x/'],
  ];
  it.each(bad)('rejects %s %j', (type, value) => {
    expect(() => renderValue('athena', type, 'p', value, { lakeRoot: 's3://b/' })).toThrow(InvalidInputError);
  });

  it('resolves a location under the lake root, with an optional fixed file name', () => {
    expect(
      renderValue('duckdb', 'location', 'p', 'curated/t/gen=1/', { lakeRoot: '/lake/' }, 'part-00000.parquet'),
    ).toBe("'/lake/curated/t/gen=1/part-00000.parquet'");
    expect(() => renderValue('athena', 'location', 'p', 'curated/t/')).toThrow(/lakeRoot/);
  });
});

describe('renderStatement', () => {
  const stmt = parseStatement('athena', 'find-things.sql', FILE);

  it('fills every placeholder, with defaults for omitted optional parameters', () => {
    expect(renderStatement(stmt, { dtFrom: '2026-01-01', who: "o'brien" })).toBe(
      "SELECT * FROM t WHERE dt >= '2026-01-01' AND username = 'o''brien' LIMIT 10",
    );
  });

  it('rejects missing parameters', () => {
    expect(() => renderStatement(stmt, { dtFrom: '2026-01-01' })).toThrow(/missing parameter\(s\) who/);
  });

  it('rejects parameters the statement does not take', () => {
    expect(() => renderStatement(stmt, { dtFrom: '2026-01-01', who: 'a', dtTo: '2026-01-02' })).toThrow(
      /unknown parameter\(s\) dtTo; it takes dtFrom \(date\), who \(string\), limit \(int, default 10\)/,
    );
  });

  it('refuses files whose header and body disagree', () => {
    expect(() => parseStatement('athena', 'find-things.sql', FILE.replace('{{who}}', '{{whom}}'))).toThrow(
      /placeholder \{\{whom\}\} is not declared/,
    );
    expect(() => parseStatement('athena', 'other.sql', FILE)).toThrow(/does not match the file name/);
    expect(() => parseStatement('athena', 'find-things.sql', FILE.replace('date 2026', 'datum 2026'))).toThrow(
      /unknown type datum/,
    );
    expect(() => parseStatement('athena', 'find-things.sql', FILE.replace('-- kind: query\n', ''))).toThrow(/kind/);
  });
});
