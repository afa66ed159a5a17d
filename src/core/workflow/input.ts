import { InvalidInputError } from '../errors.ts';
import {
  floorTo,
  HOUR_MS,
  hoursOverlapping,
  parseIsoUtc,
  SCHEDULE_PERIOD_MS,
  splitRange,
  type WindowLimits,
  type WorkflowWindow,
} from './window.ts';

/** Keys Step Functions or our own parent execution add to a child's input; not part of the window. */
const IGNORED_KEYS = new Set(['AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID', 'leaseHolder']);

/**
 * Validates an execution input and returns the window it covers, or throws InvalidInputError
 * before any work. Scheduled `{scheduledTime}`: the 15-minute window ending at scheduledTime
 * floored to 15 minutes, listing arrival hours back to `lateHorizonHours` before its start.
 * Backfill `{from, to}`: hour-aligned, half-open, non-empty, not in the future, at most
 * `maxBackfillDays` long; longer than `childRangeHours` ⇒ fans out into child ranges.
 */
export function resolveWindow(input: unknown, now: Date, limits: WindowLimits): WorkflowWindow {
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
      arrivalHours: hoursOverlapping(start - limits.lateHorizonHours * HOUR_MS, end),
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

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

const HOLDER = /^[A-Za-z0-9_-]{1,80}$/;

/**
 * Who holds the lease for this execution: the parent's name for a backfill child (children run
 * one at a time and share it), else the execution's own name.
 */
export function leaseHolderOf(input: unknown, executionName: string): string {
  const given =
    typeof input === 'object' && input !== null ? (input as Record<string, unknown>).leaseHolder : undefined;
  const holder = given ?? executionName;
  if (typeof holder !== 'string' || !HOLDER.test(holder)) {
    throw new InvalidInputError(`lease holder must be an execution name, got ${JSON.stringify(holder)}`);
  }
  return holder;
}
