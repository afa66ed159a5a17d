import type { Data } from 'apache-arrow';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Cell, CuratedRow } from '../../../src/core/arrow/build.ts';
import { tableToRows } from '../../../src/core/arrow/rows.ts';
import { TableBuilder } from '../../../src/core/arrow/table-builder.ts';
import { tableDef } from '../../../src/core/schema.ts';

const DEF = tableDef('component_logs');

/** UTF-8 bytes (hex) of each row of a Utf8 vector, null for a null cell. */
function cellBytes(data: readonly Data[]): (string | null)[] {
  const out: (string | null)[] = [];
  for (const d of data) {
    const offs = d.valueOffsets as Int32Array;
    for (let i = 0; i < d.length; i++) {
      const j = d.offset + i;
      const valid = !d.nullBitmap || d.nullCount === 0 || ((d.nullBitmap[j >> 3]! >> (j & 7)) & 1) === 1;
      out.push(valid ? Buffer.from((d.values as Uint8Array).subarray(offs[j]!, offs[j + 1]!)).toString('hex') : null);
    }
  }
  return out;
}

function bytesOf(v: Cell | undefined): string | null {
  return v === null || v === undefined ? null : Buffer.from(String(v), 'utf8').toString('hex');
}

// Cells that stress the block encoder: ASCII runs, multi-byte text, lone and split surrogates,
// empty strings, nulls and strings longer than one block.
const cell = fc.oneof(
  { weight: 30, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 10, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 5, arbitrary: fc.constantFrom('\ud83d', '\ude00', '\ud83d\ude00', 'é', '', '\u0000') },
  { weight: 5, arbitrary: fc.constant(null) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 16 * 1024 - 2, max: 40_000 }), fc.constantFrom('a', 'ü', '\ud83d'))
      .map(([n, c]) => c.repeat(n)),
  },
);

describe('TableBuilder columns', () => {
  it('stores every cell as exactly the UTF-8 bytes Buffer.from gives, in any mix of cells', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(cell, cell), { maxLength: 300 }), (pairs) => {
        const b = new TableBuilder(DEF);
        const rows: CuratedRow[] = pairs.map(([msg, message]) => ({ msg, message }));
        for (const r of rows) b.append(r);
        const t = b.take();
        expect(cellBytes(t.getChild('msg')!.data)).toEqual(rows.map((r) => bytesOf(r.msg)));
        expect(cellBytes(t.getChild('message')!.data)).toEqual(rows.map((r) => bytesOf(r.message)));
      }),
      { numRuns: 30 },
    );
  });

  it('takes rows in permutation order, with nested key and value strings', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            msg: cell,
            kv: fc.option(fc.array(fc.tuple(fc.string({ maxLength: 8 }), cell), { maxLength: 3 }), { nil: null }),
          }),
          { minLength: 1, maxLength: 300 },
        ),
        fc.integer(),
        (rows, seed) => {
          const b = new TableBuilder(DEF);
          for (const r of rows) b.append(r as CuratedRow);
          const perm = Int32Array.from(rows.keys()).sort(
            (x, y) => ((x * 7919 + seed) % 101) - ((y * 7919 + seed) % 101),
          );
          const t = b.take(perm);
          const want = [...perm].map((i) => rows[i]!);
          expect(cellBytes(t.getChild('msg')!.data)).toEqual(want.map((r) => bytesOf(r.msg)));
          const kv = t.getChild('kv')!;
          want.forEach((r, i) => {
            const got = kv.get(i);
            if (r.kv === null) expect(got).toBeNull();
            else {
              const entries = [...(got as Iterable<[string, string | null]>)];
              expect(entries.map(([k]) => bytesOf(k))).toEqual(r.kv.map(([k]) => bytesOf(k)));
            }
          });
        },
      ),
      { numRuns: 40 },
    );
  });

  it('writes 64-bit integers and timestamps exactly in permutation order, nulls included', () => {
    const values = [
      -(2 ** 53 - 1),
      -(2 ** 32) - 1,
      -1,
      0,
      1,
      2 ** 31,
      2 ** 32,
      2 ** 32 + 1,
      1_795_000_000_123_456,
      2 ** 53 - 1,
      null,
    ];
    fc.assert(
      fc.property(fc.shuffledSubarray(values, { minLength: 1 }), (cells) => {
        const b = new TableBuilder(DEF);
        for (const v of cells) b.append({ thread_id: v, time: v });
        const perm = Int32Array.from(cells.keys()).reverse();
        const t = b.take(perm);
        const want = [...perm].map((i) => ({ thread_id: cells[i]!, time: cells[i]! }));
        expect(tableToRows(DEF, t, ['thread_id', 'time'])).toEqual(want);
      }),
      { numRuns: 50 },
    );
  });

  it('counts held bytes before and after the pending block is encoded', () => {
    const b = new TableBuilder(DEF);
    b.append({ msg: 'abc' });
    const before = b.bytes;
    b.take();
    expect(b.bytes).toBe(before);
    expect(before).toBeGreaterThanOrEqual(3);
  });
});
