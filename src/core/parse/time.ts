/** Largest epoch ms whose RFC 3339 form has a four-digit year (9999-12-31T23:59:59.999Z). */
export const MAX_EPOCH_MS = 253_402_300_799_999;

/** Epoch milliseconds as RFC 3339 UTC with microseconds (`…T12:00:00.123000Z`). */
export function formatEpochMs(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 23)}000Z`;
}

const RFC3339_RE = /^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?(?:([Zz])|([+-])(\d\d):?(\d\d))$/;

/**
 * Normalises an RFC 3339 timestamp to UTC with exactly six fractional digits (truncating
 * finer precision), or returns null when it is not a valid timestamp. Never reads the local zone.
 */
export function normalizeRfc3339(s: string): string | null {
  if (s.length === 27 && isCanonicalShape(s)) {
    return isValidCanonical(s) ? s : null;
  }
  // logrus (the authenticator) writes whole seconds in UTC: `2006-01-02T15:04:05Z`.
  if (s.length === 20 && isSecondsUtc(s)) return secondsUtc(s);
  // Lines of one batch often share a second-resolution time; skip the work when it repeats.
  if (s === lastInput) return lastOutput;
  const out = normalizeSlow(s);
  lastInput = s;
  lastOutput = out;
  return out;
}

let lastInput = '';
let lastOutput: string | null = null;

function normalizeSlow(s: string): string | null {
  const m = RFC3339_RE.exec(s);
  if (!m) return null;
  const [, y, mo, d, h, mi, sec, frac = '', , sign, oh, om] = m;
  const base = utcMs(+y!, +mo!, +d!, +h!, +mi!, +sec!);
  if (base === null) return null;
  let ms = base;
  if (sign) {
    if (+oh! > 23 || +om! > 59) return null;
    const offset = (+oh! * 60 + +om!) * 60_000;
    ms += sign === '+' ? -offset : offset;
  }
  if (ms < 0 || ms > MAX_EPOCH_MS) return null;
  return `${new Date(ms).toISOString().slice(0, 19)}.${(frac + '000000').slice(0, 6)}Z`;
}

const SECONDS_UTC_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];

// `YYYY-MM-DDTHH:MM:SS.ffffffZ` by shape, the form audit events and our records use (no regex:
// this runs once per audit event).
function isCanonicalShape(s: string): boolean {
  for (const i of SECONDS_UTC_DIGITS) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  for (let i = 20; i < 26; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return (
    s[4] === '-' && s[7] === '-' && s[10] === 'T' && s[13] === ':' && s[16] === ':' && s[19] === '.' && s[26] === 'Z'
  );
}

// `YYYY-MM-DDTHH:MM:SSZ` by shape (digits and separators); the values are checked by secondsUtc.
function isSecondsUtc(s: string): boolean {
  for (const i of SECONDS_UTC_DIGITS) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return s[4] === '-' && s[7] === '-' && s[10] === 'T' && s[13] === ':' && s[16] === ':' && s[19] === 'Z';
}

// What normalizeSlow answers for that shape, without the regex and the Date round trip.
function secondsUtc(s: string): string | null {
  const year = twoDigits(s, 0) * 100 + twoDigits(s, 2);
  if (year < 1970) return null;
  const canonical = `${s.slice(0, 19)}.000000Z`;
  return isValidCanonical(canonical) ? canonical : null;
}

// Most events of a batch share a date, so remember the last valid one instead of re-checking it.
let lastValidDate = '';

function twoDigits(s: string, i: number): number {
  return (s.charCodeAt(i) - 0x30) * 10 + (s.charCodeAt(i + 1) - 0x30);
}

// `s` already has the canonical shape, so every position read here is a digit.
function isValidCanonical(s: string): boolean {
  if (twoDigits(s, 11) > 23 || twoDigits(s, 14) > 59 || twoDigits(s, 17) > 59) return false;
  if (s.startsWith(lastValidDate) && lastValidDate !== '') return true;
  const year = twoDigits(s, 0) * 100 + twoDigits(s, 2);
  if (utcMs(year, twoDigits(s, 5), twoDigits(s, 8), 0, 0, 0) === null) return false;
  lastValidDate = s.slice(0, 10);
  return true;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Epoch ms of a UTC wall-clock time, or null if any field is out of range (31 April, 25:00,
 * leap seconds) or the year has not four digits.
 */
export function utcMs(y: number, mo: number, d: number, h: number, mi: number, s: number): number | null {
  if (y < 1000 || y > 9999 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return null;
  const leap = mo === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (d > DAYS_IN_MONTH[mo - 1]! + (leap ? 1 : 0)) return null;
  return Date.UTC(y, mo - 1, d, h, mi, s);
}
