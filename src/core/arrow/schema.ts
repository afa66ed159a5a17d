import {
  Bool,
  type DataType,
  Field,
  Float64,
  Int32,
  Int64,
  List,
  Map_,
  Schema,
  Struct,
  TimestampMicrosecond,
  Utf8,
} from 'apache-arrow';
import type { ColumnType, TableDef } from '../schema.ts';

/** Child names of nested columns: LIST uses the Parquet spec's `element`; arrow-rs writes a MAP's group as `entries` whatever it is named. */
export const LIST_ITEM_NAME = 'element';
export const MAP_ENTRIES_NAME = 'entries';

/** Arrow type of a logical column type: timestamps are microseconds UTC, strings plain Utf8. */
export function arrowTypeOf(t: ColumnType): DataType {
  if (t === 'string') return new Utf8();
  if (t === 'int') return new Int32();
  if (t === 'bigint') return new Int64();
  if (t === 'double') return new Float64();
  if (t === 'boolean') return new Bool();
  if (t === 'timestamp') return new TimestampMicrosecond('UTC');
  if ('list' in t) return new List(new Field(LIST_ITEM_NAME, new Utf8(), true));
  return new Map_(
    new Field(
      MAP_ENTRIES_NAME,
      new Struct<{ key: Utf8; value: Utf8 }>([
        new Field('key', new Utf8(), false),
        new Field('value', new Utf8(), true),
      ]),
      false,
    ),
    false,
  );
}

/** Arrow schema of a curated table's data columns (partition keys live in the path, not the file). */
export function arrowSchemaFor(table: TableDef): Schema {
  return new Schema(table.columns.map((c) => new Field(c.name, arrowTypeOf(c.type), true)));
}
