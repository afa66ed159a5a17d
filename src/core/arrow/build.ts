import type { Table } from 'apache-arrow';
import type { TableDef } from '../schema.ts';
import { TableBuilder } from './table-builder.ts';

/** A map cell: entries in insertion order (duplicate keys are not expected; the writer keeps them). */
export type MapCell = readonly (readonly [string, string | null])[];
/**
 * One cell of a curated row. Timestamps are integer microseconds since the epoch (UTC),
 * `int`/`bigint` are safe integers, lists are string arrays, maps are entry arrays.
 */
export type Cell = string | number | boolean | null | readonly string[] | MapCell;
/** A curated row keyed by column name (data columns only; partition values travel beside it). */
export type CuratedRow = Record<string, Cell>;

/** Arrow table of a curated table's rows, columns in schema order; missing cells are null. */
export function buildTable(def: TableDef, rows: readonly CuratedRow[]): Table {
  const b = new TableBuilder(def);
  for (const r of rows) b.append(r);
  return b.take();
}
