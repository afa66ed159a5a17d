/**
 * The one definition of every curated table. Arrow schemas (compaction), Glue columns (infra)
 * and Athena/DuckDB DDL (sql/) are all derived from here; tests fail on drift.
 */

/** Logical column types; each renderer maps them to its own dialect. */
export type ColumnType =
  | 'string'
  | 'int' // 32-bit signed
  | 'bigint' // 64-bit signed
  | 'double'
  | 'boolean'
  | 'timestamp' // UTC instant, microsecond precision
  | { readonly list: 'string' }
  | { readonly map: readonly ['string', 'string'] };

export interface ColumnDef {
  readonly name: string;
  readonly type: ColumnType;
  readonly comment: string;
}

export type CuratedTableName =
  | 'audit_events'
  | 'component_logs'
  | 'authenticator_logs'
  | 'unparsed_logs'
  | 'audit_hourly_summary';

export interface TableDef {
  readonly name: CuratedTableName;
  readonly comment: string;
  /** Data columns, in file order. */
  readonly columns: readonly ColumnDef[];
  /** Hive partition keys, in path order; always strings. */
  readonly partitionKeys: readonly ColumnDef[];
  /** Row order inside each file so row-group min/max statistics prune common filters. */
  readonly sortBy: readonly string[];
  /** `compaction` tables are written by our Lambdas; `rollup` tables by an Athena UNLOAD. */
  readonly producer: 'compaction' | 'rollup';
}

const s = (name: string, comment: string): ColumnDef => ({ name, type: 'string', comment });
const ts = (name: string, comment: string): ColumnDef => ({ name, type: 'timestamp', comment });
const int = (name: string, comment: string): ColumnDef => ({ name, type: 'int', comment });
const big = (name: string, comment: string): ColumnDef => ({ name, type: 'bigint', comment });
const dbl = (name: string, comment: string): ColumnDef => ({ name, type: 'double', comment });
const list = (name: string, comment: string): ColumnDef => ({ name, type: { list: 'string' }, comment });
const map = (name: string, comment: string): ColumnDef => ({ name, type: { map: ['string', 'string'] }, comment });

/** Partition keys shared by every curated table: `account=/cluster=/dt=/hour=`. */
export const PARTITION_KEYS: readonly ColumnDef[] = [
  s('account', 'AWS account id that owns the source log group'),
  s('cluster', 'EKS cluster name, from /aws/eks/<cluster>/cluster'),
  s('dt', 'event date, YYYY-MM-DD (UTC)'),
  s('hour', 'event hour, HH (UTC)'),
];

/** Columns every compaction-produced table keeps (design §4). */
const COMMON: readonly ColumnDef[] = [
  ts('time', "the event's own time (UTC, microseconds)"),
  s('event_id', 'CloudWatch Logs event id (decimal string); dedupe key with account and log_group'),
  ts('cwl_timestamp', 'CloudWatch Logs event timestamp'),
  s('region', 'AWS region of the deployment'),
  s('log_group', 'CloudWatch Logs group'),
  s('log_stream', 'CloudWatch Logs stream'),
];

export const AUDIT_EVENTS: TableDef = {
  name: 'audit_events',
  comment: 'Kubernetes API audit events (audit.k8s.io/v1 Event), one row per event and stage',
  producer: 'compaction',
  columns: [
    ...COMMON,
    s('audit_id', 'auditID'),
    s('stage', 'RequestReceived | ResponseStarted | ResponseComplete | Panic'),
    s('level', 'audit level: Metadata | Request | RequestResponse'),
    s('verb', 'get, list, watch, create, update, patch, delete, …'),
    s('request_uri', 'requestURI'),
    s('username', 'user.username'),
    s('user_uid', 'user.uid'),
    list('user_groups', 'user.groups'),
    s('user_extra', 'user.extra as JSON'),
    s('impersonated_user', 'impersonatedUser.username'),
    list('source_ips', 'sourceIPs'),
    s('user_agent', 'userAgent'),
    s('resource', 'objectRef.resource'),
    s('subresource', 'objectRef.subresource'),
    s('namespace', 'objectRef.namespace'),
    s('name', 'objectRef.name'),
    s('api_group', 'objectRef.apiGroup (null for the core group)'),
    s('api_version', 'objectRef.apiVersion'),
    int('response_code', 'responseStatus.code'),
    s('response_status', 'responseStatus.status'),
    s('response_reason', 'responseStatus.reason'),
    s('response_message', 'responseStatus.message'),
    s('authz_decision', 'annotations["authorization.k8s.io/decision"]'),
    s('authz_reason', 'annotations["authorization.k8s.io/reason"]'),
    map('annotations', 'all audit annotations'),
    ts('request_received_time', 'requestReceivedTimestamp'),
    ts('stage_time', 'stageTimestamp'),
    dbl('latency_ms', 'stageTimestamp - requestReceivedTimestamp, milliseconds'),
    s('request_object', 'requestObject as JSON text (integers exact)'),
    s('response_object', 'responseObject as JSON text (integers exact)'),
  ],
  partitionKeys: PARTITION_KEYS,
  // Investigations start from an object ("who touched secret X"), so cluster rows by it.
  sortBy: ['resource', 'namespace', 'name', 'time', 'event_id'],
};

export const COMPONENT_LOGS: TableDef = {
  name: 'component_logs',
  comment: 'klog lines of kube-apiserver, kube-scheduler, kube-controller-manager and cloud-controller-manager',
  producer: 'compaction',
  columns: [
    ...COMMON,
    s('log_type', 'kube-apiserver | kube-scheduler | kube-controller-manager | cloud-controller-manager'),
    s('severity', 'INFO | WARNING | ERROR | FATAL'),
    big('thread_id', 'klog thread id'),
    s('source_file', 'source file of the log call'),
    int('source_line', 'source line of the log call'),
    s('msg', 'the message (unquoted for structured logs)'),
    map('kv', 'structured key=value pairs'),
    s('message', 'the original line, verbatim'),
    s('parse_status', 'ok | partial'),
    s('parse_error', 'why the line was only partly understood'),
  ],
  partitionKeys: PARTITION_KEYS,
  // Errors by component over time is the common query: log_type, severity prune first.
  sortBy: ['log_type', 'severity', 'time', 'event_id'],
};

export const AUTHENTICATOR_LOGS: TableDef = {
  name: 'authenticator_logs',
  comment: 'aws-iam-authenticator logfmt lines: who authenticated as what',
  producer: 'compaction',
  columns: [
    ...COMMON,
    s('level', 'info | warning | error …'),
    s('msg', 'the message'),
    s('username', 'Kubernetes username granted'),
    s('arn', 'IAM principal ARN'),
    s('uid', 'aws-iam-authenticator uid'),
    list('groups', 'Kubernetes groups granted'),
    s('access_key_id', 'accesskeyid'),
    s('account_id', 'accountid of the IAM principal'),
    s('user_id', 'userid (IAM unique id)'),
    s('session', 'session name'),
    s('client', 'client address'),
    s('method', 'HTTP method'),
    s('path', 'request path'),
    s('sts_endpoint', 'stsendpoint'),
    s('error', 'error text on denials'),
    map('kv', 'every other logfmt key'),
    s('message', 'the original line, verbatim'),
    s('parse_status', 'ok | partial'),
    s('parse_error', 'why the line was only partly understood'),
  ],
  partitionKeys: PARTITION_KEYS,
  sortBy: ['time', 'event_id'],
};

export const UNPARSED_LOGS: TableDef = {
  name: 'unparsed_logs',
  comment: 'events that could not be parsed or belong to unknown streams; kept verbatim with the reason',
  producer: 'compaction',
  columns: [
    ...COMMON,
    s('log_type', 'classified stream type, or unknown'),
    s('parse_status', 'unparsed | truncated | not_audit_event | unknown_log_type | partial'),
    s('parse_error', 'why'),
    s('message', 'the original message (valid UTF-8)'),
    s('message_b64', 'original bytes as base64 when the message was not valid UTF-8'),
  ],
  partitionKeys: PARTITION_KEYS,
  sortBy: ['log_type', 'time', 'event_id'],
};

export const AUDIT_HOURLY_SUMMARY: TableDef = {
  name: 'audit_hourly_summary',
  comment: 'Athena UNLOAD rollup: requests per account, cluster, hour, user, verb, resource and code',
  producer: 'rollup',
  columns: [
    s('username', 'user.username'),
    s('verb', 'verb'),
    s('resource', 'objectRef.resource'),
    s('namespace', 'objectRef.namespace'),
    int('response_code', 'responseStatus.code'),
    big('requests', 'number of audit events (stage ResponseComplete)'),
    big('denied', 'requests with authz_decision = forbid'),
    dbl('max_latency_ms', 'slowest request, milliseconds'),
    ts('first_seen', 'earliest event time'),
    ts('last_seen', 'latest event time'),
  ],
  partitionKeys: PARTITION_KEYS,
  sortBy: ['username', 'verb', 'resource'],
};

export const TABLES: readonly TableDef[] = [
  AUDIT_EVENTS,
  COMPONENT_LOGS,
  AUTHENTICATOR_LOGS,
  UNPARSED_LOGS,
  AUDIT_HOURLY_SUMMARY,
];

export function tableDef(name: CuratedTableName): TableDef {
  const t = TABLES.find((x) => x.name === name);
  if (!t) throw new Error(`unknown table ${name}`);
  return t;
}

/** The raw NDJSON table over `raw/` (Athena JSON SerDe), partitioned as Firehose writes it. */
export const RAW_PARTITION_KEYS: readonly ColumnDef[] = [
  s('log_type', 'classified stream type'),
  s('dt', 'arrival date, YYYY-MM-DD (UTC)'),
  s('hour', 'arrival hour, HH (UTC)'),
];

/** Hive/Glue/Athena type string of a column type (Glue `Columns[].Type`, Athena DDL). */
export function hiveType(t: ColumnType): string {
  if (typeof t === 'string') return t;
  if ('list' in t) return `array<${t.list}>`;
  return `map<${t.map[0]},${t.map[1]}>`;
}
