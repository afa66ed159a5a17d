import type { Data, Table } from 'apache-arrow';
import type { ColumnType, TableDef } from '../schema.ts';
import type { Cell, CuratedRow } from './build.ts';

const DECODER = new TextDecoder();

function isValid(d: Data, i: number): boolean {
  const bm = d.nullBitmap;
  if (!bm || bm.length === 0 || d.nullCount === 0) return true;
  const j = d.offset + i;
  return ((bm[j >> 3]! >> (j & 7)) & 1) === 1;
}

function utf8At(d: Data, i: number): string | null {
  if (!isValid(d, i)) return null;
  const offs = d.valueOffsets as Int32Array;
  const j = d.offset + i;
  return DECODER.decode((d.values as Uint8Array).subarray(offs[j]!, offs[j + 1]!));
}

function readColumn(t: ColumnType, d: Data, out: Cell[]): void {
  const n = d.length;
  if (t === 'string') {
    for (let i = 0; i < n; i++) out.push(utf8At(d, i));
    return;
  }
  if (t === 'int' || t === 'double') {
    const v = d.values as Int32Array | Float64Array;
    for (let i = 0; i < n; i++) out.push(isValid(d, i) ? v[d.offset + i]! : null);
    return;
  }
  if (t === 'bigint' || t === 'timestamp') {
    const v = d.values as BigInt64Array;
    for (let i = 0; i < n; i++) out.push(isValid(d, i) ? Number(v[d.offset + i]!) : null);
    return;
  }
  if (t === 'boolean') {
    const v = d.values as Uint8Array;
    for (let i = 0; i < n; i++) {
      const j = d.offset + i;
      out.push(isValid(d, i) ? ((v[j >> 3]! >> (j & 7)) & 1) === 1 : null);
    }
    return;
  }
  const offs = d.valueOffsets as Int32Array;
  const child = d.children[0]!;
  if ('list' in t) {
    for (let i = 0; i < n; i++) {
      if (!isValid(d, i)) {
        out.push(null);
        continue;
      }
      const items: string[] = [];
      for (let k = offs[d.offset + i]!; k < offs[d.offset + i + 1]!; k++) items.push(utf8At(child, k) ?? '');
      out.push(items);
    }
    return;
  }
  const keys = child.children[0]!;
  const vals = child.children[1]!;
  for (let i = 0; i < n; i++) {
    if (!isValid(d, i)) {
      out.push(null);
      continue;
    }
    const entries: [string, string | null][] = [];
    for (let k = offs[d.offset + i]!; k < offs[d.offset + i + 1]!; k++) {
      entries.push([utf8At(keys, child.offset + k) ?? '', utf8At(vals, child.offset + k)]);
    }
    out.push(entries);
  }
}

/**
 * Rows of an Arrow table read back from Parquet, in the same shape `buildTable` takes
 * (timestamps as microseconds). Only the named columns (default: all of the table's) are read.
 */
export function tableToRows(def: TableDef, table: Table, columns?: readonly string[]): CuratedRow[] {
  const wanted = def.columns.filter((c) => !columns || columns.includes(c.name));
  const rows: CuratedRow[] = Array.from({ length: table.numRows }, () => ({}));
  for (const c of wanted) {
    const vec = table.getChild(c.name);
    if (!vec) throw new Error(`column ${c.name} missing from ${def.name} file`);
    const cells: Cell[] = [];
    for (const d of vec.data) readColumn(c.type, d as Data, cells);
    for (let i = 0; i < cells.length; i++) rows[i]![c.name] = cells[i]!;
  }
  return rows;
}
