import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  backfillStartingWatermark,
  coversSinceWatermark,
  resolveWindow,
  startingWatermark,
} from '../../../src/core/workflow/input.ts';
import { HOUR_MS, hourPrefix, splitRange } from '../../../src/core/workflow/window.ts';

const NOW = new Date('2025-01-13T10:20:00Z');
const LIMITS = { lateHorizonHours: 6, maxBackfillDays: 90, childRangeHours: 24 };
// Raw data since 2025-01-03T10: its late look-back is 04:00 that day.
const OLDEST = 'dt=2025-01-03/hour=10';
const backfill = (from: string, to: string) => resolveWindow({ from, to }, NOW, LIMITS);

describe('backfillStartingWatermark (a backfill before any watermark is stored)', () => {
  it.each([
    // [case, backfill from, to, oldest raw arrival hour, watermark it starts from]
    [
      'from the late look-back of the oldest hour',
      '2025-01-03T04:00:00Z',
      '2025-01-04T04:00:00Z',
      OLDEST,
      '2025-01-03T10:00:00.000Z',
    ],
    ['from before that look-back', '2025-01-02T00:00:00Z', '2025-01-03T00:00:00Z', OLDEST, '2025-01-03T10:00:00.000Z'],
    ['from an hour after that look-back', '2025-01-03T05:00:00Z', '2025-01-04T05:00:00Z', OLDEST, null],
    ['from the oldest hour itself', '2025-01-03T10:00:00Z', '2025-01-04T10:00:00Z', OLDEST, null],
    ['of the last 3 days of 10', '2025-01-10T10:00:00Z', '2025-01-11T10:00:00Z', OLDEST, null],
    ['on a bucket with no raw data', '2025-01-03T04:00:00Z', '2025-01-04T04:00:00Z', null, null],
  ] as const)('%s: %s', (_, from, to, oldest, expected) => {
    expect(backfillStartingWatermark(backfill(from, to), oldest, LIMITS)).toBe(expected);
  });

  it('never starts one for a scheduled run, which PlanWindow starts instead', () => {
    const scheduled = resolveWindow({ scheduledTime: '2025-01-13T10:15:00Z' }, NOW, LIMITS);
    expect(backfillStartingWatermark(scheduled, OLDEST, LIMITS)).toBeNull();
    expect(startingWatermark(scheduled, OLDEST)).toBe('2025-01-03T10:00:00.000Z');
  });

  it('starts one only when its children, oldest first, list every arrival hour from the oldest raw one to its end', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 24 * 60 }),
        fc.integer({ min: -24 * 5, max: 24 * 5 }),
        fc.integer({ min: 1, max: 24 * 5 }),
        fc.integer({ min: 1, max: 72 }),
        (oldestAgeHours, fromOffsetHours, lengthHours, lateHorizonHours) => {
          const limits = { ...LIMITS, lateHorizonHours };
          const oldestMs = Date.parse('2025-01-13T10:00:00Z') - oldestAgeHours * HOUR_MS;
          const fromMs = oldestMs + fromOffsetHours * HOUR_MS;
          const toMs = Math.min(fromMs + lengthHours * HOUR_MS, Date.parse('2025-01-13T11:00:00Z'));
          fc.pre(toMs > fromMs);
          const children = splitRange(fromMs, toMs, limits.childRangeHours).map((r) => resolveWindow(r, NOW, limits));
          const started = backfillStartingWatermark(children[0]!, hourPrefix(oldestMs), limits);
          const listed = new Set(children.flatMap((c) => c.arrivalHours));
          const listsEveryHour = Array.from({ length: Math.max(0, (toMs - oldestMs) / HOUR_MS) }, (_, i) =>
            hourPrefix(oldestMs + i * HOUR_MS),
          ).every((h) => listed.has(h));
          if (started === null) {
            expect(fromMs).toBeGreaterThan(oldestMs - lateHorizonHours * HOUR_MS);
            return;
          }
          expect(started).toBe(new Date(oldestMs).toISOString());
          expect(listsEveryHour).toBe(true);
          // Each child continues from where the previous one listed through, as WriteLedger chains them.
          let through: string | undefined;
          for (const child of children) {
            expect(coversSinceWatermark(child, started, limits, through)).toBe(true);
            through = child.end;
          }
        },
      ),
    );
  });
});
