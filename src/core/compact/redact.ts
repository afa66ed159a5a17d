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

// Token-shaped secrets never contain a quote or a backslash, so a match inside JSON text stays
// within one string literal and never splits an escape. A match may not start right after a
// letter, digit or backslash (that would be inside a word, a `\uXXXX` or an escape), except
// after `\n`/`\t`/`\r` (a line break in the decoded text).
const START = String.raw`(?:(?<![A-Za-z0-9\\])|(?<=\\[nrt]))`;
const BEARER_RE = new RegExp(`${START}([Bb]earer(?: |%20)+)[A-Za-z0-9._~+/=-]{8,}`, 'g');
const JWT_RE = new RegExp(String.raw`${START}eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*`, 'g');
const AKID_RE = new RegExp(`${START}(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])`, 'g');
// A 40-character secret access key; looked for only where an access key id was found.
const AWS_SECRET_RE = new RegExp(String.raw`${START}(?<!\+)[A-Za-z0-9/+]{40}(?![A-Za-z0-9+])`, 'g');
// Non-global twins for a side-effect-free test.
const AKID_TEST = new RegExp(AKID_RE.source);
const AWS_SECRET_TEST = new RegExp(AWS_SECRET_RE.source);
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
// Map keys (kv pairs, annotations) whose value is a credential whatever it looks like: the last
// `.`/`/` segment, lower case, without `-`/`_`. Exact names, so `stale-token`, `secretName` or
// `credential-id` (identifiers operators query) stay.
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
 * False when `text` holds none of the strings every redaction starts from, so
 * `redactSecrets` would return it unchanged (unless the event is about a Secret resource).
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

/** True when a map key names a credential (`secretAccessKey`, `password`, `client_secret`, …). */
export function isSecretKey(key: string): boolean {
  let verdict = KEY_VERDICTS.get(key);
  if (verdict === undefined) {
    const cut = Math.max(key.lastIndexOf('/'), key.lastIndexOf('.'));
    verdict = SECRET_KEYS.has(
      key
        .slice(cut + 1)
        .toLowerCase()
        .replace(/[-_]/g, ''),
    );
    if (KEY_VERDICTS.size >= MAX_KEY_VERDICTS) KEY_VERDICTS.clear();
    KEY_VERDICTS.set(key, verdict);
  }
  return verdict;
}

/** True when `text` holds an AWS access key id (AKIA…/ASIA…). */
export function holdsKeyId(text: string): boolean {
  return (text.includes('AKIA') || text.includes('ASIA')) && AKID_TEST.test(text);
}

/**
 * True when `s` has a run of at least 40 characters from a secret key's alphabet
 * ([A-Za-z0-9/+]): every match of the secret-key pattern lies in one. A plain loop is far
 * cheaper than the pattern's look-behinds at every position, and most text has no such run.
 */
function hasSecretKeyRun(s: string): boolean {
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const inAlphabet =
      (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2f || c === 0x2b;
    if (!inAlphabet) run = 0;
    else if (++run >= 40) return true;
  }
  return false;
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
    const withSecret = hasSecretKeyRun(out) && AWS_SECRET_TEST.test(out);
    if (keyId && (withSecret || keyIdsAlone)) {
      out = out.replace(AKID_RE, () => {
        bump(counts, 'aws_access_key_id');
        return redactionMarker('aws_access_key_id');
      });
    }
    if (withSecret)
      out = out.replace(AWS_SECRET_RE, () => {
        bump(counts, 'aws_secret_access_key');
        return redactionMarker('aws_secret_access_key');
      });
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

/**
 * Replaces secrets in `text` (JSON text of a request/response body, or a log message) with
 * `[REDACTED:<kind>]` markers and counts them in `counts`. Only characters inside string
 * literals change, so JSON stays valid and every number keeps its exact digits. Pure.
 * `secretResource` (the event's objectRef.resource is `secrets`) redacts `data`/`stringData`
 * values and JSON-patch `value`s even in bodies that do not say `"kind":"Secret"` (patches).
 * `keyIdsAlone: false` keeps an access key id that has no secret key beside it (authenticator
 * lines log key ids). `keyIdNearby` (a key id is elsewhere in the same record) looks for
 * 40-character secret keys even where this text holds no key id.
 */
export function redactSecrets(
  text: string,
  counts: RedactionCounts,
  opts: { secretResource?: boolean; keyIdsAlone?: boolean; keyIdNearby?: boolean } = {},
): string {
  let out = text;
  if (opts.secretResource) out = redactSecretMaps(out, counts, SECRET_PATCH_MAPS);
  else if (SECRET_HINTS.some((h) => out.includes(h))) out = redactSecretMaps(out, counts, SECRET_MAPS);
  return redactPatterns(out, counts, opts.keyIdsAlone ?? true, opts.keyIdNearby ?? false);
}

/**
 * Redacts one map entry (a kv pair or an annotation): the whole value when its key names a
 * credential, else as free text (`redactSecrets`, lone key ids kept). Empty values stay.
 */
export function redactEntry(key: string, value: string, counts: RedactionCounts, keyIdNearby: boolean): string {
  if (value !== '' && isSecretKey(key)) {
    bump(counts, 'credential');
    return redactionMarker('credential');
  }
  return redactSecrets(value, counts, { keyIdsAlone: false, keyIdNearby });
}

// A value that is nothing but a marker (a pattern above already replaced it).
const ALREADY_REDACTED = /^"?\[REDACTED:[a-z_]+\]"?$/;

/**
 * Replaces the value after `key=` (klog, logfmt) or `"key":` (JSON) for each of `keys` in a log
 * line, quoted or bare: the line-verbatim twin of redacting those keys' map values.
 */
export function redactKeyedValues(text: string, keys: readonly string[], counts: RedactionCounts): string {
  let out = text;
  for (const key of new Set(keys)) {
    if (!out.includes(key)) continue;
    const k = key.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
    const re = new RegExp(`(?<![A-Za-z0-9_.\\/-])(${k}=|"${k}":\\s*)("(?:[^"\\\\]|\\\\.)*"|[^\\s",}]+)`, 'g');
    out = out.replace(re, (m, prefix: string, value: string) => {
      if (value === '""' || ALREADY_REDACTED.test(value)) return m;
      bump(counts, 'credential');
      const marker = redactionMarker('credential');
      return `${prefix}${value.startsWith('"') ? `"${marker}"` : marker}`;
    });
  }
  return out;
}

/** Total number of values replaced. */
export function countRedactions(counts: RedactionCounts): number {
  let n = 0;
  for (const v of Object.values(counts)) n += v ?? 0;
  return n;
}
