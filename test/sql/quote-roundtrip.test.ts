import { DuckDBInstance } from '@duckdb/node-api';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quoteString } from '../../src/core/sql/quote.ts';

describe('quoteString on a real engine', () => {
  it('returns any string unchanged from DuckDB as one literal', async () => {
    const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
    const con = await instance.connect();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.string({ unit: fc.constantFrom("'", '"', '\\', '-', '/', '*', ';', '\n', 'a', 'é', '😀', ' ') }),
          async (s) => {
            const r = await con.runAndReadAll(`SELECT ${quoteString(s)} AS v, 1 AS one`);
            expect(r.getRowObjectsJson()).toEqual([{ v: s, one: 1 }]);
          },
        ),
        { numRuns: 300 },
      );
    } finally {
      con.closeSync();
      instance.closeSync();
    }
  });
});
