import { ENVELOPE_FIELDS } from '../types.ts';

/**
 * What one pass over an audit event's text found: it is one valid JSON object, whether a
 * top-level key is a reserved envelope name, and the last top-level `requestReceivedTimestamp`
 * and `stageTimestamp` when those are strings (null when absent or not a string).
 */
export interface AuditJsonFacts {
  readonly hasReservedKey: boolean;
  readonly requestReceivedTimestamp: string | null;
  readonly stageTimestamp: string | null;
}

const RECEIVED_KEY = 'requestReceivedTimestamp';
const STAGE_KEY = 'stageTimestamp';

// Deeper nesting is left to JSON.parse; audit bodies nest far less.
const MAX_DEPTH = 64;
const OBJECT = 1;
const ARRAY = 2;
const STACK = new Uint8Array(MAX_DEPTH);

// Reserved names by length, so most top-level keys are ruled out by one array load.
const RESERVED_BY_LENGTH: (readonly string[] | undefined)[] = [];
for (const name of ENVELOPE_FIELDS) {
  const names = (RESERVED_BY_LENGTH[name.length] ?? []) as string[];
  names.push(name);
  RESERVED_BY_LENGTH[name.length] = names;
}

// Strings are skipped by their closing quote alone, so raw control characters (invalid inside a
// JSON string, and rare in audit text) are ruled out up front for the whole text.
const CONTROL_RE = /[\u0000-\u001f]/;
const NO_BACKSLASH = Number.MAX_SAFE_INTEGER;
// Where skipEscapedString leaves the next backslash after the string it skipped.
const cursor = { nextBackslash: NO_BACKSLASH };

/**
 * Checks that `text` is one JSON object in a single pass that builds nothing. Returns null when
 * unsure (invalid JSON, a raw control character, an escaped top-level key, deep nesting): the
 * caller then uses JSON.parse. Never returns facts for a text JSON.parse rejects.
 */
export function scanAuditJson(text: string): AuditJsonFacts | null {
  const n = text.length;
  if (CONTROL_RE.test(text)) return null;
  // Every backslash is inside a string (anywhere else the scan rejects it), so remembering the
  // next one tells whether a string needs its escapes checked.
  let backslash = text.indexOf('\\');
  if (backslash < 0) backslash = NO_BACKSLASH;
  let i = 0;
  let c = text.charCodeAt(0);
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++i);
  if (c !== 0x7b) return null;
  let depth = 0;
  let hasReservedKey = false;
  // Which timestamp the value being read belongs to (1 received, 2 stage, 0 neither).
  let slot = 0;
  let receivedAt = -1;
  let receivedEnd = -1;
  let stageAt = -1;
  let stageEnd = -1;
  let atKey = false;
  for (;;) {
    if (atKey) {
      // `i` is at a key's opening quote.
      let end = text.indexOf('"', i + 1) + 1;
      if (end === 0) return null;
      const escaped = backslash < end;
      if (escaped) {
        end = skipEscapedString(text, i, backslash);
        if (end < 0) return null;
        backslash = cursor.nextBackslash;
      }
      slot = 0;
      if (depth === 1) {
        // An escaped key could spell any name; JSON.parse decodes it.
        if (escaped) return null;
        const len = end - i - 2;
        if (len === RECEIVED_KEY.length) {
          if (text.startsWith(RECEIVED_KEY, i + 1)) slot = 1;
        } else if (len === STAGE_KEY.length) {
          if (text.startsWith(STAGE_KEY, i + 1)) slot = 2;
        }
        const names = RESERVED_BY_LENGTH[len];
        if (names !== undefined) {
          for (let k = 0; k < names.length; k++) {
            if (text.startsWith(names[k]!, i + 1)) hasReservedKey = true;
          }
        }
      }
      i = end;
      c = text.charCodeAt(i);
      while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++i);
      if (c !== 0x3a) return null;
      c = text.charCodeAt(++i);
      while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++i);
      atKey = false;
    }
    // `i` is at the first character of a value and `c` is its code.
    if (c === 0x22) {
      let end = text.indexOf('"', i + 1) + 1;
      if (end === 0) return null;
      if (backslash < end) {
        end = skipEscapedString(text, i, backslash);
        if (end < 0) return null;
        backslash = cursor.nextBackslash;
      }
      if (slot === 1) {
        receivedAt = i;
        receivedEnd = end;
      } else if (slot === 2) {
        stageAt = i;
        stageEnd = end;
      }
      i = end;
    } else {
      // A later value that is not a string hides an earlier one, as in JSON.parse.
      if (slot === 1) receivedAt = -1;
      else if (slot === 2) stageAt = -1;
      if (c === 0x7b || c === 0x5b) {
        if (depth === MAX_DEPTH) return null;
        const isObject: boolean = c === 0x7b;
        STACK[depth++] = isObject ? OBJECT : ARRAY;
        c = text.charCodeAt(++i);
        while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++i);
        if (c === (isObject ? 0x7d : 0x5d)) {
          depth--;
          i++;
        } else {
          if (isObject) {
            if (c !== 0x22) return null;
            atKey = true;
          }
          slot = 0;
          continue;
        }
      } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
        i = skipNumber(text, i);
        if (i < 0) return null;
      } else if (c === 0x74) {
        if (!text.startsWith('true', i)) return null;
        i += 4;
      } else if (c === 0x66) {
        if (!text.startsWith('false', i)) return null;
        i += 5;
      } else if (c === 0x6e) {
        if (!text.startsWith('null', i)) return null;
        i += 4;
      } else {
        return null;
      }
    }
    slot = 0;
    // After a value: close containers until a comma leads to the next value or the text ends.
    for (;;) {
      if (depth === 0) {
        // Bounded reads: past the end charCodeAt is NaN, which costs V8 its fast path.
        while (i < n) {
          c = text.charCodeAt(i++);
          if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return null;
        }
        return {
          hasReservedKey,
          requestReceivedTimestamp: stringValue(text, receivedAt, receivedEnd),
          stageTimestamp: stringValue(text, stageAt, stageEnd),
        };
      }
      c = text.charCodeAt(i);
      while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++i);
      const inObject = STACK[depth - 1] === OBJECT;
      if (c === 0x2c) {
        c = text.charCodeAt(++i);
        while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++i);
        if (inObject) {
          if (c !== 0x22) return null;
          atKey = true;
        }
        break;
      }
      if (c !== (inObject ? 0x7d : 0x5d)) return null;
      depth--;
      i++;
    }
  }
}

/** The string whose quotes are at `at` and `end - 1`, decoded; null if there was none. */
function stringValue(text: string, at: number, end: number): string | null {
  if (at < 0) return null;
  const inner = text.slice(at + 1, end - 1);
  return inner.indexOf('\\') === -1 ? inner : (JSON.parse(text.slice(at, end)) as string);
}

/**
 * Index after the closing quote of the string opening at `i` whose first backslash is at `at`,
 * or -1 if an escape is invalid or the string never closes. Leaves the next backslash in `cursor`.
 */
function skipEscapedString(text: string, i: number, at: number): number {
  let quote = text.indexOf('"', i + 1);
  if (quote < 0) return -1;
  while (at < quote) {
    const e = text.charCodeAt(at + 1);
    if (e === 0x75) {
      if (!isHexDigit(text.charCodeAt(at + 2)) || !isHexDigit(text.charCodeAt(at + 3))) return -1;
      if (!isHexDigit(text.charCodeAt(at + 4)) || !isHexDigit(text.charCodeAt(at + 5))) return -1;
      at += 6;
    } else if (
      e === 0x22 ||
      e === 0x5c ||
      e === 0x2f ||
      e === 0x62 ||
      e === 0x66 ||
      e === 0x6e ||
      e === 0x72 ||
      e === 0x74
    ) {
      at += 2;
    } else {
      return -1;
    }
    // An escaped quote ends nothing: look for the closing one after the escape.
    if (at > quote) {
      quote = text.indexOf('"', at);
      if (quote < 0) return -1;
    }
    at = text.indexOf('\\', at);
    if (at < 0) at = NO_BACKSLASH;
  }
  cursor.nextBackslash = at;
  return quote + 1;
}

function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Index after the number at `i` (JSON grammar: no leading zeros, no bare dot, no `+`), or -1. */
function skipNumber(text: string, i: number): number {
  if (text.charCodeAt(i) === 0x2d) i++;
  const first = text.charCodeAt(i);
  if (first === 0x30) {
    i++;
  } else if (first >= 0x31 && first <= 0x39) {
    i++;
    while (isDigit(text.charCodeAt(i))) i++;
  } else {
    return -1;
  }
  if (text.charCodeAt(i) === 0x2e) {
    i++;
    if (!isDigit(text.charCodeAt(i))) return -1;
    while (isDigit(text.charCodeAt(i))) i++;
  }
  const e = text.charCodeAt(i);
  if (e === 0x65 || e === 0x45) {
    i++;
    const sign = text.charCodeAt(i);
    if (sign === 0x2b || sign === 0x2d) i++;
    if (!isDigit(text.charCodeAt(i))) return -1;
    while (isDigit(text.charCodeAt(i))) i++;
  }
  return i;
}
