const RFC3339_RE = /^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|z|[+-]\d\d:\d\d)$/;

/** Microseconds since the epoch of an RFC 3339 time (fraction beyond µs truncated), or null. */
export function parseTimeMicros(s: unknown): number | null {
  if (typeof s !== 'string') return null;
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

/** `dt` (YYYY-MM-DD) and `hour` (HH) of an instant in microseconds, UTC. */
export function partitionTime(micros: number): { dt: string; hour: string } {
  const iso = new Date(Math.floor(micros / 1000)).toISOString();
  return { dt: iso.slice(0, 10), hour: iso.slice(11, 13) };
}
