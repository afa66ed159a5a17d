import { klogValueEnd } from '../parse/klog.ts';

/** Kinds of secret the redactor recognises; the marker names the kind. */
export type SecretKind =
  | 'jwt'
  | 'aws_access_key_id'
  | 'aws_secret_access_key'
  | 'private_key'
  | 'bearer'
  | 'k8s_secret'
  | 'credential';

/** Counts of values replaced, by kind. */
export type RedactionCounts = Partial<Record<SecretKind, number>>;

/** What replaces a secret: plain ASCII with no quote or backslash, so JSON text stays valid. */
export const redactionMarker = (kind: SecretKind): string => `[REDACTED:${kind}]`;

// Any marker, built from redactionMarker: a kind is lower case letters, digits (`k8s_secret`) and `_`.
const MARKER_RE = new RegExp(
  `^"?${redactionMarker('credential').replace(/[[\]]/g, '\\$&').replace('credential', '[a-z0-9_]+')}"?$`,
);

/** True when `text` is nothing but a redaction marker, bare or quoted: a value already replaced. */
function isRedactionMarker(text: string): boolean {
  return MARKER_RE.test(text);
}

/** True when a value is a JSON object or array (a webhook's patch). */
export function startsJson(value: string): boolean {
  const c = value.charCodeAt(0);
  return c === 0x7b || c === 0x5b;
}

// Token-shaped secrets never contain a quote or a backslash, so a match inside JSON text stays
// within one string literal and never splits an escape. A match may not start right after a
// letter, digit or backslash (that would be inside a word, a `\uXXXX` or an escape), except
// after `\n`/`\t`/`\r` (a line break in the decoded text).
const START = String.raw`(?:(?<![A-Za-z0-9\\])|(?<=\\[nrt]))`;
const BEARER_RE = new RegExp(`${START}([Bb]earer(?: |%20)+)[A-Za-z0-9._~+/=-]{8,}`, 'g');
const JWT_RE = new RegExp(String.raw`${START}eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*`, 'g');
const AKID_RE = new RegExp(`${START}(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])`, 'g');
// Non-global twin for a side-effect-free test.
const AKID_TEST = new RegExp(AKID_RE.source);
// PEM private key through its END line, or to the end of the string literal when cut.
const PEM_RE =
  /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----(?:(?:[^"\\]|\\.)*?-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----|(?:[^"\\]|\\.)*)/g;
// Cheap pre-checks: most text holds none of these, and is returned untouched without a regex.
const HINTS = ['eyJ', 'AKIA', 'ASIA', 'PRIVATE KEY', 'earer'];
const SECRET_HINTS = ['"kind":"Secret"', '"kind":"SecretList"'];
const SECRET_MAPS = new Set(['data', 'stringData']);
// In a body of a `secrets` request, a JSON patch op's `value` is Secret data too (`/data/x`,
// `/stringData`, or the whole object); other values of such a patch are redacted alike.
const SECRET_PATCH_MAPS = new Set([...SECRET_MAPS, 'value']);
// Credential names: a map entry (kv pair, annotation) or a JSON member whose key names one
// (isSecretKey) holds a credential whatever it looks like. Whole words, so `secretName`,
// `tokenExpiry` or `credential-id` (identifiers operators query) stay.
const SECRET_KEYS = new Set([
  'secretaccesskey',
  'awssecretaccesskey',
  'secretkey',
  'awssecretkey',
  'password',
  'passwd',
  'token',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'sessiontoken',
  'awssessiontoken',
  'bearertoken',
  'authtoken',
  'apitoken',
  'apikey',
  'xapikey',
  'credential',
  'credentials',
  'privatekey',
  'clientsecret',
  'authorization',
]);
// kubectl copies the whole applied object, Secret data included, into this annotation.
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

// The strings every redaction starts from, found in one pass (about 2.5x faster than six
// substring searches on the mapped columns); non-global, so test() keeps no state.
const MAY_HOLD_SECRET = /eyJ|AKIA|ASIA|PRIVATE KEY|earer|"kind":"Secret/;

/**
 * False when `text` holds none of the strings every pattern redaction starts from, so
 * `redactSecrets` would return it unchanged (unless the event is about a Secret resource, or
 * a credential-named JSON member is asked for: mayHoldCredentialMember).
 */
export function mayHoldSecret(text: string): boolean {
  return MAY_HOLD_SECRET.test(text);
}

function bump(counts: RedactionCounts, kind: SecretKind, n = 1): void {
  counts[kind] = (counts[kind] ?? 0) + n;
}

// Map keys repeat from line to line: the answer per key is remembered, within a bound.
const KEY_VERDICTS = new Map<string, boolean>();
const MAX_KEY_VERDICTS = 4096;
const REPEAT_SUFFIX = /#\d+$/;

const isUpper = (c: number) => c >= 0x41 && c <= 0x5a;
const isLowerOrDigit = (c: number) => (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
const isCredentialName = (s: string) => SECRET_KEYS.has(s.toLowerCase().replace(/[-_]/g, ''));

/**
 * True when `seg` is a credential name, or ends in one after a `_` or a camelCase hump
 * (`DB_PASSWORD`, `adminPassword`, `GITHUB_TOKEN`): env variables and config fields name their
 * credential that way. A `-` is no boundary: hyphenated annotation names such as `stale-token`
 * or `credential-id` describe a credential rather than hold one.
 */
function segmentNamesCredential(seg: string): boolean {
  if (isCredentialName(seg)) return true;
  for (let i = 1; i < seg.length; i++) {
    const prev = seg.charCodeAt(i - 1);
    const c = seg.charCodeAt(i);
    const wordStart =
      prev === 0x5f ||
      (isUpper(c) &&
        (isLowerOrDigit(prev) || (isUpper(prev) && i + 1 < seg.length && isLowerOrDigit(seg.charCodeAt(i + 1)))));
    if (wordStart && isCredentialName(seg.slice(i))) return true;
  }
  return false;
}

/**
 * True when a key names a credential: its last `.`/`/` segment, lower case and without `-`/`_`,
 * is a credential name (`secretAccessKey`, `password`, `client_secret`, …), or ends in one after
 * a `_` or a camelCase hump (`DB_PASSWORD`, `adminPassword`); a repeat's `#<n>` is ignored.
 * `secretName`, `tokenExpiry`, `stale-token` and `credential-id` are not.
 */
export function isSecretKey(key: string): boolean {
  let verdict = KEY_VERDICTS.get(key);
  if (verdict === undefined) {
    // A repeated key is stored as `token#2`, `token#3`, … (addKv): the same name.
    const name = key.replace(REPEAT_SUFFIX, '');
    const cut = Math.max(name.lastIndexOf('/'), name.lastIndexOf('.'));
    verdict = segmentNamesCredential(name.slice(cut + 1));
    if (KEY_VERDICTS.size >= MAX_KEY_VERDICTS) KEY_VERDICTS.clear();
    KEY_VERDICTS.set(key, verdict);
  }
  return verdict;
}

// Every key isSecretKey accepts ends, once lower-cased and stripped of `-`/`_`, with a credential
// name: a trie of the names read backwards rejects almost every key at its last letter or two.
// Node n's child for letter l is TRIE_NEXT[n * 26 + l] (0: none); TRIE_END marks a whole name.
const { TRIE_NEXT, TRIE_END } = (() => {
  const next: number[] = new Array(26).fill(0);
  const end: number[] = [0];
  for (const name of SECRET_KEYS) {
    let at = 0;
    for (let i = name.length - 1; i >= 0; i--) {
      const slot = at * 26 + name.charCodeAt(i) - 0x61;
      if (next[slot] === 0) {
        next[slot] = end.length;
        end.push(0);
        next.push(...new Array(26).fill(0));
      }
      at = next[slot]!;
    }
    end[at] = 1;
  }
  return { TRIE_NEXT: Int32Array.from(next), TRIE_END: Uint8Array.from(end) };
})();

/** True when the text of `s` ending at index `last` ends with a credential name (`-`/`_` skipped, any case). */
function endsWithCredentialName(s: string, last: number): boolean {
  let at = 0;
  for (let i = last; i >= 0; i--) {
    const c = s.charCodeAt(i);
    if (c === 0x2d || c === 0x5f) continue;
    const l = (c | 0x20) - 0x61;
    if (l < 0 || l > 25) return false;
    at = TRIE_NEXT[at * 26 + l]!;
    if (at === 0) return false;
    if (TRIE_END[at] === 1) return true;
  }
  return false;
}

/** isSecretKey, with the cheap trie test first (most member keys and names are not credentials). */
function namesCredential(text: string): boolean {
  return endsWithCredentialName(text, text.length - 1) && isSecretKey(text);
}

/** True when `text` holds an AWS access key id (AKIA…/ASIA…). */
export function holdsKeyId(text: string): boolean {
  return (text.includes('AKIA') || text.includes('ASIA')) && AKID_TEST.test(text);
}

// A secret access key's alphabet, [A-Za-z0-9/+], as a table: this runs over every cell that
// holds a key id (user extra of every call by IAM session credentials).
const KEY_CHARS = (() => {
  const t = new Uint8Array(128);
  for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+') t[c.charCodeAt(0)] = 1;
  return t;
})();
const isKeyChar = (c: number) => c < 128 && KEY_CHARS[c] === 1;

/** True when `s` has an upper- and a lower-case ASCII letter between `from` and `to`. */
function hasBothCases(s: string, from: number, to: number): boolean {
  let upper = false;
  let lower = false;
  for (let j = from; j < to; j++) {
    const c = s.charCodeAt(j);
    if (c >= 0x41 && c <= 0x5a) upper = true;
    else if (c >= 0x61 && c <= 0x7a) lower = true;
  }
  return upper && lower;
}

/** Length of the run of key characters ending just before the line break that ends right before `at`. */
function runBeforeLineBreak(s: string, at: number): number {
  let q = at;
  if (s.charCodeAt(q - 1) === 0x0a) q--;
  else if (s.charCodeAt(q - 1) === 0x6e && s.charCodeAt(q - 2) === 0x5c) q -= 2;
  else return 0;
  if (s.charCodeAt(q - 1) === 0x0d) q--;
  else if (s.charCodeAt(q - 1) === 0x72 && s.charCodeAt(q - 2) === 0x5c) q -= 2;
  let n = 0;
  while (isKeyChar(s.charCodeAt(q - 1 - n))) n++;
  return n;
}

/**
 * Offsets of the 40-character secret access keys in `s`: a whole run of exactly 40 characters
 * of [A-Za-z0-9/+] (never a piece of a longer path, ARN or base64 text), with upper- and
 * lower-case letters (so no hex digest or upper-case id), not joined to an identifier by `-` or
 * `_` (nor by a `.` before it), and not the last line of a wrapped base64 block (a
 * certificate). After a `\n`, `\t` or `\r` escape (a line break in JSON text) a run starts
 * past the escape's letter; after any other backslash it is inside an escape and no key.
 */
function secretKeyOffsets(s: string): number[] | null {
  let found: number[] | null = null;
  const n = s.length;
  // `p` always follows a character outside the alphabet (or starts the text). Every run of 40
  // or more starting in [p, p + 40) covers p + 39, so one probe there skips most text.
  let p = 0;
  while (p + 40 <= n) {
    const q = p + 39;
    if (!isKeyChar(s.charCodeAt(q))) {
      p = q + 1;
      continue;
    }
    let start = q;
    while (start > p && isKeyChar(s.charCodeAt(start - 1))) start--;
    let end = q + 1;
    while (end < n && isKeyChar(s.charCodeAt(end))) end++;
    // Only a run of 40, or 41 after a backslash (an escape's letter first), can be a key.
    const len = end - start;
    if (len === 40 || len === 41) {
      const at = keyAt(s, start, end);
      if (at >= 0) {
        found ??= [];
        found.push(at);
      }
    }
    p = end + 1;
  }
  return found;
}

/** Where the secret key in the run `[start, end)` starts, or −1 when the run holds none. */
function keyAt(s: string, start: number, end: number): number {
  let from = start;
  const before = s.charCodeAt(start - 1);
  if (before === 0x5c) {
    let slashes = 1;
    while (s.charCodeAt(start - 1 - slashes) === 0x5c) slashes++;
    const e = s.charCodeAt(start);
    // An even count is escaped backslashes: a literal one, which no key follows either.
    if (slashes % 2 === 0 || (e !== 0x6e && e !== 0x74 && e !== 0x72)) return -1;
    from = start + 1;
  } else if (before === 0x2d || before === 0x5f || before === 0x2e) {
    return -1;
  }
  if (end - from !== 40 || !hasBothCases(s, from, end)) return -1;
  const after = s.charCodeAt(end);
  if (after === 0x2d || after === 0x5f) return -1;
  // A block's lines are longer (64 or 76): a 40-character line after one is its last.
  return runBeforeLineBreak(s, from) > 40 ? -1 : from;
}

/** `s` with the 40-character keys at `offsets` replaced by markers, counted. */
function replaceSecretKeys(s: string, offsets: readonly number[], counts: RedactionCounts): string {
  const marker = redactionMarker('aws_secret_access_key');
  let out = '';
  let from = 0;
  for (const at of offsets) {
    out += s.slice(from, at) + marker;
    from = at + 40;
  }
  bump(counts, 'aws_secret_access_key', offsets.length);
  return out + s.slice(from);
}

function redactPatterns(text: string, counts: RedactionCounts, keyIdsAlone: boolean, keyIdNearby: boolean): string {
  if (!keyIdNearby && !HINTS.some((h) => text.includes(h))) return text;
  let out = text;
  if (out.includes('PRIVATE KEY'))
    out = out.replace(PEM_RE, () => {
      bump(counts, 'private_key');
      return redactionMarker('private_key');
    });
  if (out.includes('earer'))
    out = out.replace(BEARER_RE, (_m, prefix: string) => {
      bump(counts, 'bearer');
      return `${prefix}${redactionMarker('bearer')}`;
    });
  if (out.includes('eyJ'))
    out = out.replace(JWT_RE, () => {
      bump(counts, 'jwt');
      return redactionMarker('jwt');
    });
  const keyId = holdsKeyId(out);
  if (keyId || keyIdNearby) {
    const secretKeys = secretKeyOffsets(out);
    if (secretKeys !== null) out = replaceSecretKeys(out, secretKeys, counts);
    if (keyId && (secretKeys !== null || keyIdsAlone)) {
      out = out.replace(AKID_RE, () => {
        bump(counts, 'aws_access_key_id');
        return redactionMarker('aws_access_key_id');
      });
    }
  }
  return out;
}

/** Index just past the closing quote of the string literal opening at `i` (or the text's end). */
function endOfString(s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 0x5c) j++;
    else if (c === 0x22) return j + 1;
  }
  return s.length;
}

/**
 * Replaces every string value inside `maps` members (any depth) and the
 * last-applied-configuration annotation with a marker. Iterative, so any nesting depth is
 * fine; lenient, so a truncated body is still walked as far as it goes.
 */
function redactSecretMaps(s: string, counts: RedactionCounts, maps: ReadonlySet<string>): string {
  // Per open container: is it an object, and are its string values secret.
  const isObject: boolean[] = [];
  const secret: boolean[] = [];
  let expectKey = false;
  let lastKey = '';
  let parts: string[] | null = null;
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) {
      const end = endOfString(s, i);
      const top = isObject.length - 1;
      if (top >= 0 && isObject[top] && expectKey) {
        lastKey = s.slice(i + 1, end - 1);
        expectKey = false;
      } else {
        const inSecret = top >= 0 && secret[top];
        const direct = top >= 0 && isObject[top] && (maps.has(lastKey) || lastKey === LAST_APPLIED);
        if ((inSecret || direct) && end - i > 2) {
          parts ??= [];
          parts.push(s.slice(from, i), `"${redactionMarker('k8s_secret')}"`);
          from = end;
          bump(counts, 'k8s_secret');
        }
      }
      i = end - 1;
    } else if (c === 0x7b || c === 0x5b) {
      const top = isObject.length - 1;
      const parentSecret = top >= 0 && secret[top];
      const opens = top >= 0 && isObject[top] && maps.has(lastKey);
      isObject.push(c === 0x7b);
      secret.push(parentSecret || opens);
      expectKey = c === 0x7b;
      lastKey = '';
    } else if (c === 0x7d || c === 0x5d) {
      isObject.pop();
      secret.pop();
      expectKey = false;
    } else if (c === 0x2c) {
      const top = isObject.length - 1;
      expectKey = top >= 0 && isObject[top]!;
      if (expectKey) lastKey = '';
    }
  }
  if (parts === null) return s;
  parts.push(s.slice(from));
  return parts.join('');
}

const isJsonSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** Index of the first character at or after `i` that is neither JSON whitespace nor a backslash. */
function skipToValue(s: string, i: number): number {
  let j = i;
  while (j < s.length && (isJsonSpace(s.charCodeAt(j)) || s.charCodeAt(j) === 0x5c)) j++;
  return j;
}

/**
 * False when no member of the JSON text `text` can hold a credential by its name: no key that
 * names a credential (isSecretKey) with a string or array value, and no `name` member naming
 * one. Looks only around each `:`, so the usual body costs little; escaped members (JSON held
 * in a string, such as kubectl's last-applied-configuration) count too.
 */
export function mayHoldCredentialMember(text: string): boolean {
  for (let colon = text.indexOf(':'); colon !== -1; colon = text.indexOf(':', colon + 1)) {
    // Out of range, charCodeAt gives NaN, which ends these loops. Most colons sit in values.
    let q = colon - 1;
    let c = text.charCodeAt(q);
    if (c !== 0x22) {
      if (!isJsonSpace(c)) continue;
      do c = text.charCodeAt(--q);
      while (isJsonSpace(c));
      if (c !== 0x22) continue;
    }
    let last = q - 1;
    while (text.charCodeAt(last) === 0x5c) last--;
    if (endsWithCredentialName(text, last)) {
      const open = text.charCodeAt(skipToValue(text, colon + 1));
      if ((open === 0x22 || open === 0x5b) && isSecretKey(text.slice(text.lastIndexOf('"', last) + 1, last + 1)))
        return true;
    } else if (text.charCodeAt(last - 4) === 0x22 && text.startsWith('name', last - 3)) {
      const v = skipToValue(text, colon + 1);
      if (text.charCodeAt(v) !== 0x22) continue;
      // An escaped value ends at the next quote; a plain one at its closing quote.
      const end = text.charCodeAt(v - 1) === 0x5c ? text.indexOf('"', v + 1) + 1 || text.length : endOfString(text, v);
      let e = end - 2;
      while (e > v && text.charCodeAt(e) === 0x5c) e--;
      if (endsWithCredentialName(text, e) && isSecretKey(text.slice(v + 1, e + 1))) return true;
    }
  }
  return false;
}

interface MemberFrame {
  readonly isObject: boolean;
  /** An array under a credential-named key (or inside one): its strings are credentials. */
  readonly credentials: boolean;
  /** An object whose `name` names a credential: its `value` string is one. */
  nameIsCredential: boolean;
  /** Where a `value` string seen before `name` starts (−1: none). */
  valueAt: number;
}

/**
 * Replaces with a marker every string under a JSON member whose key names a credential
 * (strings of arrays included; objects are walked by their own keys, so a `secretKeyRef` keeps
 * its names; numbers and booleans stay), and the `value` string of an object whose `name` names
 * one (env variables, headers). JSON held in a string value is decoded, walked and re-encoded
 * when it changes. Iterative, lenient with truncated text.
 */
function redactCredentialMembers(s: string, counts: RedactionCounts): string {
  const frames: MemberFrame[] = [];
  let cuts: { from: number; to: number; text: string }[] | null = null;
  let expectKey = false;
  let lastKey = '';
  const cut = (from: number, to: number): void => {
    const inner = s.slice(from + 1, to - 1);
    if (inner === '' || isRedactionMarker(inner)) return;
    // A value a pattern already redacted in part was counted then.
    if (!inner.includes('[REDACTED:')) bump(counts, 'credential');
    cuts ??= [];
    cuts.push({ from, to, text: `"${redactionMarker('credential')}"` });
  };
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) {
      const end = endOfString(s, i);
      const top = frames.length === 0 ? null : frames[frames.length - 1]!;
      if (top?.isObject && expectKey) {
        lastKey = s.slice(i + 1, end - 1);
        expectKey = false;
      } else if (top !== null) {
        if (top.isObject && lastKey === 'name' && namesCredential(s.slice(i + 1, end - 1))) {
          top.nameIsCredential = true;
          if (top.valueAt >= 0) cut(top.valueAt, endOfString(s, top.valueAt));
          top.valueAt = -1;
        } else if (
          top.isObject ? namesCredential(lastKey) || (lastKey === 'value' && top.nameIsCredential) : top.credentials
        ) {
          cut(i, end);
        } else if (top.isObject && lastKey === 'value') {
          top.valueAt = i;
        } else if (s.charCodeAt(i + 1) === 0x7b || s.charCodeAt(i + 1) === 0x5b) {
          // JSON held in a string (last-applied-configuration, a ConfigMap's config file).
          const lit = s.slice(i, end);
          if (mayHoldCredentialMember(lit)) {
            let inner: unknown;
            try {
              inner = JSON.parse(lit);
            } catch {
              inner = null;
            }
            if (typeof inner === 'string') {
              const out = redactCredentialMembers(inner, counts);
              if (out !== inner) {
                cuts ??= [];
                cuts.push({ from: i, to: end, text: JSON.stringify(out) });
              }
            }
          }
        }
      }
      i = end - 1;
    } else if (c === 0x7b || c === 0x5b) {
      const top = frames.length === 0 ? null : frames[frames.length - 1]!;
      const credentials = top !== null && (top.isObject ? c === 0x5b && namesCredential(lastKey) : top.credentials);
      frames.push({
        isObject: c === 0x7b,
        credentials: credentials && c === 0x5b,
        nameIsCredential: false,
        valueAt: -1,
      });
      expectKey = c === 0x7b;
      lastKey = '';
    } else if (c === 0x7d || c === 0x5d) {
      frames.pop();
      expectKey = false;
    } else if (c === 0x2c) {
      const top = frames.length === 0 ? null : frames[frames.length - 1]!;
      expectKey = top?.isObject === true;
      if (expectKey) lastKey = '';
    }
  }
  if (cuts === null) return s;
  const sorted = (cuts as { from: number; to: number; text: string }[]).sort((a, b) => a.from - b.from);
  const parts: string[] = [];
  let from = 0;
  for (const k of sorted) {
    parts.push(s.slice(from, k.from), k.text);
    from = k.to;
  }
  parts.push(s.slice(from));
  return parts.join('');
}

/**
 * Replaces secrets in `text` (JSON text of a request/response body, or a log message) with
 * `[REDACTED:<kind>]` markers and counts them in `counts`. Only characters inside string
 * literals change, so JSON stays valid and every number keeps its exact digits. Pure.
 * `secretResource` (the event's objectRef.resource is `secrets`) redacts `data`/`stringData`
 * values and JSON-patch `value`s even in bodies that do not say `"kind":"Secret"` (patches).
 * `keyIdsAlone: false` keeps an access key id that has no secret key beside it (authenticator
 * lines log key ids). `keyIdNearby` (a key id is elsewhere in the same record) looks for
 * 40-character secret keys even where this text holds no key id. `credentialMembers` (JSON text
 * for which mayHoldCredentialMember is true) also replaces values of credential-named members.
 */
export function redactSecrets(
  text: string,
  counts: RedactionCounts,
  opts: { secretResource?: boolean; keyIdsAlone?: boolean; keyIdNearby?: boolean; credentialMembers?: boolean } = {},
): string {
  let out = text;
  if (opts.secretResource) out = redactSecretMaps(out, counts, SECRET_PATCH_MAPS);
  else if (SECRET_HINTS.some((h) => out.includes(h))) out = redactSecretMaps(out, counts, SECRET_MAPS);
  out = redactPatterns(out, counts, opts.keyIdsAlone ?? true, opts.keyIdNearby ?? false);
  // Last, so a token a pattern recognised keeps the marker that names its kind.
  return opts.credentialMembers ? redactCredentialMembers(out, counts) : out;
}

/**
 * Redacts one map entry (a kv pair or an annotation): the whole value when its key names a
 * credential, else as free text (`redactSecrets`, lone key ids kept, credential-named
 * `name=value` pairs), JSON members included when the value is JSON. Empty values stay.
 */
export function redactEntry(key: string, value: string, counts: RedactionCounts, keyIdNearby: boolean): string {
  if (value !== '' && isSecretKey(key)) {
    bump(counts, 'credential');
    return redactionMarker('credential');
  }
  const json = startsJson(value);
  const credentialMembers = json && mayHoldCredentialMember(value);
  const out = redactSecrets(value, counts, { keyIdsAlone: false, keyIdNearby, credentialMembers });
  return mayHoldCredentialAssignment(out) ? redactCredentialAssignments(out, counts, json) : out;
}

/** `text[from, to)` is a value worth replacing: not empty, not `""`, not already a marker. */
function holdsValue(text: string, from: number, to: number): boolean {
  if (to <= from || (to === from + 2 && text.charCodeAt(from) === 0x22)) return false;
  return !(
    text.charCodeAt(from + (text.charCodeAt(from) === 0x22 ? 1 : 0)) === 0x5b && isRedactionMarker(text.slice(from, to))
  );
}

/** Replaces the values `[from, to)` of `cuts` (sorted, apart) with credential markers, quoted where the value was. */
function replaceValues(text: string, cuts: readonly number[], counts: RedactionCounts): string {
  const marker = redactionMarker('credential');
  let out = '';
  let at = 0;
  for (let c = 0; c < cuts.length; c += 2) {
    const from = cuts[c]!;
    const to = cuts[c + 1]!;
    // A quoted value keeps its quotes; one cut short gains no closing quote.
    const open = text.charCodeAt(from) === 0x22;
    const closed = open && to - from >= 2 && text.charCodeAt(to - 1) === 0x22;
    out += `${text.slice(at, from)}${open ? '"' : ''}${marker}${closed ? '"' : ''}`;
    at = to;
  }
  bump(counts, 'credential', cuts.length / 2);
  return out + text.slice(at);
}

/**
 * Replaces the values of credential-named keys (isSecretKey) in a parsed line, at exactly the
 * spans its parser read them from: `spans` holds key start, value start and value end per pair
 * (klogPairSpans, logfmtPairSpans), so a `{…}`, `map[…]` or multi-line `<…>` value goes whole
 * and nothing outside a value changes. Empty values and markers stay.
 */
export function redactCredentialSpans(text: string, spans: readonly number[], counts: RedactionCounts): string {
  let cuts: number[] | null = null;
  for (let p = 0; p + 2 < spans.length; p += 3) {
    const keyStart = spans[p]!;
    const valueStart = spans[p + 1]!;
    const valueEnd = spans[p + 2]!;
    if (!endsWithCredentialName(text, valueStart - 2) || !isSecretKey(text.slice(keyStart, valueStart - 1))) continue;
    if (!holdsValue(text, valueStart, valueEnd)) continue;
    cuts ??= [];
    cuts.push(valueStart, valueEnd);
  }
  return cuts === null ? text : replaceValues(text, cuts, counts);
}

/**
 * False when no `name=` in `text` can name a credential; looks only at the letters before each
 * `=` (a reversed trie of the credential names), so most text costs one search for `=`.
 */
export function mayHoldCredentialAssignment(text: string): boolean {
  for (let eq = text.indexOf('='); eq !== -1; eq = text.indexOf('=', eq + 1))
    if (endsWithCredentialName(text, eq - 1)) return true;
  return false;
}

const isNameChar = (c: number) =>
  (c >= 0x61 && c <= 0x7a) ||
  (c >= 0x41 && c <= 0x5a) ||
  (c >= 0x30 && c <= 0x39) ||
  c === 0x5f ||
  c === 0x2d ||
  c === 0x2e ||
  c === 0x2f;

/** Index of the line break at or after `i`, or the text's end. */
function lineEnd(s: string, i: number): number {
  const nl = s.indexOf('\n', i);
  return nl === -1 ? s.length : nl;
}

/** Index just past the quoted string opening at `i` (any backslash escape), or its line's end when unterminated. */
function quotedEnd(s: string, i: number, quote: number): number {
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === quote) return j + 1;
    if (c === 0x0a) return j;
    if (c === 0x5c) j++;
  }
  return s.length;
}

// Where a bare value in free text ends: whitespace, a quote, a backslash, or a separator of
// query strings, lists and groups.
const isBareEnd = (c: number) =>
  c === 0x20 ||
  c === 0x09 ||
  c === 0x0a ||
  c === 0x0d ||
  c === 0x22 ||
  c === 0x27 ||
  c === 0x5c ||
  c === 0x26 ||
  c === 0x2c ||
  c === 0x3b ||
  c === 0x7d ||
  c === 0x5d ||
  c === 0x29;

/** Index just past the `{…}`, `[…]` or `(…)` group opening at `i` on its line, or −1 when it does not close there. */
function groupEnd(s: string, i: number): number {
  let depth = 0;
  for (let j = i; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 0x0a) return -1;
    if (c === 0x22) {
      j = quotedEnd(s, j, 0x22) - 1;
      if (s.charCodeAt(j) !== 0x22) return -1;
    } else if (c === 0x7b || c === 0x5b || c === 0x28) depth++;
    else if (c === 0x7d || c === 0x5d || c === 0x29) {
      if (--depth === 0) return j + 1;
    }
  }
  return -1;
}

/**
 * Index just past a value assigned in free text at `i`: a quoted string (to the end of its line
 * when unterminated), `\"…\"` inside a quoted string, klog's multi-line `<…>` block (to the end
 * when cut), a `{…}`, `[…]` or `map[…]` group closed on its line, else a bare word.
 */
function assignedValueEnd(s: string, i: number, json: boolean): number {
  const c = s.charCodeAt(i);
  // A marker a pattern (or an earlier pass) left is the whole value.
  if (c === 0x5b && s.startsWith('[REDACTED:', i)) return s.indexOf(']', i) + 1 || s.length;
  if (c === 0x5c && s.charCodeAt(i + 1) === 0x22) {
    const close = s.indexOf('\\"', i + 2);
    return close === -1 ? lineEnd(s, i) : close + 2;
  }
  // In JSON text a quote ends the string literal the pair is in, and no group may cross one.
  if (json) return bareEnd(s, i);
  if (c === 0x22 || c === 0x27) return quotedEnd(s, i, c);
  if (c === 0x3c && s.charCodeAt(i + 1) === 0x0a) {
    const end = klogValueEnd(s, i);
    return end === -1 ? s.length : end;
  }
  const open = s.startsWith('map[', i) ? i + 3 : i;
  const oc = s.charCodeAt(open);
  if (oc === 0x7b || oc === 0x5b || oc === 0x28) {
    const end = groupEnd(s, open);
    if (end !== -1) return end;
  }
  return bareEnd(s, i);
}

function bareEnd(s: string, i: number): number {
  let j = i;
  while (j < s.length && !isBareEnd(s.charCodeAt(j))) j++;
  return j;
}

/**
 * Replaces the value of every `name=value` in free text whose name names a credential
 * (isSecretKey): `password=…` in an application's log line, `--token=…` in arguments,
 * `?access_token=…&password=…` in a query string, a pair a klog line has after the point its
 * parser stopped. Empty values and markers stay; nothing outside a value changes. In `json`
 * text (pairs inside its string literals) a value never reaches past a quote or backslash.
 */
export function redactCredentialAssignments(text: string, counts: RedactionCounts, json = false): string {
  let cuts: number[] | null = null;
  for (let eq = text.indexOf('='); eq !== -1; eq = text.indexOf('=', eq + 1)) {
    if (!endsWithCredentialName(text, eq - 1)) continue;
    let k = eq;
    while (k > 0 && isNameChar(text.charCodeAt(k - 1))) k--;
    if (!isSecretKey(text.slice(k, eq))) continue;
    const end = assignedValueEnd(text, eq + 1, json);
    if (!holdsValue(text, eq + 1, end)) continue;
    cuts ??= [];
    cuts.push(eq + 1, end);
    eq = end - 1;
  }
  return cuts === null ? text : replaceValues(text, cuts, counts);
}

/** Total number of values replaced. */
export function countRedactions(counts: RedactionCounts): number {
  let n = 0;
  for (const v of Object.values(counts)) n += v ?? 0;
  return n;
}
