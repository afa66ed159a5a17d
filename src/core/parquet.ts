import { DataType, type Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import {
  Compression,
  EnabledStatistics,
  Encoding,
  readParquet,
  Table as WasmTable,
  WriterPropertiesBuilder,
  WriterVersion,
  writeParquet,
} from 'parquet-wasm';

/** Rows per Parquet row group; keeps one group of ~1 KB audit rows near 64 MB before compression. */
export const ROW_GROUP_ROWS = 64 * 1024;

/**
 * Columns that are nearly unique per row: dictionary pages only cost time there (measured:
 * about a third less encode CPU on audit rows, and slightly smaller files).
 */
const HIGH_CARDINALITY = [
  'event_id',
  'audit_id',
  'request_uri',
  'request_object',
  'response_object',
  'response_message',
  'user_extra',
  'message',
  'message_b64',
];

/** Fixed writer identity so a rerun over the same rows produces byte-identical files. */
const CREATED_BY = 'eks-log-lake';

/** Encodes an Arrow table as Parquet: ZSTD, dictionary pages, chunk statistics for pruning. */
export function encodeParquet(table: Table, options: { rowGroupRows?: number } = {}): Uint8Array {
  let builder = new WriterPropertiesBuilder()
    .setCompression(Compression.ZSTD)
    .setDictionaryEnabled(true)
    .setStatisticsEnabled(EnabledStatistics.Chunk)
    .setMaxRowGroupSize(options.rowGroupRows ?? ROW_GROUP_ROWS)
    .setWriterVersion(WriterVersion.V1)
    .setCreatedBy(CREATED_BY);
  const names = new Set(table.schema.fields.map((f) => f.name));
  for (const c of HIGH_CARDINALITY) if (names.has(c)) builder = builder.setColumnDictionaryEnabled(c, false);
  // Times of rows sorted together sit close: delta encoding saves ~8 % of an audit file.
  for (const f of table.schema.fields) {
    if (DataType.isTimestamp(f.type)) {
      builder = builder
        .setColumnDictionaryEnabled(f.name, false)
        .setColumnEncoding(f.name, Encoding.DELTA_BINARY_PACKED);
    }
  }
  const props = builder.build();
  return writeParquet(WasmTable.fromIPCStream(tableToIPC(table, 'stream')), props);
}

/** Decodes Parquet bytes to an Arrow table, optionally only some columns. */
export function decodeParquet(bytes: Uint8Array, columns?: readonly string[]): Table {
  const wasm = readParquet(bytes, columns ? { columns: [...columns] } : undefined);
  return tableFromIPC(wasm.intoIPCStream());
}
