import { type QuotedRead, readGoQuoted } from './go-quote.ts';
import { addKv, type KvMap, newKv } from './kv.ts';
import { utcMs } from './time.ts';

/** klog severities, from the header's first letter I/W/E/F. */
export type KlogSeverity = 'INFO' | 'WARNING' | 'ERROR' | 'FATAL';

/** What a klog line yields; `message` (the verbatim line) is added by the record builder. */
export interface KlogFields {
  /**
   * `partial` when the line has no klog header, its header time is impossible, or its structured
   * key/value tail does not parse to its end.
   */
  readonly status: 'ok' | 'partial';
  readonly error: string | null;
  /** RFC 3339 UTC with microseconds, or null when the header has none (use the CloudWatch time). */
  readonly time: string | null;
  readonly severity: KlogSeverity | null;
  readonly threadId: number | null;
  readonly sourceFile: string | null;
  readonly sourceLine: number | null;
  /** The message: unquoted for structured lines, the text after the header otherwise. */
  readonly msg: string;
  readonly kv: KvMap;
  /**
   * Where `msg` starts in the line when it is the line's verbatim tail and everything before
   * it needs no JSON escaping (so its JSON text is a slice of the line's); otherwise null.
   */
  readonly msgStart: number | null;
}

const SEVERITY: Readonly<Record<string, KlogSeverity>> = { I: 'INFO', W: 'WARNING', E: 'ERROR', F: 'FATAL' };

// The nearest of three candidate years is always within half a year, except for 29 February.
const MAX_SKEW_MS = 200 * 86_400_000;
const HALF_YEAR_MS = 182 * 86_400_000;

/** Header fields of the last line read by readHeader (shared to keep the hot path allocation-free). */
const H = { threadId: 0, fileStart: 0, fileEnd: 0, line: 0, end: 0, plainFile: true };

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function digits2(s: string, i: number): number {
  return (s.charCodeAt(i) - 0x30) * 10 + (s.charCodeAt(i + 1) - 0x30);
}

const TIME_DIGITS = [1, 2, 3, 4, 6, 7, 9, 10, 12, 13, 15, 16, 17, 18, 19, 20];

// `Lmmdd hh:mm:ss.uuuuuu threadid file:line] `: fixed-width time, then padded fields.
function readHeader(s: string): boolean {
  if (s.length < 25 || SEVERITY[s[0]!] === undefined) return false;
  for (const i of TIME_DIGITS) if (!isDigit(s.charCodeAt(i))) return false;
  if (s[5] !== ' ' || s[8] !== ':' || s[11] !== ':' || s[14] !== '.' || s[21] !== ' ') return false;
  let i = 22;
  while (s.charCodeAt(i) === 0x20) i++;
  let tid = 0;
  const tidStart = i;
  while (isDigit(s.charCodeAt(i))) tid = tid * 10 + s.charCodeAt(i++) - 0x30;
  if (i === tidStart || s.charCodeAt(i) !== 0x20) return false;
  const fileStart = ++i;
  let plainFile = true;
  for (;;) {
    const c = s.charCodeAt(i);
    if (c === 0x3a) break; // ':'
    if (Number.isNaN(c) || c === 0x20 || c === 0x5d || c === 0x0a) return false;
    if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) plainFile = false;
    i++;
  }
  if (i === fileStart) return false;
  const fileEnd = i++;
  let line = 0;
  const lineStart = i;
  while (isDigit(s.charCodeAt(i))) line = line * 10 + s.charCodeAt(i++) - 0x30;
  if (i === lineStart || s.charCodeAt(i) !== 0x5d) return false; // ']'
  i++;
  const next = s.charCodeAt(i);
  if (next === 0x20) i++;
  else if (!Number.isNaN(next) && next !== 0x0a) return false;
  H.threadId = tid;
  H.fileStart = fileStart;
  H.fileEnd = fileEnd;
  H.line = line;
  H.end = i;
  H.plainFile = plainFile;
  return true;
}

/**
 * Parses one klog line (possibly several physical lines: the header line plus continuations).
 * The header carries no year: it is the one that puts the time closest to `cwlTimestampMs`,
 * so a 31 December line delivered on 1 January keeps its year (and the reverse for skew).
 */
export function parseKlogLine(line: string, cwlTimestampMs: number): KlogFields {
  if (!readHeader(line)) {
    return {
      status: 'partial',
      error: 'no klog header (continuation, trace or panic line)',
      time: null,
      severity: null,
      threadId: null,
      sourceFile: null,
      sourceLine: null,
      msg: line,
      kv: newKv(),
      msgStart: 0,
    };
  }
  const threadId = H.threadId;
  const sourceFile = line.slice(H.fileStart, H.fileEnd);
  const sourceLine = H.line;
  const end = H.end;
  const rest = line.slice(end);
  const time = klogTime(line, cwlTimestampMs);
  const tail = parseStructured(rest);
  const broken = tail !== null && tail.brokenAt >= 0;
  let error: string | null = null;
  if (time === null) error = `impossible header time ${line.slice(1, 14)}`;
  // The offset, not the text: what follows the break may be a value that holds a secret.
  if (broken)
    error = `${error === null ? '' : `${error}; `}klog key/value tail not parsed from offset ${end + tail.brokenAt}`;
  return {
    status: error === null ? 'ok' : 'partial',
    error,
    time,
    severity: SEVERITY[line[0]!]!,
    threadId,
    sourceFile,
    sourceLine,
    msg: tail ? tail.msg : rest,
    kv: tail ? tail.kv : newKv(),
    msgStart: tail || !H.plainFile ? null : end,
  };
}

/**
 * Per pair of a klog line's structured tail, three offsets into the line: key start, value
 * start, value end (exclusive), the exact spans parseKlogLine reads them from (a value may be
 * quoted, a `{…}`/`map[…]` group or a multi-line `<…>` block), as far as the pairs parse; null
 * when the line has no header or no structured tail.
 */
export function klogPairSpans(line: string): number[] | null {
  if (!readHeader(line)) return null;
  const end = H.end;
  const spans: number[] = [];
  if (parseStructured(line.slice(end), spans) === null) return null;
  for (let i = 0; i < spans.length; i++) spans[i]! += end;
  return spans;
}

let lastCwlMs = Number.NaN;
let lastCwlYear = 0;

function klogTime(s: string, cwlMs: number): string | null {
  const mo = digits2(s, 1);
  const d = digits2(s, 3);
  const h = digits2(s, 6);
  const mi = digits2(s, 9);
  const sec = digits2(s, 12);
  if (cwlMs !== lastCwlMs) {
    lastCwlMs = cwlMs;
    lastCwlYear = new Date(cwlMs).getUTCFullYear();
  }
  const year = lastCwlYear;
  let best = utcMs(year, mo, d, h, mi, sec);
  let bestYear = year;
  // Only a line near New Year (or a 29 February) needs the neighbouring years.
  if (best === null || Math.abs(best - cwlMs) > HALF_YEAR_MS) {
    for (const y of [year - 1, year + 1]) {
      const t = utcMs(y, mo, d, h, mi, sec);
      if (t !== null && (best === null || Math.abs(t - cwlMs) < Math.abs(best - cwlMs))) {
        best = t;
        bestYear = y;
      }
    }
  }
  if (best === null || Math.abs(best - cwlMs) > MAX_SKEW_MS) return null;
  // Lines of a batch share a date; `hh:mm:ss.uuuuuu` (columns 6–20) is already RFC 3339.
  const day = bestYear * 10_000 + mo * 100 + d;
  if (day !== lastDay) {
    lastDay = day;
    lastDayPrefix = `${bestYear}-${s.slice(1, 3)}-${s.slice(3, 5)}T`;
  }
  return `${lastDayPrefix}${s.slice(6, 21)}Z`;
}

let lastDay = -1;
let lastDayPrefix = '';

/** A structured tail as far as it parsed: `brokenAt` is where it stopped, or -1 when whole. */
interface StructuredTail {
  readonly msg: string;
  readonly kv: KvMap;
  readonly brokenAt: number;
}

/**
 * A klog structured tail: `"msg" key="value" key2=value2 key3=<\n\tline\n >`. Null unless it
 * opens with a quoted message followed by at least one `key=` (else it is an ordinary message
 * that happens to start with a quote); when the pairs stop parsing, what was read and where.
 */
function parseStructured(text: string, spans: number[] | null = null): StructuredTail | null {
  if (text.charCodeAt(0) !== 0x22) return null;
  const q = readGoQuoted(text, 0);
  if (!q) return null;
  // Copy out of the shared result before reading values.
  const msg = q.value;
  const kv = newKv();
  const n = text.length;
  let keys = 0;
  const stop = (at: number): StructuredTail | null => (keys === 0 ? null : { msg, kv, brokenAt: at });
  let i = q.end;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c !== 0x20) {
      // Only trailing whitespace may follow the last pair.
      return text.slice(i).trim() === '' ? { msg, kv, brokenAt: -1 } : stop(i);
    }
    while (i < n && text.charCodeAt(i) === 0x20) i++;
    if (i >= n) break;
    const keyStart = i;
    while (i < n) {
      const k = text.charCodeAt(i);
      if (k === 0x3d || k === 0x20 || k === 0x22 || k === 0x0a) break;
      i++;
    }
    if (i === keyStart || text.charCodeAt(i) !== 0x3d) {
      if (text.slice(keyStart).trim() === '') break;
      return stop(keyStart);
    }
    keys++;
    const key = text.slice(keyStart, i);
    i++; // '='
    const v = readKlogValue(text, i);
    if (!v) return stop(keyStart);
    addKv(kv, key, v.value);
    spans?.push(keyStart, i, v.end);
    i = v.end;
  }
  return { msg, kv, brokenAt: -1 };
}

/**
 * Index just past the klog value that starts at `i` (quoted, a multi-line `<…>` block, or bare
 * with its brackets balanced), as parseKlogLine reads it; −1 when none can be read there.
 */
export function klogValueEnd(s: string, i: number): number {
  return readKlogValue(s, i)?.end ?? -1;
}

function readKlogValue(s: string, i: number): QuotedRead | null {
  const c = s.charCodeAt(i);
  if (c === 0x22) return readGoQuoted(s, i);
  if (c === 0x3c && s.charCodeAt(i + 1) === 0x0a) return readMultiline(s, i + 2);
  return readBareValue(s, i);
}

// klog writes a multi-line string as `<` NL, each line prefixed with TAB, then NL ` >`.
function readMultiline(s: string, i: number): { value: string; end: number } | null {
  let value = '';
  for (;;) {
    if (s.startsWith(' >', i)) {
      const end = i + 2;
      // The closing delimiter always sits on its own line, so one trailing newline is framing.
      return { value: value.endsWith('\n') ? value.slice(0, -1) : value, end };
    }
    if (s.charCodeAt(i) !== 0x09) return null;
    const nl = s.indexOf('\n', i);
    if (nl === -1) return null;
    value += s.slice(i + 1, nl + 1);
    i = nl + 1;
  }
}

// Bare values end at whitespace outside brackets, so `map[a:1 b:2]`, `[a b]` and `{A:1 B:2}` stay whole.
function readBareValue(s: string, start: number): { value: string; end: number } | null {
  const n = s.length;
  let depth = 0;
  let i = start;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (depth === 0 && (c === 0x20 || c === 0x0a)) break;
    if (c === 0x5b || c === 0x7b || c === 0x28) depth++;
    else if ((c === 0x5d || c === 0x7d || c === 0x29) && depth > 0) depth--;
    else if (c === 0x22 && depth > 0) {
      const q = readGoQuoted(s, i);
      if (!q) break;
      i = q.end;
      continue;
    }
    i++;
  }
  if (depth > 0) {
    // Unbalanced brackets: fall back to the plain whitespace-delimited token.
    i = start;
    while (i < n && s.charCodeAt(i) !== 0x20 && s.charCodeAt(i) !== 0x0a) i++;
  }
  if (i === start) return null;
  return { value: s.slice(start, i), end: i };
}
