import { readGoQuoted } from './go-quote.ts';
import { addKv, addRepeat, type KvMap, newKv } from './kv.ts';

/** Result of parsing one logfmt line. */
export interface LogfmtResult {
  /** Every pair in order of appearance; a bare key (no `=`) has the value ''. */
  readonly pairs: readonly (readonly [string, string])[];
  /** The pairs as a map; repeated keys become `key#2`, `key#3`, … (nothing is lost). */
  readonly kv: KvMap;
  /** Why the line was only partly understood, or null. */
  readonly error: string | null;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/**
 * Parses logfmt as logrus writes it (`time="…" level=info msg="…" key=value`): quoted values
 * use Go escapes, bare values run to the next whitespace, and a key without `=` is a bare key.
 * Malformed input yields what could be read plus an `error`, never an exception.
 */
export function parseLogfmt(text: string): LogfmtResult {
  const pairs: [string, string][] = [];
  const { kv, error } = scanLogfmt(text, pairs);
  return { pairs, kv, error };
}

/** The logrus fields an authenticator record lifts out of kv (first occurrence each). */
export interface LogfmtLifted {
  readonly kv: KvMap;
  readonly error: string | null;
  readonly time: string | undefined;
  readonly level: string | undefined;
  readonly msg: string | undefined;
}

/**
 * parseLogfmt for the record path: no pair list, and the first `time`, `level` and `msg` are
 * returned apart; repeats of them stay in kv as `level#2`, … so nothing is lost.
 */
export function parseLogfmtLifted(text: string): LogfmtLifted {
  lifted.time = lifted.level = lifted.msg = undefined;
  const { kv, error } = scanLogfmt(text, null, true);
  return { kv, error, time: lifted.time, level: lifted.level, msg: lifted.msg };
}

const lifted: { time: string | undefined; level: string | undefined; msg: string | undefined } = {
  time: undefined,
  level: undefined,
  msg: undefined,
};

function store(kv: KvMap, key: string, value: string, lift: boolean): void {
  if (lift && (key === 'time' || key === 'level' || key === 'msg')) {
    if (lifted[key] === undefined) {
      lifted[key] = value;
      return;
    }
    addRepeat(kv, key, value);
    return;
  }
  addKv(kv, key, value);
}

/**
 * Per pair of a logfmt line, three offsets: key start, value start, value end (exclusive), the
 * exact spans parseLogfmt reads them from (an unterminated quoted value runs to the end).
 */
export function logfmtPairSpans(text: string): number[] {
  const spans: number[] = [];
  scanLogfmt(text, null, false, spans);
  return spans;
}

function scanLogfmt(
  text: string,
  pairs: [string, string][] | null,
  lift = false,
  spans: number[] | null = null,
): { kv: KvMap; error: string | null } {
  const kv = newKv();
  let error: string | null = null;
  const n = text.length;
  let i = 0;
  while (i < n) {
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    if (i >= n) break;
    const keyStart = i;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x3d || isSpace(c)) break;
      i++;
    }
    const key = text.slice(keyStart, i);
    if (i >= n || text.charCodeAt(i) !== 0x3d) {
      pairs?.push([key, '']);
      store(kv, key, '', lift);
      continue;
    }
    i++; // '='
    if (key === '') error ??= `empty key at offset ${keyStart}`;
    const valueStart = i;
    let value: string;
    if (text.charCodeAt(i) === 0x22) {
      const q = readGoQuoted(text, i);
      if (q) {
        value = q.value;
        i = q.end;
      } else {
        error ??= `unterminated or malformed quoted value for "${key}"`;
        value = text.slice(i + 1);
        i = n;
      }
    } else {
      while (i < n && !isSpace(text.charCodeAt(i))) i++;
      value = text.slice(valueStart, i);
    }
    spans?.push(keyStart, valueStart, i);
    pairs?.push([key, value]);
    store(kv, key, value, lift);
  }
  return { kv, error };
}
