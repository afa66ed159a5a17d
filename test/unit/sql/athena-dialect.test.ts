/**
 * Every Athena statement is checked before it reaches AWS:
 * - SELECT/WITH queries, and the SELECT inside the rollup's UNLOAD, go through node-sql-parser's
 *   Trino grammar (Athena engine 3 is Trino).
 * - Hive DDL (CREATE EXTERNAL TABLE, ALTER TABLE ADD PARTITION) has no parser on npm (node-sql-parser's
 *   hive and athena grammars reject both), so it gets a structural check: balanced parentheses and
 *   quotes, one statement, upper-case keywords, lower_snake aliases; its columns are compared with
 *   schema.ts in test/sql/ddl.test.ts.
 * - Every statement that reads a table filters on the dt partition column so Athena prunes.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { loadStatements } from '../../../src/core/sql/catalogue.ts';
import { quoteString } from '../../../src/core/sql/quote.ts';
import { renderStatement, type SqlStatement } from '../../../src/core/sql/statement.ts';

const { Parser } = createRequire(__filename)('node-sql-parser/build/trino') as {
  Parser: new () => { astify(sql: string, opt: { database: string }): unknown };
};
const trino = new Parser();
const parseTrino = (sql: string) => trino.astify(sql, { database: 'trino' });

const athena = loadStatements().filter((s) => s.engine === 'athena');
const exampleParams = (s: SqlStatement) => Object.fromEntries(s.params.map((p) => [p.name, p.example]));
const render = (s: SqlStatement) => renderStatement(s, exampleParams(s), { lakeRoot: 's3://lake-bucket/' });

const KEYWORDS = [
  'select',
  'from',
  'where',
  'group',
  'order',
  'by',
  'having',
  'limit',
  'and',
  'or',
  'not',
  'in',
  'like',
  'between',
  'is',
  'null',
  'as',
  'on',
  'join',
  'left',
  'cross',
  'unnest',
  'with',
  'distinct',
  'case',
  'when',
  'then',
  'else',
  'end',
  'desc',
  'asc',
  'create',
  'external',
  'table',
  'if',
  'exists',
  'partitioned',
  'comment',
  'stored',
  'location',
  'tblproperties',
  'row',
  'format',
  'serde',
  'serdeproperties',
  'inputformat',
  'outputformat',
  'alter',
  'add',
  'partition',
  'unload',
  'to',
  'coalesce',
  'union',
  'all',
  'filter',
];

/** Code with string literals, quoted identifiers and comments blanked out. */
function codeOnly(sql: string): string {
  return sql
    .replace(/--[^\n]*/g, ' ')
    .replace(/'(?:[^'\\]|''|\\.)*'/g, "''")
    .replace(/"[^"]*"|`[^`]*`/g, 'x');
}

function structuralProblems(sql: string): string[] {
  const problems: string[] = [];
  const code = codeOnly(sql);
  if (/['"`]/.test(code.replace(/''|x/g, ''))) problems.push('unbalanced quotes');
  let depth = 0;
  for (const ch of code) {
    depth += ch === '(' ? 1 : ch === ')' ? -1 : 0;
    if (depth < 0) break;
  }
  if (depth !== 0) problems.push('unbalanced parentheses');
  if (code.includes(';')) problems.push('more than one statement (;)');
  // Property names (`format = 'PARQUET'`) are not keywords.
  for (const m of code.matchAll(/\b([A-Za-z_][A-Za-z0-9_]*)\b(?!\s*=[^=])/g)) {
    const word = m[1]!;
    if (KEYWORDS.includes(word.toLowerCase()) && word !== word.toUpperCase()) {
      problems.push(`keyword not upper case: ${word}`);
    }
  }
  for (const m of code.matchAll(/(?<!STORED )\bAS\s+([A-Za-z_][A-Za-z0-9_]*)/g)) {
    if (!/^[a-z][a-z0-9_]*$/.test(m[1]!)) problems.push(`alias not lower_snake: ${m[1]}`);
  }
  return problems;
}

describe('Athena statements', () => {
  it.each(athena.map((s) => [s.name, s] as const))('%s passes the structural check', (_n, s) => {
    expect(structuralProblems(render(s))).toEqual([]);
  });

  it.each(athena.filter((s) => s.kind === 'query').map((s) => [s.name, s] as const))(
    '%s parses as Trino SQL',
    (_n, s) => {
      const ast = parseTrino(render(s)) as { type?: string } | { type?: string }[];
      expect((Array.isArray(ast) ? ast[0] : ast)?.type).toBe('select');
    },
  );

  it('writes the rollup with an UNLOAD whose SELECT parses as Trino SQL', () => {
    const s = athena.find((x) => x.name === 'create-audit-hourly-summary')!;
    const m =
      /^UNLOAD \(\n([\s\S]+)\n\)\nTO '(s3:\/\/lake-bucket\/curated\/[^']+\/)'\nWITH \(format = 'PARQUET', compression = 'ZSTD'\)\n-- plan [\w-]+$/.exec(
        render(s),
      );
    expect(m).not.toBeNull();
    expect(() => parseTrino(m![1]!)).not.toThrow();
    expect(m![2]).toContain('/gen=');
  });

  it.each(athena.filter((s) => s.kind !== 'ddl').map((s) => [s.name, s] as const))(
    '%s filters on the dt partition column',
    (_n, s) => {
      const code = codeOnly(s.body);
      const reads = [...code.matchAll(/\bFROM\s+([a-z_]+)/g)].map((m) => m[1]);
      expect(reads.length + (code.startsWith('ALTER TABLE') ? 1 : 0)).toBeGreaterThan(0);
      // one dt predicate per table read (CTEs read one table each)
      const dtFilters = code.match(/\bdt\s*(=|BETWEEN)/g) ?? [];
      expect(dtFilters.length).toBeGreaterThanOrEqual(reads.filter((t) => !['grants', 'calls'].includes(t!)).length);
    },
  );

  it('would catch a broken query (the checks can fail)', () => {
    expect(() => parseTrino('SELECT a, FROM t WHERE')).toThrow();
    expect(structuralProblems("select x FROM t WHERE (a = 'b'")).toEqual([
      'unbalanced parentheses',
      'keyword not upper case: select',
    ]);
  });

  it('keeps any string value a single literal for the Trino parser (quoting)', () => {
    // No backslash here: this grammar treats \ as an escape character; Trino and DuckDB do
    // not (the DuckDB round trip in test/sql/quote-roundtrip.test.ts covers backslashes).
    for (const v of ["o'brien", "' OR '1'='1", "'; DROP TABLE audit_events; --", '--', '/* x */']) {
      const ast = parseTrino(`SELECT x FROM t WHERE y = ${quoteString(v)}`) as any;
      const where = (Array.isArray(ast) ? ast[0] : ast).where;
      // The parser keeps the literal's source text: quotes still doubled, nothing escaped out of it.
      expect(where.right.type).toBe('single_quote_string');
      expect(where.right.value).toBe(v.replaceAll("'", "''"));
    }
  });
});
