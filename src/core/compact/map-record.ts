import type { CuratedRow, MapCell } from '../arrow/build.ts';
import { klogPairSpans } from '../parse/klog.ts';
import { logfmtPairSpans } from '../parse/logfmt.ts';
import type { CuratedTableName } from '../schema.ts';
import { KLOG_TYPES } from '../types.ts';
import { topLevelMemberText } from './json-span.ts';
import { ACCOUNT_RE, CLUSTER_RE, UNKNOWN_CLUSTER } from './layout.ts';
import {
  countRedactions,
  holdsKeyId,
  isSecretKey,
  mayHoldCredentialAssignment,
  mayHoldCredentialMember,
  mayHoldSecret,
  type RedactionCounts,
  redactCredentialAssignments,
  redactCredentialSpans,
  redactEntry,
  redactSecrets,
  startsJson,
} from './redact.ts';
import { parseTimeMicros, partitionTime } from './time.ts';

/** Tables compaction writes (rollups come from Athena). */
export type CompactedTable = Exclude<CuratedTableName, 'audit_hourly_summary'>;
export const COMPACTED_TABLES: readonly CompactedTable[] = [
  'audit_events',
  'component_logs',
  'authenticator_logs',
  'unparsed_logs',
];

/** Why a line went to quarantine/ instead of a curated table. */
export type QuarantineReason =
  | 'non_json'
  | 'truncated_json'
  | 'not_object'
  | 'missing_envelope'
  | 'invalid_account'
  | 'invalid_cluster'
  | 'bad_time'
  | 'time_out_of_range'
  | 'bad_envelope'
  | 'encoding_error'
  | 'line_too_long';

/**
 * Bounds for the time an event was emitted, microseconds, taken from its raw object's arrival
 * hour (timeBoundsFor): [arrival − horizon, arrival + clock skew].
 */
export interface TimeBounds {
  readonly minMicros: number;
  readonly maxMicros: number;
}

export type MappedLine =
  | {
      readonly kind: 'row';
      readonly table: CompactedTable;
      readonly values: readonly [string, string, string, string];
      readonly row: CuratedRow;
      /** The event's own time was unusable; partitioned by the CloudWatch timestamp. */
      readonly timeFallback: boolean;
      /** Secrets replaced by markers in this row (bodies, message, msg). */
      readonly redactions: number;
    }
  | { readonly kind: 'quarantine'; readonly reason: QuarantineReason; readonly detail: string };

/**
 * How long before its `stageTimestamp` an audit request may have been received: exec, attach,
 * port-forward and watch requests stay open for days, and log their last stage only at the end.
 */
export const MAX_REQUEST_AGE_MS = 30 * 86_400_000;
const MAX_REQUEST_AGE_MICROS = MAX_REQUEST_AGE_MS * 1000;

// CloudWatch event ids are decimal strings; anything else cannot be a dedupe key.
const EVENT_ID_RE = /^\d+$/;
const KLOG = new Set<string>(KLOG_TYPES);
const AUTH_PROMOTED: Readonly<Record<string, string>> = {
  username: 'username',
  arn: 'arn',
  uid: 'uid',
  groups: 'groups',
  accesskeyid: 'access_key_id',
  accountid: 'account_id',
  userid: 'user_id',
  session: 'session',
  client: 'client',
  method: 'method',
  path: 'path',
  stsendpoint: 'sts_endpoint',
  error: 'error',
};

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const own = (o: Json, k: string): unknown => (Object.hasOwn(o, k) ? o[k] : undefined);

/** A string column value: strings as is, other JSON values as JSON text, absent as null. */
function str(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function strList(v: unknown): string[] | null {
  return Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))) : null;
}

function entries(v: unknown): MapCell | null {
  if (!isObj(v)) return null;
  return Object.keys(v).map((k) => [k, str(v[k])] as const);
}

function int32(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31 ? v : null;
}

function safeInt(v: unknown): number | null {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d{1,15}$/.test(v)) return Number(v);
  return null;
}

/** aws-iam-authenticator prints groups as Go's `[a b]`; accept a JSON array too. */
export function parseGroups(v: unknown): string[] | null {
  if (Array.isArray(v)) return strList(v);
  if (typeof v !== 'string') return null;
  const t = v.trim();
  if (t.startsWith('[') && t.includes('"')) {
    try {
      const parsed: unknown = JSON.parse(t);
      if (Array.isArray(parsed)) return strList(parsed);
    } catch {
      // Not JSON: fall through to the Go form.
    }
  }
  const inner = t.startsWith('[') && t.endsWith(']') ? t.slice(1, -1) : t;
  return inner.split(/[\s,]+/).filter((x) => x.length > 0);
}

function quarantine(reason: QuarantineReason, detail: string): MappedLine {
  return { kind: 'quarantine', reason, detail };
}

// Every free-text column of every curated table, where a secret can show up: bodies, messages,
// request URIs (tokens in query strings), user extra (JSON text), and the text promoted out of
// the event: user agent, response reason and message, the authorizer's reason, and the
// authenticator's error, path and session (caller-chosen text); parse_error may quote the line.
// Not scanned: identifiers and enums (event/audit ids, account, region, log group and stream,
// log type, usernames, uids, groups, ARNs, IPs, client addresses, verbs, resource names,
// decisions, levels, severities, source files) and message_b64 (bytes, not text). Per table, so
// a row is asked only for columns it has.
export const REDACTED_COLUMNS: Readonly<Record<CompactedTable, readonly string[]>> = {
  audit_events: [
    'request_object',
    'response_object',
    'request_uri',
    'user_extra',
    'user_agent',
    'response_reason',
    'response_message',
    'authz_reason',
  ],
  component_logs: ['message', 'msg', 'parse_error'],
  authenticator_logs: ['message', 'msg', 'error', 'path', 'session', 'parse_error'],
  unparsed_logs: ['message', 'parse_error'],
};
// Per table, which of its redacted columns hold JSON text, where a member named for a
// credential holds one (looked up by position: this runs for every column of every row).
const JSON_COLUMNS = new Set(['request_object', 'response_object', 'user_extra']);
const jsonFlags = (t: CompactedTable) => REDACTED_COLUMNS[t].map((c) => JSON_COLUMNS.has(c));
const IS_JSON_COLUMN: Readonly<Record<CompactedTable, readonly boolean[]>> = {
  audit_events: jsonFlags('audit_events'),
  component_logs: jsonFlags('component_logs'),
  authenticator_logs: jsonFlags('authenticator_logs'),
  unparsed_logs: jsonFlags('unparsed_logs'),
};
// Map values too: admission webhooks copy their JSON patches (env values included) into audit
// annotations, and klog/logfmt key-values can carry a token or a credential named by its key.
export const REDACTED_MAP_COLUMNS: Readonly<Record<CompactedTable, 'annotations' | 'kv' | null>> = {
  audit_events: 'annotations',
  component_logs: 'kv',
  authenticator_logs: 'kv',
  unparsed_logs: null,
};

/**
 * Maps one raw NDJSON line (design §3) to its curated table, partition and row, or to a
 * quarantine reason, with secrets in every free-text column replaced by markers (raw/ keeps
 * them: it is the unchanged copy for Splunk). Pure: the line is the only input besides the
 * time bounds.
 */
export function mapRawLine(line: string, bounds: TimeBounds): MappedLine {
  const m = mapLine(line, bounds);
  if (m.kind !== 'row') return m;
  const row = m.row;
  const unparsed = m.table === 'unparsed_logs';
  // An audit event cut short (a patch over CloudWatch's limit) has no objectRef column: its
  // text says whether it is about a Secret.
  const secretResource =
    row.resource === 'secrets' ||
    (unparsed &&
      row.log_type === 'kube-apiserver-audit' &&
      typeof row.message === 'string' &&
      row.message.includes('"resource":"secrets"'));
  // Read before the message loses its key id to redaction below.
  let keyIdInMessage = false;
  let counts: RedactionCounts | null = null;
  const cols = REDACTED_COLUMNS[m.table];
  const jsonCols = IS_JSON_COLUMN[m.table];
  for (let c = 0; c < cols.length; c++) {
    const col = cols[c]!;
    const v = row[col];
    if (typeof v !== 'string') continue;
    // JSON text: bodies and user extra, and an unparsed message that is JSON (a cut audit event).
    const json = jsonCols[c]! || (unparsed && col === 'message' && startsJson(v));
    // An application's log line may hold JSON after a prefix (a time, a level).
    const credentialMembers = (json || (unparsed && col === 'message')) && mayHoldCredentialMember(v);
    const assignments = !jsonCols[c]! && mayHoldCredentialAssignment(v);
    // Most cells hold no hint of a secret: skip the call and the counts object for them.
    if (!secretResource && !credentialMembers && !assignments && !mayHoldSecret(v)) continue;
    counts ??= {};
    if (col === 'message') keyIdInMessage = holdsKeyId(v);
    // Secret `data` maps only exist in bodies; a lone access key id elsewhere is an identifier
    // investigations join on (user_extra's accessKeyId), so only bodies lose it.
    const body = col.endsWith('_object');
    let out = redactSecrets(v, counts, {
      secretResource: secretResource && (body || (unparsed && col === 'message')),
      keyIdsAlone: body,
      credentialMembers,
    });
    if (assignments) {
      // The verbatim line: a credential-named pair's value goes at the exact span its parser read
      // (the pairs in kv), then `name=value` anywhere else (past a klog line's break point).
      if (col === 'message' && m.table === 'component_logs') {
        const spans = klogPairSpans(out);
        if (spans !== null) out = redactCredentialSpans(out, spans, counts);
      } else if (col === 'message' && m.table === 'authenticator_logs') {
        out = redactCredentialSpans(out, logfmtPairSpans(out), counts);
      }
      out = redactCredentialAssignments(out, counts, json);
    }
    row[col] = out;
  }
  // A map is one record: a secret key logged as its own pair sits beside the pair (or the
  // message) holding its key id, so a key id anywhere makes every value a suspect. A first pass
  // finds suspects: most maps have none and cost no more.
  const mapCol = REDACTED_MAP_COLUMNS[m.table];
  const cell = mapCol === null ? null : (row[mapCol] as MapCell | null | undefined);
  if (mapCol !== null && cell) {
    let nearby = keyIdInMessage;
    let suspects = false;
    for (const [k, v] of cell) {
      if (v === null || v === '') continue;
      if (mayHoldSecret(v)) {
        suspects = true;
        if (!nearby && holdsKeyId(v)) nearby = true;
      } else if (isSecretKey(k) || mayHoldEntryCredential(v)) suspects = true;
    }
    if (suspects || nearby) {
      counts ??= {};
      let out: [string, string | null][] | null = null;
      for (let i = 0; i < cell.length; i++) {
        const [k, v] = cell[i]!;
        if (v === null || v === '') continue;
        if (!nearby && !isSecretKey(k) && !mayHoldSecret(v) && !mayHoldEntryCredential(v)) continue;
        const r = redactEntry(k, v, counts, nearby);
        if (r === v) continue;
        out ??= cell.map(([key, x]) => [key, x]);
        out[i]![1] = r;
      }
      if (out) row[mapCol] = out;
    }
  }
  const redactions = counts === null ? 0 : countRedactions(counts);
  return redactions === 0 ? m : { ...m, redactions };
}

/** A map value with a credential-named JSON member (a webhook's patch) or `name=value` (arguments). */
function mayHoldEntryCredential(v: string): boolean {
  return (startsJson(v) && mayHoldCredentialMember(v)) || mayHoldCredentialAssignment(v);
}

function mapLine(line: string, bounds: TimeBounds): MappedLine {
  let rec: unknown;
  try {
    rec = JSON.parse(line);
  } catch (err) {
    const truncated = line.trimStart().startsWith('{') && /end of JSON|Unterminated/i.test(String(err));
    return quarantine(truncated ? 'truncated_json' : 'non_json', String((err as Error).message).slice(0, 200));
  }
  if (!isObj(rec)) return quarantine('not_object', `line is a JSON ${Array.isArray(rec) ? 'array' : typeof rec}`);

  const account = own(rec, 'account');
  const logGroup = own(rec, 'log_group');
  const logType = own(rec, 'log_type');
  if (typeof account !== 'string' || typeof logGroup !== 'string' || typeof logType !== 'string') {
    return quarantine('missing_envelope', 'account, log_group or log_type missing');
  }
  if (!ACCOUNT_RE.test(account))
    return quarantine('invalid_account', `account ${JSON.stringify(account).slice(0, 40)}`);
  const rawCluster = own(rec, 'cluster');
  const cluster = rawCluster === null || rawCluster === undefined ? UNKNOWN_CLUSTER : rawCluster;
  if (typeof cluster !== 'string' || (cluster !== UNKNOWN_CLUSTER && !CLUSTER_RE.test(cluster))) {
    return quarantine('invalid_cluster', `cluster ${JSON.stringify(cluster).slice(0, 120)}`);
  }

  // Row 12: an event whose CloudWatch id or timestamp was unusable has no sound dedupe key (two
  // different events with id "xyz" would collapse into one) nor a trusted time.
  const eventId = own(rec, 'event_id');
  if (own(rec, 'parse_status') === 'bad_envelope' || typeof eventId !== 'string' || !EVENT_ID_RE.test(eventId)) {
    const why = str(own(rec, 'parse_error')) ?? `event_id ${JSON.stringify(eventId ?? null).slice(0, 60)}`;
    return quarantine('bad_envelope', why.slice(0, 200));
  }

  const cwlMs = own(rec, 'cwl_timestamp');
  const cwlMicros = typeof cwlMs === 'number' && Number.isFinite(cwlMs) ? Math.round(cwlMs * 1000) : null;
  let time = parseTimeMicros(own(rec, 'time'));
  const timeFallback = time === null;
  if (time === null) time = cwlMicros;
  if (time === null) return quarantine('bad_time', `time ${JSON.stringify(own(rec, 'time'))?.slice(0, 60)}`);
  // An audit event is emitted at its stage time: the ResponseComplete of a request open for days
  // arrives on time although its time (when the request was received) is older than the horizon.
  const emitted = logType === 'kube-apiserver-audit' ? parseTimeMicros(own(rec, 'stageTimestamp')) : null;
  const checked = emitted ?? time;
  if (checked < bounds.minMicros || checked > bounds.maxMicros) {
    return quarantine('time_out_of_range', `${emitted === null ? 'time' : 'stageTimestamp'} ${isoOf(checked)}`);
  }
  if (emitted !== null && (time < emitted - MAX_REQUEST_AGE_MICROS || time > bounds.maxMicros)) {
    return quarantine('time_out_of_range', `time ${isoOf(time)} with stageTimestamp ${isoOf(emitted)}`);
  }
  const { dt, hour } = partitionTime(time);
  const values = [account, cluster, dt, hour] as const;

  // Shared columns as locals: each table's row is one object literal (no spread of a common part).
  const h: Head = {
    time,
    eventId,
    cwlMicros,
    region: str(own(rec, 'region')),
    logGroup,
    logStream: str(own(rec, 'log_stream')),
  };
  const status = str(own(rec, 'parse_status')) ?? 'unparsed';
  const parseError = str(own(rec, 'parse_error'));

  const unparsed = (error: string | null, st = status): MappedLine => {
    const message = own(rec, 'message');
    return {
      kind: 'row',
      table: 'unparsed_logs',
      values,
      timeFallback,
      redactions: 0,
      row: {
        time: h.time,
        event_id: h.eventId,
        cwl_timestamp: h.cwlMicros,
        region: h.region,
        log_group: h.logGroup,
        log_stream: h.logStream,
        log_type: logType,
        parse_status: st,
        parse_error: error,
        message: typeof message === 'string' ? message : line,
        message_b64: str(own(rec, 'message_b64')),
      },
    };
  };

  if (status === 'unparsed') {
    const text = own(rec, 'message');
    const cut = typeof text === 'string' ? truncatedJson(text) : null;
    if (cut !== null) return unparsed(cut, 'truncated');
  }
  if (status !== 'ok' && status !== 'partial') return unparsed(parseError);

  if (logType === 'kube-apiserver-audit') {
    if (status !== 'ok' || own(rec, 'kind') !== 'Event' || typeof own(rec, 'auditID') !== 'string') {
      return unparsed(parseError ?? 'not an audit.k8s.io Event', status === 'ok' ? 'not_audit_event' : status);
    }
    // The apiserver always writes RFC 3339 (metav1.MicroTime); anything else is a corrupt or
    // forged record, kept whole in quarantine rather than curated under a guessed time.
    const receivedText = own(rec, 'requestReceivedTimestamp');
    const received = parseTimeMicros(receivedText);
    if (received === null && receivedText !== undefined && receivedText !== null) {
      return quarantine(
        'bad_time',
        `requestReceivedTimestamp ${JSON.stringify(receivedText).slice(0, 60)} is not RFC 3339`,
      );
    }
    const stageText = own(rec, 'stageTimestamp');
    const stage = emitted;
    if (stage === null && stageText !== undefined && stageText !== null) {
      return quarantine('bad_time', `stageTimestamp ${JSON.stringify(stageText).slice(0, 60)} is not RFC 3339`);
    }
    return {
      kind: 'row',
      table: 'audit_events',
      values,
      timeFallback,
      redactions: 0,
      row: auditRow(rec, line, h, received, stage),
    };
  }
  if (KLOG.has(logType)) {
    return {
      kind: 'row',
      table: 'component_logs',
      values,
      timeFallback,
      redactions: 0,
      row: {
        time: h.time,
        event_id: h.eventId,
        cwl_timestamp: h.cwlMicros,
        region: h.region,
        log_group: h.logGroup,
        log_stream: h.logStream,
        log_type: logType,
        severity: str(own(rec, 'severity')),
        thread_id: safeInt(own(rec, 'thread_id')),
        source_file: str(own(rec, 'source_file')),
        source_line: int32(own(rec, 'source_line')),
        msg: str(own(rec, 'msg')),
        kv: entries(own(rec, 'kv')),
        message: str(own(rec, 'message')),
        parse_status: status,
        parse_error: parseError,
      },
    };
  }
  if (logType === 'authenticator') {
    return {
      kind: 'row',
      table: 'authenticator_logs',
      values,
      timeFallback,
      redactions: 0,
      row: authRow(rec, h, status, parseError),
    };
  }
  return unparsed(parseError ?? `log_type ${logType}`, status === 'ok' ? 'unknown_log_type' : status);
}

function isoOf(micros: number): string {
  const d = new Date(Math.floor(micros / 1000));
  return Number.isNaN(d.getTime()) ? String(micros) : d.toISOString();
}

/** Columns every table shares, read once from the envelope. */
interface Head {
  readonly time: number;
  readonly eventId: string;
  readonly cwlMicros: number | null;
  readonly region: string | null;
  readonly logGroup: string;
  readonly logStream: string | null;
}

/** CloudWatch Logs cuts events at 256 KiB (less 26 bytes of overhead per event). */
export const CLOUDWATCH_EVENT_LIMIT = 256 * 1024 - 26;

/**
 * Why `text` looks like JSON cut short (CloudWatch truncates events over its size limit), or
 * null: it opens as a JSON object or array and the parser fails only at its very end (a valid
 * prefix), unlike JSON broken in its middle.
 */
export function truncatedJson(text: string): string | null {
  const t = text.trimEnd();
  const c = t.charCodeAt(0);
  if (c !== 0x7b && c !== 0x5b) return null;
  try {
    JSON.parse(t);
    return null;
  } catch (err) {
    const msg = String((err as Error).message);
    const at = /at position (\d+)/.exec(msg);
    const atEnd = /end of JSON input/.test(msg) || (at !== null && Number(at[1]) >= t.length);
    if (!atEnd) return null;
    const bytes = Buffer.byteLength(text);
    return bytes >= CLOUDWATCH_EVENT_LIMIT - 1024
      ? `truncated JSON: ${bytes} bytes, cut at the CloudWatch event size limit`
      : `truncated JSON: ${bytes} bytes, ends before its closing bracket`;
  }
}

function auditRow(rec: Json, line: string, h: Head, received: number | null, stage: number | null): CuratedRow {
  const user = isObj(rec.user) ? rec.user : {};
  const imp = isObj(rec.impersonatedUser) ? rec.impersonatedUser : {};
  const ref = isObj(rec.objectRef) ? rec.objectRef : {};
  const status = isObj(rec.responseStatus) ? rec.responseStatus : {};
  const ann = isObj(rec.annotations) ? rec.annotations : {};
  // Bodies come from the line's own text so integers beyond 2^53 stay exact.
  const bodies =
    line.includes('"requestObject"') || line.includes('"responseObject"')
      ? topLevelMemberText(line, ['requestObject', 'responseObject'])
      : undefined;
  return {
    time: h.time,
    event_id: h.eventId,
    cwl_timestamp: h.cwlMicros,
    region: h.region,
    log_group: h.logGroup,
    log_stream: h.logStream,
    audit_id: str(own(rec, 'auditID')),
    stage: str(own(rec, 'stage')),
    level: str(own(rec, 'level')),
    verb: str(own(rec, 'verb')),
    request_uri: str(own(rec, 'requestURI')),
    username: str(own(user, 'username')),
    user_uid: str(own(user, 'uid')),
    user_groups: strList(own(user, 'groups')),
    user_extra: str(own(user, 'extra')),
    impersonated_user: str(own(imp, 'username')),
    source_ips: strList(own(rec, 'sourceIPs')),
    user_agent: str(own(rec, 'userAgent')),
    resource: str(own(ref, 'resource')),
    subresource: str(own(ref, 'subresource')),
    namespace: str(own(ref, 'namespace')),
    name: str(own(ref, 'name')),
    api_group: str(own(ref, 'apiGroup')),
    api_version: str(own(ref, 'apiVersion')),
    response_code: int32(own(status, 'code')),
    response_status: str(own(status, 'status')),
    response_reason: str(own(status, 'reason')),
    response_message: str(own(status, 'message')),
    authz_decision: str(own(ann, 'authorization.k8s.io/decision')),
    authz_reason: str(own(ann, 'authorization.k8s.io/reason')),
    annotations: entries(own(rec, 'annotations')),
    request_received_time: received,
    stage_time: stage,
    latency_ms: received !== null && stage !== null ? (stage - received) / 1000 : null,
    request_object: bodies?.get('requestObject') ?? null,
    response_object: bodies?.get('responseObject') ?? null,
  };
}

function authRow(rec: Json, h: Head, status: string, parseError: string | null): CuratedRow {
  const kv = isObj(rec.kv) ? rec.kv : {};
  const row: CuratedRow = {
    time: h.time,
    event_id: h.eventId,
    cwl_timestamp: h.cwlMicros,
    region: h.region,
    log_group: h.logGroup,
    log_stream: h.logStream,
    level: str(own(rec, 'level')),
    msg: str(own(rec, 'msg')),
    message: str(own(rec, 'message')),
    parse_status: status,
    parse_error: parseError,
  };
  const rest: [string, string | null][] = [];
  for (const k of Object.keys(kv)) {
    const col = Object.hasOwn(AUTH_PROMOTED, k) ? AUTH_PROMOTED[k] : undefined;
    if (col === undefined) rest.push([k, str(kv[k])]);
    else row[col] = col === 'groups' ? parseGroups(kv[k]) : str(kv[k]);
  }
  row.kv = rest;
  return row;
}
