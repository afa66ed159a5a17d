import { readGoQuoted } from './go-quote.ts';
import { addKv, type KvMap, newKv } from './kv.ts';
import { utcMs } from './time.ts';

/** klog severities, from the header's first letter I/W/E/F. */
export type KlogSeverity = 'INFO' | 'WARNING' | 'ERROR' | 'FATAL';

/** What a klog line yields; `message` (the verbatim line) is added by the record builder. */
export interface KlogFields {
  /** `partial` when the line has no klog header or its header time is impossible. */
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
}

const SEVERITY: Readonly<Record<string, KlogSeverity>> = { I: 'INFO', W: 'WARNING', E: 'ERROR', F: 'FATAL' };

// Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg
const HEADER_RE = /^([IWEF])(\d\d)(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{6}) +(\d+) ([^ :\]\n]+):(\d+)\](?: |$|(?=\n))/;

// The nearest of three candidate years is always within half a year, except for 29 February.
const MAX_SKEW_MS = 200 * 86_400_000;

/**
 * Parses one klog line (possibly several physical lines: the header line plus continuations).
 * The header carries no year: it is the one that puts the time closest to `cwlTimestampMs`,
 * so a 31 December line delivered on 1 January keeps its year (and the reverse for skew).
 */
export function parseKlogLine(line: string, cwlTimestampMs: number): KlogFields {
  const m = HEADER_RE.exec(line);
  if (!m) {
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
    };
  }
  const rest = line.slice(m[0].length);
  const time = klogTime(m, cwlTimestampMs);
  const tail = parseStructured(rest);
  return {
    status: time === null ? 'partial' : 'ok',
    error: time === null ? `impossible header time ${m[2]}${m[3]} ${m[4]}:${m[5]}:${m[6]}` : null,
    time,
    severity: SEVERITY[m[1]!]!,
    threadId: Number(m[8]),
    sourceFile: m[9]!,
    sourceLine: Number(m[10]),
    msg: tail ? tail.msg : rest,
    kv: tail ? tail.kv : newKv(),
  };
}

function klogTime(m: RegExpExecArray, cwlMs: number): string | null {
  const mo = +m[2]!;
  const d = +m[3]!;
  const h = +m[4]!;
  const mi = +m[5]!;
  const s = +m[6]!;
  const year = new Date(cwlMs).getUTCFullYear();
  let best: number | null = null;
  let bestYear = 0;
  for (let y = year - 1; y <= year + 1; y++) {
    const t = utcMs(y, mo, d, h, mi, s);
    if (t === null) continue;
    if (best === null || Math.abs(t - cwlMs) < Math.abs(best - cwlMs)) {
      best = t;
      bestYear = y;
    }
  }
  if (best === null || Math.abs(best - cwlMs) > MAX_SKEW_MS || bestYear < 1000 || bestYear > 9999) return null;
  return `${bestYear}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z`;
}

/**
 * A klog structured tail: `"msg" key="value" key2=value2 key3=<\n\tline\n >`.
 * Returns null unless the whole text parses that way (then it is an ordinary message).
 */
function parseStructured(text: string): { msg: string; kv: KvMap } | null {
  if (text.charCodeAt(0) !== 0x22) return null;
  const q = readGoQuoted(text, 0);
  if (!q) return null;
  const kv = newKv();
  const n = text.length;
  let i = q.end;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c !== 0x20) {
      // Only trailing whitespace may follow the last pair.
      return text.slice(i).trim() === '' ? { msg: q.value, kv } : null;
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
      return null;
    }
    const key = text.slice(keyStart, i);
    i++; // '='
    const v = readKlogValue(text, i);
    if (!v) return null;
    addKv(kv, key, v.value);
    i = v.end;
  }
  return { msg: q.value, kv };
}

function readKlogValue(s: string, i: number): { value: string; end: number } | null {
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
