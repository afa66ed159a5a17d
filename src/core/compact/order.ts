import { createHash } from 'node:crypto';
import type { Cell, CuratedRow } from '../arrow/build.ts';
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
