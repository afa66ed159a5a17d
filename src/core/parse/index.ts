import type { UndecodableMessage } from '../decode.ts';
import { ENVELOPE_FIELDS, type LogType, type ParseStatus, type RawRecord, type SubscriptionMessage } from '../types.ts';
import { classifyLogStream, clusterFromLogGroup } from './classify.ts';
import { scanAuditJson } from './json-scan.ts';
import { toSingleLineJson } from './json-text.ts';
import { parseKlogLine } from './klog.ts';
import { addKv } from './kv.ts';
import { parseLogfmtLifted } from './logfmt.ts';
import { formatEpochMs, MAX_EPOCH_MS, normalizeRfc3339 } from './time.ts';

export { classifyLogStream, clusterFromLogGroup } from './classify.ts';
export { type KlogFields, type KlogSeverity, parseKlogLine } from './klog.ts';
export type { KvMap } from './kv.ts';
export { type LogfmtResult, parseLogfmt } from './logfmt.ts';
export { formatEpochMs, normalizeRfc3339 } from './time.ts';

/** Deployment facts the payload does not carry. */
export interface ParseContext {
  readonly region: string;
}

const EVENT_ID_RE = /^\d+$/;

/**
 * One NDJSON line (no trailing newline) per log event of a DATA_MESSAGE, in order; [] for a
 * CONTROL_MESSAGE. Never throws on event content: bad events become `bad_envelope` records.
 */
export function toRawRecordLines(message: SubscriptionMessage, ctx: ParseContext): string[] {
  const { heads, tails } = toRawRecordParts(message, ctx);
  for (let i = 0; i < heads.length; i++) if (tails[i] !== '') heads[i] += tails[i]!;
  return heads;
}

/** How many lines of a message have each parse_status. */
export type ParseStatusCounts = Record<ParseStatus, number>;

/** The lines of toRawRecordLines in two parts each: line i is `heads[i] + tails[i]`. */
export interface RawRecordParts {
  readonly heads: string[];
  /** Mostly empty; an audit line's original body, kept apart so it is copied once, not joined first. */
  readonly tails: string[];
  readonly statuses: ParseStatusCounts;
}

// The counts of the message being written: head() writes every line's status, so it counts too.
let statuses: ParseStatusCounts = zeroStatuses();

function zeroStatuses(): ParseStatusCounts {
  return { ok: 0, partial: 0, unparsed: 0, bad_envelope: 0 };
}

/** toRawRecordLines without joining each line's parts, for writers that copy them out anyway. */
export function toRawRecordParts(message: SubscriptionMessage, ctx: ParseContext): RawRecordParts {
  if (message.messageType !== 'DATA_MESSAGE') return { heads: [], tails: [], statuses: zeroStatuses() };
  const cluster = clusterFromLogGroup(message.logGroup);
  // Only EKS control-plane groups are parsed; anything else is kept verbatim as `unknown`.
  const logType: LogType = cluster === null ? 'unknown' : classifyLogStream(message.logStream);
  const shared =
    `,"account":${JSON.stringify(message.owner)},"region":${JSON.stringify(ctx.region)}` +
    `,"cluster":${JSON.stringify(cluster)},"log_group":${JSON.stringify(message.logGroup)}` +
    `,"log_stream":${JSON.stringify(message.logStream)},"log_type":"${logType}"`;
  const n = message.logEvents.length;
  const heads: string[] = new Array(n);
  const tails: string[] = new Array(n).fill('');
  const counts = zeroStatuses();
  statuses = counts;
  for (let i = 0; i < n; i++) heads[i] = eventLine(message.logEvents[i], logType, shared, tails, i);
  return { heads, tails, statuses: counts };
}

/**
 * The records of toRawRecordLines as objects. Integers beyond 2^53 inside audit bodies lose
 * precision here; the lines are the exact form.
 */
export function toRawRecords(message: SubscriptionMessage, ctx: ParseContext): RawRecord[] {
  return toRawRecordLines(message, ctx).map((line) => JSON.parse(line) as RawRecord);
}

// `id` is a validated digit string except on bad_envelope records, which take the slow path.
function head(time: string | null, ts: number | null, id: string, shared: string, status: ParseStatus, error?: string) {
  statuses[status]++;
  const idJson = status === 'bad_envelope' ? JSON.stringify(id) : '"' + id + '"';
  const timeJson = time === null ? 'null' : '"' + time + '"';
  const tail = error === undefined ? '"' : '","parse_error":' + JSON.stringify(error);
  return (
    '{"time":' +
    timeJson +
    ',"cwl_timestamp":' +
    ts +
    ',"event_id":' +
    idJson +
    shared +
    ',"parse_status":"' +
    status +
    tail
  );
}

function withFields(prefix: string, fields: Record<string, unknown>): string {
  return `${prefix},${JSON.stringify(fields).slice(1)}`;
}

// Writes `tails[i]` only when it splits the line (an audit body); returns the rest of the line.
function eventLine(ev: unknown, logType: LogType, shared: string, tails: string[], i: number): string {
  const problem = eventProblem(ev);
  if (problem !== null) return badEnvelopeLine(ev, shared, problem);
  const { id, timestamp, message } = ev as { id: string; timestamp: number; message: string };
  const bytes = (ev as Partial<UndecodableMessage>).messageBytes;
  if (bytes !== undefined) {
    return withFields(head(formatEpochMs(timestamp), timestamp, id, shared, 'unparsed', 'invalid UTF-8 in message'), {
      message,
      message_b64: Buffer.from(bytes).toString('base64'),
    });
  }
  switch (logType) {
    case 'kube-apiserver-audit':
      return auditLine(id, timestamp, message, shared, tails, i);
    case 'authenticator':
      return authenticatorLine(id, timestamp, message, shared);
    case 'unknown':
      return withFields(head(formatEpochMs(timestamp), timestamp, id, shared, 'unparsed', 'unknown log type'), {
        message,
      });
    default:
      return klogLine(id, timestamp, message, shared);
  }
}

function eventProblem(ev: unknown): string | null {
  if (typeof ev !== 'object' || ev === null || Array.isArray(ev)) return 'log event is not an object';
  const { id, timestamp, message } = ev as Record<string, unknown>;
  if (typeof id !== 'string' || !EVENT_ID_RE.test(id)) return 'log event id is missing or not a decimal string';
  if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp < 0 || timestamp > MAX_EPOCH_MS) {
    return 'log event timestamp is missing or not epoch milliseconds';
  }
  if (typeof message !== 'string') return 'log event message is missing or not a string';
  return null;
}

function badEnvelopeLine(ev: unknown, shared: string, problem: string): string {
  const o = (typeof ev === 'object' && ev !== null ? ev : {}) as Record<string, unknown>;
  const id = typeof o.id === 'string' ? o.id : typeof o.id === 'number' ? String(o.id) : '';
  const ts = o.timestamp;
  const tsOk = typeof ts === 'number' && Number.isSafeInteger(ts) && ts >= 0 && ts <= MAX_EPOCH_MS;
  const message = typeof o.message === 'string' ? o.message : (JSON.stringify(ev) ?? String(ev));
  return withFields(head(tsOk ? formatEpochMs(ts) : null, tsOk ? ts : null, id, shared, 'bad_envelope', problem), {
    message,
  });
}

function auditLine(id: string, ts: number, message: string, shared: string, tails: string[], i: number): string {
  // One pass that builds nothing answers for nearly every event; anything it is unsure of
  // (including reserved names, which need the field order below) goes through JSON.parse.
  const facts = scanAuditJson(message);
  if (facts === null || facts.hasReservedKey) return auditLineParsed(id, ts, message, shared);
  const time = auditTime(facts.requestReceivedTimestamp) ?? auditTime(facts.stageTimestamp) ?? formatEpochMs(ts);
  // The scan is unsure of any control character, so a body it accepts has no CR/LF to replace.
  const body = auditBody(message, false);
  if (body === null) return `${head(time, ts, id, shared, 'ok')}}`;
  tails[i] = body;
  return `${head(time, ts, id, shared, 'ok')},`;
}

function auditLineParsed(id: string, ts: number, message: string, shared: string): string {
  let body: unknown;
  try {
    body = JSON.parse(message);
  } catch (err) {
    const why = `invalid or truncated JSON: ${(err as Error).message}`;
    return withFields(head(formatEpochMs(ts), ts, id, shared, 'unparsed', why), { message });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return withFields(head(formatEpochMs(ts), ts, id, shared, 'unparsed', 'audit message is not a JSON object'), {
      message,
    });
  }
  const obj = body as Record<string, unknown>;
  // JSON.parse never yields undefined values and the reserved names are not on Object.prototype,
  // so plain loads (inline-cached) answer "own key?" faster than Object.hasOwn.
  if (
    obj.time !== undefined ||
    obj.cwl_timestamp !== undefined ||
    obj.event_id !== undefined ||
    obj.account !== undefined ||
    obj.region !== undefined ||
    obj.cluster !== undefined ||
    obj.log_group !== undefined ||
    obj.log_stream !== undefined ||
    obj.log_type !== undefined ||
    obj.parse_status !== undefined ||
    obj.parse_error !== undefined
  ) {
    const name = ENVELOPE_FIELDS.find((f) => Object.hasOwn(obj, f));
    const why = `audit event uses the reserved field name "${name}"`;
    return withFields(head(formatEpochMs(ts), ts, id, shared, 'unparsed', why), { message });
  }
  const time = auditTime(obj.requestReceivedTimestamp) ?? auditTime(obj.stageTimestamp) ?? formatEpochMs(ts);
  const members = auditBody(message, true);
  return `${head(time, ts, id, shared, 'ok')}${members === null ? '}' : `,${members}`}`;
}

/**
 * The members of a valid audit object and its closing brace, made single-line, to splice after
 * the envelope so numbers and duplicate keys stay byte-exact; null for an empty object.
 */
function auditBody(message: string, mayHaveLineBreaks: boolean): string | null {
  const open = message.indexOf('{');
  let close = open + 1;
  while (close < message.length && isJsonSpace(message.charCodeAt(close))) close++;
  if (message.charCodeAt(close) === 0x7d) return null;
  return toSingleLineJson(message.slice(open + 1), mayHaveLineBreaks);
}

function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function auditTime(v: unknown): string | null {
  return typeof v === 'string' ? normalizeRfc3339(v) : null;
}

function klogLine(id: string, ts: number, message: string, shared: string): string {
  const k = parseKlogLine(message, ts);
  const prefix = head(k.time ?? formatEpochMs(ts), ts, id, shared, k.status, k.error ?? undefined);
  const messageJson = JSON.stringify(message);
  // `msgStart` set means an unstructured line (so kv is empty) whose header needs no escaping:
  // msg's JSON is a slice of the line's (one escape pass, not two) and the file goes in as is.
  const plain = k.msgStart !== null;
  const msgJson = plain ? '"' + messageJson.slice(k.msgStart + 1) : JSON.stringify(k.msg);
  // Assembled by hand: cheaper than stringifying a fresh object per line, same JSON.
  return (
    prefix +
    (k.severity === null
      ? ',"severity":null,"thread_id":null,"source_file":null,"source_line":null'
      : ',"severity":"' +
        k.severity +
        '","thread_id":' +
        k.threadId +
        ',"source_file":' +
        (plain ? '"' + k.sourceFile + '"' : JSON.stringify(k.sourceFile)) +
        ',"source_line":' +
        k.sourceLine) +
    ',"msg":' +
    msgJson +
    ',"kv":' +
    (plain ? '{}' : JSON.stringify(k.kv)) +
    ',"message":' +
    messageJson +
    '}'
  );
}

function authenticatorLine(id: string, ts: number, message: string, shared: string): string {
  const p = parseLogfmtLifted(message);
  if (p.time === undefined && p.level === undefined && p.msg === undefined) {
    const why = 'not logfmt (no time, level or msg)';
    return withFields(head(formatEpochMs(ts), ts, id, shared, 'partial', why), {
      level: null,
      msg: message,
      kv: {},
      message,
    });
  }
  let status: ParseStatus = 'ok';
  let why: string | undefined = p.error ?? undefined;
  const time = p.time === undefined ? null : normalizeRfc3339(p.time);
  if (p.error !== null) {
    status = 'partial';
  } else if (time === null) {
    status = 'partial';
    why = p.time === undefined ? 'no time= field' : `invalid time ${JSON.stringify(p.time)}`;
  }
  // An unreadable time stays in kv so nothing is lost.
  if (time === null && p.time !== undefined) addKv(p.kv, 'time', p.time);
  return (
    head(time ?? formatEpochMs(ts), ts, id, shared, status, why) +
    ',"level":' +
    (p.level === undefined ? 'null' : JSON.stringify(p.level)) +
    ',"msg":' +
    (p.msg === undefined ? 'null' : JSON.stringify(p.msg)) +
    ',"kv":' +
    JSON.stringify(p.kv) +
    ',"message":' +
    JSON.stringify(message) +
    '}'
  );
}
