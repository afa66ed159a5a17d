const RFC3339_RE = /^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|z|[+-]\d\d:\d\d)$/;
const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

// Events of a stream share their day: Date.UTC once per day on the fast path.
let lastDay = -1;
let lastDayMs = 0;

/** Microseconds since the epoch of an RFC 3339 time (fraction beyond µs truncated), or null. */
export function parseTimeMicros(s: unknown): number | null {
  if (typeof s !== 'string') return null;
  // Fast path for what every EKS stream carries: YYYY-MM-DDTHH:MM:SS[.ffffff]Z.
  const n = s.length;
  if (n >= 20 && n <= 30 && s.charCodeAt(4) === 45 && s.charCodeAt(10) === 84 && s.charCodeAt(n - 1) === 90) {
    const y = digits(s, 0, 4);
    const mo = digits(s, 5, 2);
    const d = digits(s, 8, 2);
    const h = digits(s, 11, 2);
    const mi = digits(s, 14, 2);
    const se = digits(s, 17, 2);
    const sep = s.charCodeAt(7) === 45 && s.charCodeAt(13) === 58 && s.charCodeAt(16) === 58;
    let frac = 0;
    let ok = sep && y >= 0 && mo >= 1 && mo <= 12 && d >= 1 && d <= DAYS[mo - 1]! && h >= 0 && h <= 23;
    ok = ok && mi >= 0 && mi <= 59 && se >= 0 && se <= 59;
    if (ok && n > 20) {
      const f = n - 21; // digits between '.' and 'Z'
      ok = s.charCodeAt(19) === 46 && f >= 1 && f <= 9;
      if (ok) {
        frac = digits(s, 20, Math.min(f, 6));
        ok = frac >= 0 && (f <= 6 || digits(s, 26, f - 6) >= 0);
        for (let k = f; k < 6; k++) frac *= 10;
      }
    }
    if (ok && (mo !== 2 || d < 29 || (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0)))) {
      const day = y * 10_000 + mo * 100 + d;
      if (day !== lastDay) {
        lastDay = day;
        lastDayMs = Date.UTC(y, mo - 1, d);
      }
      return (lastDayMs + h * 3_600_000 + mi * 60_000 + se * 1000) * 1000 + frac;
    }
  }
  const m = RFC3339_RE.exec(s);
  if (!m) return null;
  const [y, mo, d, h, mi, se] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return null;
  let ms = Date.UTC(y, mo - 1, d, h, mi, se);
  // Date.UTC rolls 31 February into March; reject instead of guessing.
  if (new Date(ms).getUTCDate() !== d && se !== 60) return null;
  const zone = m[8]!;
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1;
    ms -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
  }
  const frac = m[7] ? Number(m[7].slice(0, 6).padEnd(6, '0')) : 0;
  return ms * 1000 + frac;
}

const HOUR_MICROS = 3_600_000_000;
// Consecutive events nearly always share an hour: one formatted Date per hour, not per row.
let lastHour = Number.NaN;
let lastPartition: { readonly dt: string; readonly hour: string } = { dt: '', hour: '' };

/** `dt` (YYYY-MM-DD) and `hour` (HH) of an instant in microseconds, UTC. */
export function partitionTime(micros: number): { readonly dt: string; readonly hour: string } {
  const h = Math.floor(micros / HOUR_MICROS);
  if (h !== lastHour) {
    const iso = new Date(h * 3_600_000).toISOString();
    lastPartition = { dt: iso.slice(0, 10), hour: iso.slice(11, 13) };
    lastHour = h;
  }
  return lastPartition;
}

/** How far ahead of its arrival an event's own time may be: clocks of the cluster's nodes drift. */
export const FUTURE_SLACK_MS = 2 * 3_600_000;
// Firehose names an object's hour by its oldest record's arrival; its newest record arrived up to
// one buffer interval (at most 900 s) later.
const MAX_BUFFER_MS = 900_000;

/**
 * Plausible emit times of the events of a raw object that arrived in the hour starting at
 * `arrivalHourMs`, in microseconds: from `horizonMs` before that hour to the end of the hour
 * plus one Firehose buffer interval and FUTURE_SLACK_MS. Taken from the input, never a clock.
 */
export function timeBoundsFor(
  arrivalHourMs: number,
  horizonMs: number,
): { readonly minMicros: number; readonly maxMicros: number } {
  return {
    minMicros: (arrivalHourMs - horizonMs) * 1000,
    maxMicros: (arrivalHourMs + 3_600_000 + MAX_BUFFER_MS + FUTURE_SLACK_MS) * 1000,
  };
}
