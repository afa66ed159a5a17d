import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/core/errors.ts';
import { leaseHolderOf, resolveWindow } from '../../src/core/workflow/input.ts';
import { HOUR_MS, splitRange } from '../../src/core/workflow/window.ts';

const NOW = new Date('2025-01-03T10:20:00Z');
const LIMITS = { lateHorizonHours: 6, maxBackfillDays: 90, childRangeHours: 24 };

describe('resolveWindow', () => {
  it('covers the 15 minutes ending at scheduledTime floored to 15 minutes, listing back to the late horizon', () => {
    const w = resolveWindow({ scheduledTime: '2025-01-03T10:17:42Z' }, NOW, LIMITS);
    expect(w).toEqual({
      mode: 'scheduled',
      start: '2025-01-03T10:00:00.000Z',
      end: '2025-01-03T10:15:00.000Z',
      arrivalHours: [
        'dt=2025-01-03/hour=04',
        'dt=2025-01-03/hour=05',
        'dt=2025-01-03/hour=06',
        'dt=2025-01-03/hour=07',
        'dt=2025-01-03/hour=08',
        'dt=2025-01-03/hour=09',
        'dt=2025-01-03/hour=10',
      ],
      arrivedBefore: '2025-01-03T10:15:00.000Z',
      childRanges: [],
    });
  });

  it('puts an instant exactly on a boundary in the window that ends there', () => {
    const w = resolveWindow({ scheduledTime: '2025-01-03T10:15:00.000Z' }, NOW, LIMITS);
    expect([w.start, w.end]).toEqual(['2025-01-03T10:00:00.000Z', '2025-01-03T10:15:00.000Z']);
  });

  it('lists arrival hours across midnight for a window just after it', () => {
    const w = resolveWindow({ scheduledTime: '2025-01-03T00:05:00Z' }, NOW, { ...LIMITS, lateHorizonHours: 1 });
    expect(w.arrivalHours).toEqual(['dt=2025-01-02/hour=22', 'dt=2025-01-02/hour=23']);
    expect(w.end).toBe('2025-01-03T00:00:00.000Z');
  });

  it('accepts an hour-aligned backfill and lists exactly its hours', () => {
    const w = resolveWindow({ from: '2025-01-02T22:00:00Z', to: '2025-01-03T01:00:00Z' }, NOW, LIMITS);
    expect(w.mode).toBe('backfill');
    expect(w.arrivalHours).toEqual(['dt=2025-01-02/hour=22', 'dt=2025-01-02/hour=23', 'dt=2025-01-03/hour=00']);
    expect(w.arrivedBefore).toBeNull();
    expect(w.childRanges).toEqual([]);
  });

  it('fans a backfill longer than the child range out into day-aligned child ranges', () => {
    const w = resolveWindow({ from: '2024-12-30T12:00:00Z', to: '2025-01-02T06:00:00Z' }, NOW, LIMITS);
    expect(w.arrivalHours).toEqual([]);
    expect(w.childRanges).toEqual([
      { from: '2024-12-30T12:00:00.000Z', to: '2024-12-31T00:00:00.000Z' },
      { from: '2024-12-31T00:00:00.000Z', to: '2025-01-01T00:00:00.000Z' },
      { from: '2025-01-01T00:00:00.000Z', to: '2025-01-02T00:00:00.000Z' },
      { from: '2025-01-02T00:00:00.000Z', to: '2025-01-02T06:00:00.000Z' },
    ]);
  });

  it('ignores the parent execution id Step Functions adds to a child input', () => {
    const w = resolveWindow(
      {
        from: '2025-01-02T00:00:00Z',
        to: '2025-01-02T01:00:00Z',
        leaseHolder: 'backfill-parent',
        AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: 'arn:x',
      },
      NOW,
      LIMITS,
    );
    expect(w.arrivalHours).toEqual(['dt=2025-01-02/hour=00']);
  });

  // Reliability row 39: bad backfill input fails before any work, with a message that says why.
  it.each([
    ['reversed', { from: '2025-01-02T00:00:00Z', to: '2025-01-01T00:00:00Z' }, /reversed/],
    ['empty', { from: '2025-01-02T00:00:00Z', to: '2025-01-02T00:00:00Z' }, /empty/],
    ['in the future', { from: '2025-01-03T00:00:00Z', to: '2025-01-04T00:00:00Z' }, /future/],
    [
      'longer than the maximum',
      { from: '2024-09-01T00:00:00Z', to: '2025-01-01T00:00:00Z' },
      /longer than the maximum of 90 days/,
    ],
    ['not ISO', { from: '01/02/2025', to: '2025-01-03T00:00:00Z' }, /from must be an ISO 8601 UTC timestamp/],
    ['not UTC', { from: '2025-01-02T00:00:00+02:00', to: '2025-01-03T00:00:00Z' }, /from must be an ISO 8601 UTC/],
    ['an impossible date', { from: '2025-02-30T00:00:00Z', to: '2025-03-02T00:00:00Z' }, /not a real date/],
    ['not hour-aligned', { from: '2025-01-02T00:30:00Z', to: '2025-01-03T00:00:00Z' }, /whole hours/],
    ['a number', { from: 1735776000000, to: '2025-01-03T00:00:00Z' }, /from must be an ISO/],
    ['missing to', { from: '2025-01-02T00:00:00Z' }, /got keys \[from\]/],
    ['mixed', { scheduledTime: '2025-01-03T10:00:00Z', from: '2025-01-02T00:00:00Z' }, /got keys/],
    ['a future scheduledTime', { scheduledTime: '2025-01-03T11:00:00Z' }, /in the future/],
    ['a garbage scheduledTime', { scheduledTime: 'yesterday' }, /scheduledTime must be an ISO/],
  ])('rejects input that is %s', (_label, input, message) => {
    expect(() => resolveWindow(input, NOW, LIMITS)).toThrow(InvalidInputError);
    expect(() => resolveWindow(input, NOW, LIMITS)).toThrow(message);
  });

  it.each([null, [], 'x', 42])('rejects a non-object input %j', (input) => {
    expect(() => resolveWindow(input, NOW, LIMITS)).toThrow(InvalidInputError);
  });

  it('uses the window from the input, not the clock (a skewed worker clock changes nothing)', () => {
    const input = { scheduledTime: '2025-01-03T10:15:00Z' };
    const a = resolveWindow(input, NOW, LIMITS);
    const b = resolveWindow(input, new Date(NOW.getTime() + 2 * HOUR_MS), LIMITS);
    expect(b).toEqual(a);
  });
});

describe('scheduled windows', () => {
  it('tile time: every instant is in exactly one window, [start, end), whatever second the trigger fires', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 365 * 24 * 3600 }), fc.integer({ min: 0, max: 899 }), (offsetS, lateS) => {
        const t = Date.UTC(2024, 0, 1) + offsetS * 1000;
        const now = new Date(t + 3600_000);
        // The trigger for the window that contains t fires at its end, possibly a little late.
        const end = Math.floor(t / 900_000) * 900_000 + 900_000;
        const w = resolveWindow({ scheduledTime: new Date(end + lateS * 1000).toISOString() }, now, LIMITS);
        expect(Date.parse(w.start)).toBeLessThanOrEqual(t);
        expect(Date.parse(w.end)).toBeGreaterThan(t);
        const next = resolveWindow({ scheduledTime: new Date(end + 900_000).toISOString() }, now, LIMITS);
        expect(next.start).toBe(w.end);
        expect(w.arrivalHours.at(-1)).toBe(
          `dt=${new Date(end - 1).toISOString().slice(0, 10)}/hour=${new Date(end - 1).toISOString().slice(11, 13)}`,
        );
      }),
    );
  });
});

describe('leaseHolderOf', () => {
  it('is the parent name for a backfill child and the execution name otherwise', () => {
    expect(leaseHolderOf({ from: 'a', to: 'b', leaseHolder: 'parent-1' }, 'child-7')).toBe('parent-1');
    expect(leaseHolderOf({ scheduledTime: 'x' }, 'sched-1')).toBe('sched-1');
    expect(() => leaseHolderOf({ leaseHolder: '../control' }, 'e')).toThrow(InvalidInputError);
  });
});

describe('splitRange', () => {
  it('covers the range exactly, without gaps or overlaps, in pieces of at most the step', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2000 }),
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 1, max: 48 }),
        (a, len, step) => {
          const from = Date.UTC(2024, 0, 1) + a * HOUR_MS;
          const to = from + len * HOUR_MS;
          const parts = splitRange(from, to, step);
          expect(Date.parse(parts[0]!.from)).toBe(from);
          expect(Date.parse(parts.at(-1)!.to)).toBe(to);
          for (let i = 0; i < parts.length; i++) {
            const p = parts[i]!;
            expect(Date.parse(p.to) - Date.parse(p.from)).toBeGreaterThan(0);
            expect(Date.parse(p.to) - Date.parse(p.from)).toBeLessThanOrEqual(step * HOUR_MS);
            if (i > 0) expect(p.from).toBe(parts[i - 1]!.to);
          }
        },
      ),
    );
  });
});
