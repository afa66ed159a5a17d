import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTable, type Cell, type CuratedRow } from '../../../src/core/arrow/build.ts';
import { tableToRows } from '../../../src/core/arrow/rows.ts';
import { decodeParquet, encodeParquet } from '../../../src/core/parquet.ts';
import { type ColumnType, TABLES, type TableDef } from '../../../src/core/schema.ts';

const COMPACTED = TABLES.filter((t) => t.producer === 'compaction');

// Strings that have broken writers before: empty, NUL, quotes, newlines, astral emoji.
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('', '\u0000', '"quoted"\n\r\t', '\u001b[31mred', '😀 ünï', 'a'.repeat(300)),
);

function cellArb(t: ColumnType): fc.Arbitrary<Cell> {
  if (t === 'string') return fc.option(text, { nil: null });
  if (t === 'int') return fc.option(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { nil: null });
  if (t === 'bigint') return fc.option(fc.maxSafeInteger(), { nil: null });
  if (t === 'double') return fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }), { nil: null });
  if (t === 'boolean') return fc.option(fc.boolean(), { nil: null });
  // 1970 … 2100 in microseconds, odd microseconds included.
  if (t === 'timestamp') return fc.option(fc.integer({ min: 0, max: 4_102_444_800_000_000 }), { nil: null });
  if ('list' in t) return fc.option(fc.array(text, { maxLength: 4 }), { nil: null });
  return fc.option(fc.array(fc.tuple(text, fc.option(text, { nil: null })), { maxLength: 4 }), { nil: null });
}

function rowArb(def: TableDef): fc.Arbitrary<CuratedRow> {
  return fc.record(
    Object.fromEntries(def.columns.map((c) => [c.name, cellArb(c.type)])) as Record<string, fc.Arbitrary<Cell>>,
  );
}

/** A column rendered by DuckDB as text, so every type compares exactly (timestamps as epoch µs). */
function duckExpr(name: string, t: ColumnType): string {
  const q = `"${name}"`;
  if (t === 'timestamp') return `epoch_us(${q})::VARCHAR`;
  if (typeof t === 'object') return `to_json(${'list' in t ? q : `map_entries(${q})`})::VARCHAR`;
  if (t === 'double') return `${q}::DOUBLE`;
  return `${q}::VARCHAR`;
}

function expectedDuck(v: Cell, t: ColumnType): unknown {
  if (v === null) return null;
  if (t === 'double') return v;
  if (typeof t === 'object') {
    if ('list' in t) return v;
    return (v as [string, string | null][]).map(([key, value]) => ({ key, value }));
  }
  return String(v);
}

describe('Arrow → Parquet → Arrow', () => {
  it.each(COMPACTED.map((t) => [t.name, t] as const))(
    'round-trips every %s column exactly through parquet-wasm',
    (_n, def) => {
      fc.assert(
        fc.property(fc.array(rowArb(def), { minLength: 1, maxLength: 30 }), (rows) => {
          const back = tableToRows(def, decodeParquet(encodeParquet(buildTable(def, rows))));
          expect(back).toEqual(rows);
        }),
        { numRuns: 25 },
      );
    },
  );

  it('writes byte-identical files for the same rows', () => {
    const def = COMPACTED[0]!;
    const rows = fc.sample(rowArb(def), { numRuns: 50, seed: 7 });
    expect(Buffer.from(encodeParquet(buildTable(def, rows)))).toEqual(
      Buffer.from(encodeParquet(buildTable(def, rows))),
    );
  });

  it('keeps declared types: timestamp µs UTC, int32, int64, list and map of strings', () => {
    const def = TABLES.find((t) => t.name === 'component_logs')!;
    const types = Object.fromEntries(
      decodeParquet(encodeParquet(buildTable(def, []))).schema.fields.map((f) => [f.name, String(f.type)]),
    );
    expect(types.time).toBe('Timestamp<MICROSECOND, UTC>');
    expect(types.thread_id).toBe('Int64');
    expect(types.source_line).toBe('Int32');
    expect(types.kv).toBe('Map<{key:Utf8, value:Utf8}>');
  });
});

describe('Parquet read by DuckDB', () => {
  let dir: string;
  let instance: DuckDBInstance;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'compact-duck-'));
    instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  });
  afterAll(() => {
    instance.closeSync();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(COMPACTED.map((t) => [t.name, t] as const))(
    'reads %s field by field with the declared types',
    async (_n, def) => {
      const rows = fc.sample(rowArb(def), { numRuns: 40, seed: 42 });
      const file = join(dir, `${def.name}.parquet`);
      writeFileSync(file, encodeParquet(buildTable(def, rows)));
      const con = await instance.connect();
      await con.run('SET autoinstall_known_extensions = false');
      const typesRes = await con.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}')`);
      const types = Object.fromEntries(typesRes.getRowObjectsJson().map((r) => [r.column_name, r.column_type]));
      for (const c of def.columns) {
        const want =
          c.type === 'string'
            ? 'VARCHAR'
            : c.type === 'int'
              ? 'INTEGER'
              : c.type === 'bigint'
                ? 'BIGINT'
                : c.type === 'double'
                  ? 'DOUBLE'
                  : c.type === 'timestamp'
                    ? 'TIMESTAMP WITH TIME ZONE'
                    : c.type === 'boolean'
                      ? 'BOOLEAN'
                      : 'list' in c.type
                        ? 'VARCHAR[]'
                        : 'MAP(VARCHAR, VARCHAR)';
        expect(types[c.name], c.name).toBe(want);
      }
      const sql = `SELECT ${def.columns.map((c) => `${duckExpr(c.name, c.type)} AS "${c.name}"`).join(', ')} FROM read_parquet('${file}')`;
      const got = (await con.runAndReadAll(sql)).getRowObjectsJson();
      expect(got.length).toBe(rows.length);
      got.forEach((r, i) => {
        for (const c of def.columns) {
          const v = r[c.name];
          const parsed = typeof c.type === 'object' && v !== null ? JSON.parse(v as string) : v;
          expect(parsed, `${def.name}[${i}].${c.name}`).toEqual(expectedDuck(rows[i]![c.name] ?? null, c.type));
        }
      });
      con.closeSync();
    },
  );
});
