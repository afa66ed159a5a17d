const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function skipWs(s: string, i: number): number {
  for (;;) {
    const c = s.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
    else return i;
  }
}

/** Index just past the closing quote of the string starting at `i` (which is a quote). */
function endOfString(s: string, i: number): number {
  let j = i + 1;
  for (;;) {
    const q = s.indexOf('"', j);
    if (q < 0) return s.length;
    let bs = 0;
    for (let k = q - 1; k > i && s.charCodeAt(k) === BACKSLASH; k--) bs++;
    if (bs % 2 === 0) return q + 1;
    j = q + 1;
  }
}

/** Index just past the JSON value starting at `i`; iterative, so any nesting depth is fine. */
function endOfValue(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c === QUOTE) return endOfString(s, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    let j = i;
    while (j < s.length) {
      const d = s.charCodeAt(j);
      if (d === QUOTE) {
        j = endOfString(s, j);
        continue;
      }
      if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return j + 1;
      }
      j++;
    }
    return s.length;
  }
  let j = i;
  while (j < s.length) {
    const d = s.charCodeAt(j);
    if (d === 0x2c || d === 0x7d || d === 0x5d || d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09) break;
    j++;
  }
  return j;
}

/**
 * The exact source text of some top-level members of a JSON object, so values such as
 * integers beyond 2^53 survive byte for byte. Repeated keys: the last wins, as in JSON.parse.
 * The text must already be valid JSON (checked by the caller's JSON.parse).
 */
export function topLevelMemberText(json: string, keys: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  let i = skipWs(json, 0);
  if (json.charCodeAt(i) !== 0x7b) return out;
  i++;
  while (i < json.length) {
    i = skipWs(json, i);
    if (json.charCodeAt(i) !== QUOTE) break;
    const keyEnd = endOfString(json, i);
    const rawKey = json.slice(i + 1, keyEnd - 1);
    const key = rawKey.includes('\\') ? (JSON.parse(json.slice(i, keyEnd)) as string) : rawKey;
    i = skipWs(json, keyEnd);
    if (json.charCodeAt(i) !== 0x3a) break;
    i = skipWs(json, i + 1);
    const end = endOfValue(json, i);
    if (keys.includes(key)) out.set(key, json.slice(i, end));
    i = skipWs(json, end);
    if (json.charCodeAt(i) !== 0x2c) break;
    i++;
  }
  return out;
}
