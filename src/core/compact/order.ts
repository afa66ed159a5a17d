import { createHash } from 'node:crypto';
import type { Table } from 'apache-arrow';
import type { Cell, CuratedRow } from '../arrow/build.ts';
import { TableBuilder } from '../arrow/table-builder.ts';
import type { TableDef } from '../schema.ts';

/** Columns the dedupe key reads; unparsed rows may lack an event id and fall back to content. */
export const KEY_COLUMNS = ['log_group', 'event_id', 'log_stream', 'cwl_timestamp', 'message'] as const;

/**
 * Dedupe key inside one partition (the account is a partition value): (log_group, event_id).
 * A row without an event id (bad envelope) is keyed by stream, CloudWatch time and message hash.
 */
export function dedupeKey(row: CuratedRow): string {
  const id = row.event_id;
  if (typeof id === 'string' && id.length > 0) return `${row.log_group}\u0000${id}`;
  const h = createHash('sha1')
    .update(String(row.message ?? ''))
    .digest('base64');
  return `${row.log_group}\u0000#${row.log_stream ?? ''}\u0000${row.cwl_timestamp ?? ''}\u0000${h}`;
}

/**
 * The dedupe keys of one partition, held as (log_group → event ids): the id strings the
 * parser made are kept as they are, no concatenated key per row (about 40 % less memory).
 */
export class DedupeSet {
  private readonly groups = new Map<string, Set<string>>();
  size = 0;

  /** Adds the row's key; false when it was already there (a duplicate). */
  add(row: CuratedRow): boolean {
    const group = String(row.log_group ?? '');
    const id = row.event_id;
    const k = typeof id === 'string' && id.length > 0 ? id : dedupeKey(row);
    let set = this.groups.get(group);
    if (!set) {
      set = new Set();
      this.groups.set(group, set);
    }
    if (set.has(k)) return false;
    set.add(k);
    this.size++;
    return true;
  }
}

function compareCells(a: Cell, b: Cell): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = typeof a === 'string' ? a : JSON.stringify(a);
  const y = typeof b === 'string' ? b : JSON.stringify(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Comparator for a table's sortBy (nulls first, then code-unit order), ties broken by the dedupe key. */
export function rowComparator(def: TableDef): (a: CuratedRow, b: CuratedRow) => number {
  const cols = def.sortBy;
  return (a, b) => {
    for (const c of cols) {
      const d = compareCells(a[c] ?? null, b[c] ?? null);
      if (d !== 0) return d;
    }
    return compareCells(dedupeKey(a), dedupeKey(b));
  };
}

/**
 * Rows of one partition gathered for one file: appended into typed column buffers, then
 * written in sortBy order. Only the sort columns and dedupe keys stay as JS values.
 */
export class SortedBatch {
  readonly builder: TableBuilder;
  private readonly sortCols: Cell[][];
  private readonly keys: string[] = [];
  textBytes = 0;

  constructor(readonly def: TableDef) {
    this.builder = new TableBuilder(def);
    this.sortCols = def.sortBy.map(() => []);
  }

  get length(): number {
    return this.builder.length;
  }

  add(row: CuratedRow, key: string, textBytes: number): void {
    this.builder.append(row);
    const by = this.def.sortBy;
    for (let c = 0; c < by.length; c++) this.sortCols[c]!.push(row[by[c]!] ?? null);
    this.keys.push(key);
    this.textBytes += textBytes;
  }

  /** The rows as an Arrow table in sortBy order, ties broken by the dedupe key. */
  sortedTable(): Table {
    const n = this.length;
    const idx = Array.from({ length: n }, (_, i) => i);
    const cols = this.sortCols;
    const keys = this.keys;
    idx.sort((a, b) => {
      for (let c = 0; c < cols.length; c++) {
        const d = compareCells(cols[c]![a]!, cols[c]![b]!);
        if (d !== 0) return d;
      }
      return keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0;
    });
    return this.builder.take(Int32Array.from(idx));
  }
}
