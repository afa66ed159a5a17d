/** RFC 3339 UTC with microseconds: `2026-11-27T03:04:05.123456Z`. */
export function isoMicros(ms: number, micros: number): string {
  const iso = new Date(Math.floor(ms)).toISOString();
  return `${iso.slice(0, 23)}${String(micros % 1000).padStart(3, '0')}Z`;
}

/** Seconds resolution, as aws-iam-authenticator writes `time=`. */
export function isoSeconds(ms: number): string {
  return `${new Date(Math.floor(ms)).toISOString().slice(0, 19)}Z`;
}

/** klog header time without the year: `MMDD hh:mm:ss.uuuuuu`. */
export function klogStamp(ms: number, micros: number): string {
  const iso = new Date(Math.floor(ms)).toISOString();
  return `${iso.slice(5, 7)}${iso.slice(8, 10)} ${iso.slice(11, 23)}${String(micros % 1000).padStart(3, '0')}`;
}

/** `2026-11-27 03:04:05.123456789 +0000 UTC`, Go's default time.Time format. */
export function goTime(ms: number, nanos: number): string {
  const iso = new Date(Math.floor(ms)).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}${String(nanos % 1_000_000).padStart(6, '0')} +0000 UTC`;
}
