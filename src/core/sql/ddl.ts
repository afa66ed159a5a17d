import { type ColumnDef, type ColumnType, hiveType, RAW_PARTITION_KEYS, type TableDef } from '../schema.ts';
import { quoteHiveIdentifier, quoteHiveString } from './quote.ts';

/** Name of the Athena table over `raw/` (gzip NDJSON, one CloudWatch event per line). */
export const RAW_TABLE = 'raw_events';

/** A column of the raw JSON table: its Hive type and the JSON key it is read from. */
export interface RawColumn {
  readonly name: string;
  /** Hive type for Athena DDL. */
  readonly hiveType: string;
  /** DuckDB type of the JSON value as written (struct fields keep their JSON names). */
  readonly duckdbType: string;
  /** Top-level key in the NDJSON record. */
  readonly jsonKey: string;
  readonly comment: string;
}

const raw = (name: string, hive: string, duck: string, jsonKey: string, comment: string): RawColumn => ({
  name,
  hiveType: hive,
  duckdbType: duck,
  jsonKey,
  comment,
});
const rs = (name: string, comment: string, jsonKey = name) => raw(name, 'string', 'VARCHAR', jsonKey, comment);

/**
 * Envelope plus the common audit, klog and authenticator fields (design §3). Audit fields keep
 * their native JSON names in the files (Splunk reads them); the table maps them to lower_snake.
 */
export const RAW_COLUMNS: readonly RawColumn[] = [
  rs('time', "the event's own time, RFC 3339 UTC"),
  raw('cwl_timestamp', 'bigint', 'BIGINT', 'cwl_timestamp', 'CloudWatch Logs timestamp, epoch ms'),
  rs('event_id', 'CloudWatch Logs event id (decimal string)'),
  rs('account', 'subscription owner account'),
  rs('region', 'AWS region of the deployment'),
  rs('cluster', 'EKS cluster name'),
  rs('log_group', 'CloudWatch Logs group'),
  rs('log_stream', 'CloudWatch Logs stream'),
  rs('parse_status', 'ok | partial | unparsed | bad_envelope'),
  rs('parse_error', 'why the line was not fully parsed'),
  rs('audit_id', 'audit: auditID', 'auditID'),
  rs('stage', 'audit: stage'),
  rs('level', 'audit level, or authenticator log level'),
  rs('verb', 'audit: verb'),
  rs('request_uri', 'audit: requestURI', 'requestURI'),
  raw(
    'user',
    'struct<username:string,uid:string,groups:array<string>>',
    'STRUCT(username VARCHAR, uid VARCHAR, "groups" VARCHAR[])',
    'user',
    'audit: user',
  ),
  raw('source_ips', 'array<string>', 'VARCHAR[]', 'sourceIPs', 'audit: sourceIPs'),
  rs('user_agent', 'audit: userAgent', 'userAgent'),
  raw(
    'object_ref',
    'struct<resource:string,subresource:string,namespace:string,name:string,apigroup:string,apiversion:string>',
    'STRUCT(resource VARCHAR, subresource VARCHAR, namespace VARCHAR, name VARCHAR, "apiGroup" VARCHAR, "apiVersion" VARCHAR)',
    'objectRef',
    'audit: objectRef',
  ),
  raw(
    'response_status',
    'struct<code:int,status:string,reason:string,message:string>',
    'STRUCT(code INTEGER, status VARCHAR, reason VARCHAR, message VARCHAR)',
    'responseStatus',
    'audit: responseStatus',
  ),
  raw('annotations', 'map<string,string>', 'MAP(VARCHAR, VARCHAR)', 'annotations', 'audit: annotations'),
  rs('request_received_timestamp', 'audit: requestReceivedTimestamp', 'requestReceivedTimestamp'),
  rs('stage_timestamp', 'audit: stageTimestamp', 'stageTimestamp'),
  rs('severity', 'klog: INFO | WARNING | ERROR | FATAL'),
  raw('thread_id', 'bigint', 'BIGINT', 'thread_id', 'klog: thread id'),
  rs('source_file', 'klog: source file'),
  raw('source_line', 'int', 'INTEGER', 'source_line', 'klog: source line'),
  rs('msg', 'klog or authenticator message'),
  raw('kv', 'map<string,string>', 'MAP(VARCHAR, VARCHAR)', 'kv', 'klog structured pairs, or other logfmt keys'),
  rs('message', 'the original line (klog, authenticator, unparsed)'),
];

/** DuckDB type of a schema column type (curated views, test data). */
export function duckdbType(t: ColumnType): string {
  if (typeof t !== 'string') return 'list' in t ? 'VARCHAR[]' : 'MAP(VARCHAR, VARCHAR)';
  const types: Record<typeof t, string> = {
    string: 'VARCHAR',
    int: 'INTEGER',
    bigint: 'BIGINT',
    double: 'DOUBLE',
    boolean: 'BOOLEAN',
    timestamp: 'TIMESTAMPTZ',
  };
  return types[t];
}

const GENERATED = 'generated from src/core/schema.ts by test/sql/ddl.test.ts (vitest -u); do not edit by hand';

function columnList(cols: readonly { name: string; type: string; comment: string }[]): string {
  return cols
    .map((c) => `  ${quoteHiveIdentifier(c.name)} ${c.type} COMMENT ${quoteHiveString(c.comment)}`)
    .join(',\n');
}
const hiveCols = (cols: readonly ColumnDef[]) => cols.map((c) => ({ ...c, type: hiveType(c.type) }));

/** Base name (without .sql) of a table's DDL statement. */
export function ddlStatementName(table: string): string {
  return `create-table-${table.replaceAll('_', '-')}`;
}

/** The full `sql/athena/create-table-<table>.sql` file of a curated table, header included. */
export function curatedTableDdlFile(table: TableDef): string {
  return [
    `-- name: ${ddlStatementName(table.name)}`,
    '-- kind: ddl',
    `-- description: Creates the curated table ${table.name}: ${table.comment}.`,
    `-- param: location location curated/${table.name}/ table root, lake-relative; partitions are registered one by one`,
    '-- idempotent: yes, IF NOT EXISTS; the workflow registers each partition at its current generation',
    `-- ${GENERATED}.`,
    `CREATE EXTERNAL TABLE IF NOT EXISTS ${table.name} (`,
    columnList(hiveCols(table.columns)),
    ')',
    `COMMENT ${quoteHiveString(table.comment)}`,
    'PARTITIONED BY (',
    columnList(hiveCols(table.partitionKeys)),
    ')',
    'STORED AS PARQUET',
    'LOCATION {{location}}',
    "TBLPROPERTIES ('parquet.compression' = 'ZSTD')",
    '',
  ].join('\n');
}

/** The full `sql/athena/create-table-raw-events.sql` file (OpenX JSON SerDe over gzip NDJSON). */
export function rawTableDdlFile(): string {
  const mappings = RAW_COLUMNS.filter((c) => c.jsonKey !== c.name).map(
    // The SerDe lower-cases JSON keys by default (case.insensitive), so mappings name them lower-cased.
    (c) => `  ${quoteHiveString(`mapping.${c.name}`)} = ${quoteHiveString(c.jsonKey.toLowerCase())}`,
  );
  return [
    `-- name: ${ddlStatementName(RAW_TABLE)}`,
    '-- kind: ddl',
    '-- description: Creates the raw table raw_events over raw/ (gzip NDJSON written by Firehose, partitioned by log_type, dt, hour of arrival).',
    '-- param: location location raw/ root of the raw prefix, lake-relative',
    '-- idempotent: yes, IF NOT EXISTS; partitions are added by add-raw-partitions',
    `-- Columns: the envelope plus the common audit, klog and authenticator fields; ${GENERATED}.`,
    '-- log_type is only a partition key: Hive rejects a data column of the same name.',
    '-- ignore.malformed.json keeps one damaged line from failing every query over its hour.',
    `CREATE EXTERNAL TABLE IF NOT EXISTS ${RAW_TABLE} (`,
    columnList(RAW_COLUMNS.map((c) => ({ name: c.name, type: c.hiveType, comment: c.comment }))),
    ')',
    "COMMENT 'EKS control-plane events as delivered to raw/ (one JSON object per CloudWatch Logs event)'",
    'PARTITIONED BY (',
    columnList(hiveCols(RAW_PARTITION_KEYS)),
    ')',
    "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'",
    'WITH SERDEPROPERTIES (',
    [`  'ignore.malformed.json' = 'true'`, ...mappings].join(',\n'),
    ')',
    "STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'",
    "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'",
    'LOCATION {{location}}',
    '',
  ].join('\n');
}
