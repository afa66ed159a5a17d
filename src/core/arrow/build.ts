import {
  type Data,
  type DataType,
  type List,
  type Map_,
  makeData,
  makeTable,
  makeVector,
  type Struct,
  type Table,
  Utf8,
} from 'apache-arrow';
import type { ColumnType, TableDef } from '../schema.ts';
import { arrowTypeOf } from './schema.ts';

/** A map cell: entries in insertion order (duplicate keys are not expected; the writer keeps them). */
export type MapCell = readonly (readonly [string, string | null])[];
/**
 * One cell of a curated row. Timestamps are integer microseconds since the epoch (UTC),
 * `int`/`bigint` are safe integers, lists are string arrays, maps are entry arrays.
 */
export type Cell = string | number | boolean | null | readonly string[] | MapCell;
/** A curated row keyed by column name (data columns only; partition values travel beside it). */
export type CuratedRow = Record<string, Cell>;

const ENCODER = new TextEncoder();

function validity(length: number): Uint8Array {
  return new Uint8Array((length + 7) >> 3);
}

/** Utf8 data from strings (null = null) through one growing byte buffer, not vectorFromArray. */
export function utf8Data(values: readonly (string | null | undefined)[]): Data<Utf8> {
  const n = values.length;
  const offsets = new Int32Array(n + 1);
  const valid = validity(n);
  let buf = new Uint8Array(Math.max(1024, n * 16));
  let pos = 0;
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    const s = values[i];
    if (s == null) {
      nulls++;
      offsets[i + 1] = pos;
      continue;
    }
    valid[i >> 3]! |= 1 << (i & 7);
    const need = pos + s.length * 3;
    if (need > buf.length) {
      const nb = new Uint8Array(Math.max(buf.length * 2, need));
      nb.set(buf.subarray(0, pos));
      buf = nb;
    }
    pos += ENCODER.encodeInto(s, buf.subarray(pos)).written;
    if (pos > 0x7fffffff) throw new RangeError('utf8 column exceeds 2 GiB; write smaller batches');
    offsets[i + 1] = pos;
  }
  return makeData({
    type: new Utf8(),
    length: n,
    nullCount: nulls,
    nullBitmap: nulls ? valid : null,
    valueOffsets: offsets,
    data: buf.subarray(0, pos),
  });
}

function fixedData(type: DataType, values: readonly Cell[], array: Int32Array | Float64Array | BigInt64Array): Data {
  const n = values.length;
  const valid = validity(n);
  let nulls = 0;
  const big = array instanceof BigInt64Array;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    // NaN has no integer form; a double column keeps it as NaN.
    if (typeof v !== 'number' || (Number.isNaN(v) && !(array instanceof Float64Array))) {
      nulls++;
      continue;
    }
    valid[i >> 3]! |= 1 << (i & 7);
    if (big) (array as BigInt64Array)[i] = BigInt(v as number);
    else (array as Int32Array | Float64Array)[i] = v as number;
  }
  return makeData({ type, length: n, nullCount: nulls, nullBitmap: nulls ? valid : null, data: array } as never);
}

function boolData(type: DataType, values: readonly Cell[]): Data {
  const n = values.length;
  const valid = validity(n);
  const bits = validity(n);
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (typeof v !== 'boolean') {
      nulls++;
      continue;
    }
    valid[i >> 3]! |= 1 << (i & 7);
    if (v) bits[i >> 3]! |= 1 << (i & 7);
  }
  return makeData({ type, length: n, nullCount: nulls, nullBitmap: nulls ? valid : null, data: bits } as never);
}

function listData(type: DataType, values: readonly Cell[]): Data {
  const n = values.length;
  const offsets = new Int32Array(n + 1);
  const valid = validity(n);
  const items: string[] = [];
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (!Array.isArray(v)) {
      nulls++;
      offsets[i + 1] = items.length;
      continue;
    }
    valid[i >> 3]! |= 1 << (i & 7);
    for (const x of v as readonly string[]) items.push(x);
    offsets[i + 1] = items.length;
  }
  return makeData({
    type: type as List,
    length: n,
    nullCount: nulls,
    nullBitmap: nulls ? valid : null,
    valueOffsets: offsets,
    child: utf8Data(items),
  });
}

function mapData(type: DataType, values: readonly Cell[]): Data {
  const n = values.length;
  const offsets = new Int32Array(n + 1);
  const valid = validity(n);
  const keys: string[] = [];
  const vals: (string | null)[] = [];
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (!Array.isArray(v)) {
      nulls++;
      offsets[i + 1] = keys.length;
      continue;
    }
    valid[i >> 3]! |= 1 << (i & 7);
    for (const [k, x] of v as MapCell) {
      keys.push(k);
      vals.push(x);
    }
    offsets[i + 1] = keys.length;
  }
  const structType = (type as Map_).children[0]!.type as Struct;
  const entries = makeData({
    type: structType,
    length: keys.length,
    nullCount: 0,
    children: [utf8Data(keys), utf8Data(vals)],
  });
  return makeData({
    type: type as Map_,
    length: n,
    nullCount: nulls,
    nullBitmap: nulls ? valid : null,
    valueOffsets: offsets,
    child: entries,
  });
}

/** Arrow data for one column of values of a logical type. */
export function columnData(t: ColumnType, values: readonly Cell[]): Data {
  const type = arrowTypeOf(t);
  const n = values.length;
  if (t === 'string') return utf8Data(values as readonly (string | null)[]);
  if (t === 'int') return fixedData(type, values, new Int32Array(n));
  if (t === 'double') return fixedData(type, values, new Float64Array(n));
  if (t === 'bigint' || t === 'timestamp') return fixedData(type, values, new BigInt64Array(n));
  if (t === 'boolean') return boolData(type, values);
  if ('list' in t) return listData(type, values);
  return mapData(type, values);
}

/** Arrow table of a curated table's rows, columns in schema order; missing cells are null. */
export function buildTable(def: TableDef, rows: readonly CuratedRow[]): Table {
  const cols: Record<string, ReturnType<typeof makeVector>> = {};
  for (const c of def.columns) {
    const values = new Array<Cell>(rows.length);
    for (let i = 0; i < rows.length; i++) values[i] = rows[i]![c.name] ?? null;
    cols[c.name] = makeVector(columnData(c.type, values));
  }
  return makeTable(cols as never) as unknown as Table;
}
