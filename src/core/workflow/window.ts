import { InvalidInputError } from '../errors.ts';

/** Length of one scheduled window; the scheduler fires every 15 minutes. */
export const SCHEDULE_PERIOD_MS = 15 * 60 * 1000;
export const HOUR_MS = 60 * 60 * 1000;

/** Limits that validation and planning need; all come from config at the edge. */
export interface WindowLimits {
  /** How many hours after its events a raw object may still arrive and be planned. */
  readonly lateHorizonHours: number;
  /** Longest backfill accepted, in days. */
  readonly maxBackfillDays: number;
  /** A backfill longer than this many hours fans out into child executions of this size. */
  readonly childRangeHours: number;
  /** Clock skew tolerated on `scheduledTime` (a trigger slightly ahead of our clock). */
  readonly futureToleranceMs?: number;
}

/** `[start, end)` half-open UTC interval, ISO strings with `Z`. */
export interface TimeRange {
  readonly from: string;
  readonly to: string;
}

/**
 * What one execution covers. `arrivalHours` are the raw `dt=/hour=` prefixes to list (arrival
 * time, including the late look-back); `arrivedBefore` bounds a scheduled run so a re-run of the
 * same window sees the same objects. `childRanges` is non-empty only when the run fans out.
 */
export interface WorkflowWindow {
  readonly mode: 'scheduled' | 'backfill';
  readonly start: string;
  readonly end: string;
  readonly arrivalHours: readonly string[];
  readonly arrivedBefore: string | null;
  readonly childRanges: readonly TimeRange[];
}

/** Floors an instant to a multiple of `stepMs` since the epoch (UTC). */
export function floorTo(ms: number, stepMs: number): number {
  return Math.floor(ms / stepMs) * stepMs;
}

/** `2025-01-03T07:00:00.000Z` → `dt=2025-01-03/hour=07`, the raw and curated hour prefix. */
export function hourPrefix(hourStartMs: number): string {
  const iso = new Date(hourStartMs).toISOString();
  return `dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}`;
}

/** The hour prefixes of every hour that overlaps `[startMs, endMs)`, oldest first. */
export function hoursOverlapping(startMs: number, endMs: number): string[] {
  const out: string[] = [];
  for (let h = floorTo(startMs, HOUR_MS); h < endMs; h += HOUR_MS) out.push(hourPrefix(h));
  return out;
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]00:00)$/;

/** Parses a strict ISO 8601 UTC timestamp; anything else is an InvalidInputError naming `field`. */
export function parseIsoUtc(value: unknown, field: string): number {
  if (typeof value !== 'string' || !ISO_UTC.test(value)) {
    throw new InvalidInputError(
      `${field} must be an ISO 8601 UTC timestamp like 2025-01-03T00:00:00Z, got ${show(value)}`,
    );
  }
  const ms = Date.parse(value);
  // Date.parse rolls 2025-02-30 over to March; a round trip catches impossible dates.
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== value.slice(0, 10)) {
    throw new InvalidInputError(`${field} is not a real date: ${show(value)}`);
  }
  return ms;
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Splits `[fromMs, toMs)` into consecutive ranges of at most `stepHours`, aligned to `stepHours` from the epoch. */
export function splitRange(fromMs: number, toMs: number, stepHours: number): TimeRange[] {
  const step = stepHours * HOUR_MS;
  const out: TimeRange[] = [];
  for (let a = fromMs; a < toMs; ) {
    const b = Math.min(toMs, floorTo(a, step) + step);
    out.push({ from: new Date(a).toISOString(), to: new Date(b).toISOString() });
    a = b;
  }
  return out;
}
