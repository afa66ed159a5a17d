import { InvalidInputError } from '../errors.ts';
import {
  floorTo,
  HOUR_MS,
  hoursOverlapping,
  parseIsoUtc,
  SCHEDULE_PERIOD_MS,
  splitRange,
  type TimeRange,
  type WindowLimits,
  type WorkflowWindow,
} from './window.ts';

/**
 * Default watermark lag, in hours, a scheduled run catches up by itself (4 days; the
 * `maxCatchUpHours` setting). Beyond it a run lists only the newest part and names the backfill.
 */
export const MAX_CATCH_UP_HOURS = 96;

/**
 * Largest `maxCatchUpHours` accepted (5 days). In the sizing of ADR 0003 a day of lag adds
 * ≈ 2,700 history events (352 Map items × 7 events, +10 % retries): 5 days ≈ 13,800 of the
 * 25,000 an execution may hold (9 days would reach it), and WriteLedger ≈ 10 of its 15 minutes.
 */
export const MAX_CATCH_UP_HOURS_LIMIT = 120;

/** Smallest catch-up bound for a lease TTL: the TTL in whole hours plus one. */
export function minCatchUpHours(leaseTtlSeconds: number): number {
  return Math.ceil(leaseTtlSeconds / 3600) + 1;
}

/**
 * Why `hours` cannot be the catch-up bound, or undefined when it can: a whole number of hours up
 * to {@link MAX_CATCH_UP_HOURS_LIMIT}, and at least {@link minCatchUpHours} (a run that dies
 * holding the lease blocks the scheduled runs until it expires; the next must catch up alone).
 */
export function catchUpHoursProblem(hours: unknown, leaseTtlSeconds: number): string | undefined {
  if (typeof hours !== 'number' || !Number.isInteger(hours) || hours < 1 || hours > MAX_CATCH_UP_HOURS_LIMIT) {
    return `must be an integer between 1 and ${MAX_CATCH_UP_HOURS_LIMIT}, got ${JSON.stringify(hours)}: a longer catch-up would near the 25,000 events of one Step Functions execution history (ADR 0003); a longer lag is named as a backfill instead`;
  }
  const min = minCatchUpHours(leaseTtlSeconds);
  if (hours < min) {
    return `must be at least ${min} (the lease TTL of ${leaseTtlSeconds} s plus an hour), got ${hours}: a run that dies holding the lease blocks the scheduled runs until it expires, and the next run must then catch up by itself`;
  }
  return undefined;
}

/** Window limits plus the catch-up bound (default {@link MAX_CATCH_UP_HOURS}). */
export interface CatchUpLimits extends WindowLimits {
  readonly maxCatchUpHours?: number;
}

/** Keys Step Functions or our own parent execution add to a child's input; not part of the window. */
const IGNORED_KEYS = new Set(['AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID', 'leaseHolder']);

/**
 * Validates an execution input and returns the window it covers, or throws InvalidInputError
 * before any work. Scheduled `{scheduledTime}`: the 15-minute window ending at scheduledTime
 * floored to 15 minutes, listing arrival hours back to `lateHorizonHours` before the earlier of
 * its start and `watermark` when given (at most `maxCatchUpHours` of lag; {@link catchUpWindow}).
 * Backfill `{from, to}`: hour-aligned, half-open, non-empty, not in the future, at most
 * `maxBackfillDays` long; longer than `childRangeHours` ⇒ fans out into child ranges.
 */
export function resolveWindow(
  input: unknown,
  now: Date,
  limits: CatchUpLimits,
  watermark?: string | null,
): WorkflowWindow {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidInputError('input must be {"scheduledTime": ISO} or {"from": ISO, "to": ISO}');
  }
  const obj = input as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => !IGNORED_KEYS.has(k));
  const nowMs = now.getTime();
  const tolerance = limits.futureToleranceMs ?? 5 * 60 * 1000;

  if (keys.length === 1 && keys[0] === 'scheduledTime') {
    const t = parseIsoUtc(obj.scheduledTime, 'scheduledTime');
    if (t > nowMs + tolerance)
      throw new InvalidInputError(`scheduledTime ${String(obj.scheduledTime)} is in the future`);
    const end = floorTo(t, SCHEDULE_PERIOD_MS);
    const start = end - SCHEDULE_PERIOD_MS;
    return {
      mode: 'scheduled',
      start: iso(start),
      end: iso(end),
      arrivalHours: hoursOverlapping(listedFrom(start, end, limits, watermark), end),
      arrivedBefore: iso(end),
      childRanges: [],
    };
  }

  if (keys.length === 2 && keys.includes('from') && keys.includes('to')) {
    const from = parseIsoUtc(obj.from, 'from');
    const to = parseIsoUtc(obj.to, 'to');
    if (from % HOUR_MS !== 0 || to % HOUR_MS !== 0) {
      throw new InvalidInputError(`backfill bounds must be whole hours (UTC): from=${obj.from} to=${obj.to}`);
    }
    if (to < from) throw new InvalidInputError(`backfill range is reversed: from=${obj.from} is after to=${obj.to}`);
    if (to === from) throw new InvalidInputError(`backfill range is empty: from=${obj.from} equals to=${obj.to}`);
    if (to > floorTo(nowMs, HOUR_MS) + HOUR_MS) {
      throw new InvalidInputError(`backfill range reaches into the future: to=${obj.to} is after ${iso(nowMs)}`);
    }
    const maxMs = limits.maxBackfillDays * 24 * HOUR_MS;
    if (to - from > maxMs) {
      throw new InvalidInputError(
        `backfill range is ${(to - from) / HOUR_MS} hours, longer than the maximum of ${limits.maxBackfillDays} days`,
      );
    }
    const fanOut = to - from > limits.childRangeHours * HOUR_MS;
    return {
      mode: 'backfill',
      start: iso(from),
      end: iso(to),
      arrivalHours: fanOut ? [] : hoursOverlapping(from, to),
      arrivedBefore: null,
      childRanges: fanOut ? splitRange(from, to, limits.childRangeHours) : [],
    };
  }

  throw new InvalidInputError(
    `input must be {"scheduledTime": ISO} or {"from": ISO, "to": ISO}; got keys [${keys.join(', ')}]`,
  );
}

/**
 * The scheduled window with its listing widened back to the stored `watermark` (see
 * {@link resolveWindow}); a backfill, or a first run with no watermark yet, is unchanged.
 */
export function catchUpWindow(
  window: WorkflowWindow,
  watermark: string | null | undefined,
  limits: CatchUpLimits,
): WorkflowWindow {
  if (window.mode !== 'scheduled' || !watermark) return window;
  const end = Date.parse(window.end);
  return {
    ...window,
    arrivalHours: hoursOverlapping(listedFrom(Date.parse(window.start), end, limits, watermark), end),
  };
}

/**
 * The watermark a scheduled run starts from when none is stored yet, given the oldest arrival
 * hour under raw/ (`dt=…/hour=…`, or null for none): that hour's start, when it lies before the
 * hours the window lists anyway, so older raw data is caught up or named as a backfill instead of
 * skipped. Null (start the watermark at the window's end, as on a new bucket) otherwise.
 */
export function startingWatermark(window: WorkflowWindow, oldestArrivalHour: string | null): string | null {
  const first = window.arrivalHours[0];
  if (window.mode !== 'scheduled' || oldestArrivalHour === null || first === undefined) return null;
  const oldest = hourStartOf(oldestArrivalHour);
  return oldest < hourStartOf(first) ? iso(oldest) : null;
}

/**
 * The watermark a clean backfill starts from when none is stored yet, given the oldest arrival
 * hour under raw/ read after it listed: that hour's start, the one a first scheduled run starts
 * at, when the backfill lists from its late look-back (the backfill that run names), so
 * {@link coversSinceWatermark} then moves it. Null otherwise: a backfill that starts later, or
 * of the newest days only, leaves older raw data unlisted and must not start it.
 */
export function backfillStartingWatermark(
  window: WorkflowWindow,
  oldestArrivalHour: string | null,
  limits: WindowLimits,
): string | null {
  if (window.mode !== 'backfill' || oldestArrivalHour === null) return null;
  const oldest = iso(hourStartOf(oldestArrivalHour));
  return coversSinceWatermark(window, oldest, limits) ? oldest : null;
}

/**
 * Where a scheduled window's listing starts: the late look-back before its start, or before the
 * watermark when that is older (a run after an outage lists every hour since the last clean
 * run), but never more than the catch-up bound plus the look-back before its end.
 */
function listedFrom(start: number, end: number, limits: CatchUpLimits, watermark?: string | null): number {
  const lookBack = limits.lateHorizonHours * HOUR_MS;
  if (!watermark) return start - lookBack;
  const since = Math.min(start, Date.parse(watermark));
  return Math.max(since, end - catchUpMs(limits)) - lookBack;
}

const catchUpMs = (limits: CatchUpLimits) => (limits.maxCatchUpHours ?? MAX_CATCH_UP_HOURS) * HOUR_MS;

/**
 * The backfill an operator must start when a scheduled window could not list back to the
 * watermark (it lags by more than the catch-up bound; else null): from the late look-back before
 * the watermark to the end of the window's hour, cut to `maxBackfillDays` (a longer gap is
 * named again, piece by piece, as each backfill moves the watermark).
 */
export function catchUpBackfill(
  window: WorkflowWindow,
  watermark: string | null | undefined,
  limits: CatchUpLimits,
): TimeRange | null {
  if (window.mode !== 'scheduled' || !watermark || coversSinceWatermark(window, watermark, limits)) return null;
  const from = floorTo(Date.parse(watermark) - limits.lateHorizonHours * HOUR_MS, HOUR_MS);
  const endHour = floorTo(Date.parse(window.end) + HOUR_MS - 1, HOUR_MS);
  const to = Math.min(endHour, from + limits.maxBackfillDays * 24 * HOUR_MS);
  return { from: iso(from), to: iso(to) };
}

/**
 * Whether a clean run of `window` may move the watermark from `watermark`: it must have listed
 * every arrival hour an object that arrived since then can sit in (the late look-back before
 * it). A scheduled run with no watermark yet starts one; a backfill moves an existing one (or one
 * {@link backfillStartingWatermark} starts).
 * `listedThrough`: how far earlier children of the same backfill listed on from that look-back,
 * so each child (they run oldest first) continues where the previous one stopped.
 */
export function coversSinceWatermark(
  window: WorkflowWindow,
  watermark: string | null | undefined,
  limits: WindowLimits,
  listedThrough?: string,
): boolean {
  if (!watermark) return window.mode === 'scheduled';
  const lookBack = floorTo(Date.parse(watermark) - limits.lateHorizonHours * HOUR_MS, HOUR_MS);
  if (window.mode === 'scheduled') {
    const first = window.arrivalHours[0];
    return first !== undefined && hourStartOf(first) <= lookBack;
  }
  const start = Date.parse(window.start);
  return start <= lookBack || (listedThrough !== undefined && start <= Date.parse(listedThrough));
}

/** `dt=2025-01-03/hour=07` → the hour's start in ms. */
function hourStartOf(prefix: string): number {
  const m = /^dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})$/.exec(prefix);
  if (!m) throw new Error(`not an hour prefix: ${prefix}`);
  return Date.parse(`${m[1]}T${m[2]}:00:00Z`);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

const HOLDER = /^[A-Za-z0-9_-]{1,80}$/;

/** The key Step Functions' `startExecution` integration reads: the ARN of the execution starting this one. */
const STARTED_BY = 'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID';

/**
 * Who holds the lease for this execution: the parent's name for a backfill child (children run
 * one at a time and share it), else the execution's own name. `leaseHolder` is accepted only on
 * a backfill input that also names, as {@link STARTED_BY}, an execution ARN of that name.
 */
export function leaseHolderOf(input: unknown, executionName: string): string {
  const obj = typeof input === 'object' && input !== null ? (input as Record<string, unknown>) : {};
  const given = obj.leaseHolder;
  const holder = given ?? executionName;
  if (typeof holder !== 'string' || !HOLDER.test(holder)) {
    throw new InvalidInputError(`lease holder must be an execution name, got ${JSON.stringify(holder)}`);
  }
  if (given === undefined) return holder;
  if (!('from' in obj) || 'scheduledTime' in obj) {
    throw new InvalidInputError('leaseHolder is only for the child executions of a backfill, never a scheduled run');
  }
  const parent = executionNameOfArn(obj[STARTED_BY]);
  if (parent !== holder) {
    throw new InvalidInputError(
      `leaseHolder ${holder} must be the execution that started this one (${STARTED_BY}: ${JSON.stringify(obj[STARTED_BY] ?? null)})`,
    );
  }
  return holder;
}

/** `arn:aws:states:<region>:<account>:execution:<state machine>:<name>` → name; undefined for anything else. */
function executionNameOfArn(arn: unknown): string | undefined {
  if (typeof arn !== 'string') return undefined;
  const parts = arn.split(':');
  if (parts.length !== 8 || parts[0] !== 'arn' || parts[2] !== 'states' || parts[5] !== 'execution') return undefined;
  return parts[7];
}
