import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/core/errors.ts';
import {
  catchUpBackfill,
  catchUpHoursProblem,
  catchUpWindow,
  coversSinceWatermark,
  leaseHolderOf,
  MAX_CATCH_UP_HOURS,
  MAX_CATCH_UP_HOURS_LIMIT,
  minCatchUpHours,
  resolveWindow,
  startingWatermark,
} from '../../src/core/workflow/input.ts';
import { HOUR_MS, hourPrefix, splitRange } from '../../src/core/workflow/window.ts';
import { DEFAULT_WORKFLOW_CONFIG } from '../../src/pipeline/workflow-tasks.ts';

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

const PARENT_ARN = 'arn:aws:states:eu-west-1:111122223333:execution:eks-log-lake-compaction:parent-1';

describe('leaseHolderOf', () => {
  it('is the parent name for a backfill child and the execution name otherwise', () => {
    const child = {
      from: 'a',
      to: 'b',
      leaseHolder: 'parent-1',
      AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: PARENT_ARN,
    };
    expect(leaseHolderOf(child, 'child-7')).toBe('parent-1');
    expect(leaseHolderOf({ scheduledTime: 'x' }, 'sched-1')).toBe('sched-1');
    expect(leaseHolderOf({ from: 'a', to: 'b' }, 'backfill-1')).toBe('backfill-1');
    expect(() => leaseHolderOf({ leaseHolder: '../control' }, 'e')).toThrow(InvalidInputError);
  });

  // A pasted child input, or a hand-written one, must not share a running execution's lease.
  it.each([
    ['a scheduled run', { scheduledTime: '2025-01-03T10:15:00Z', leaseHolder: 'parent-1' }, /only for the child/],
    [
      'a scheduled run that names its starter',
      {
        scheduledTime: '2025-01-03T10:15:00Z',
        leaseHolder: 'parent-1',
        AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: PARENT_ARN,
      },
      /only for the child/,
    ],
    [
      'a backfill started by no execution',
      { from: 'a', to: 'b', leaseHolder: 'parent-1' },
      /must be the execution that started/,
    ],
    [
      'a backfill started by another execution',
      {
        from: 'a',
        to: 'b',
        leaseHolder: 'parent-1',
        AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: PARENT_ARN.replace('parent-1', 'parent-2'),
      },
      /must be the execution that started/,
    ],
    [
      'a backfill whose starter is no execution ARN',
      { from: 'a', to: 'b', leaseHolder: 'parent-1', AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: 'parent-1' },
      /must be the execution that started/,
    ],
    [
      'a backfill whose starter is a state machine ARN',
      {
        from: 'a',
        to: 'b',
        leaseHolder: 'parent-1',
        AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: 'arn:aws:states:eu-west-1:111122223333:stateMachine:parent-1',
      },
      /must be the execution that started/,
    ],
  ])('rejects leaseHolder on %s', (_label, input, message) => {
    expect(() => leaseHolderOf(input, 'operator-rerun')).toThrow(InvalidInputError);
    expect(() => leaseHolderOf(input, 'operator-rerun')).toThrow(message);
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

describe('scheduled windows after an outage', () => {
  const SCHEDULED = { scheduledTime: '2025-01-03T10:15:00Z' };
  const at = (iso: string) => hourPrefix(Date.parse(iso));

  it.each([
    // [case, watermark, first listed hour, backfill to start]
    ['no watermark yet (first run)', null, '2025-01-03T04:00:00Z', null],
    ['steady state: the previous window ended at this start', '2025-01-03T10:00:00Z', '2025-01-03T04:00:00Z', null],
    ['a watermark ahead of the window (a backfill moved it)', '2025-01-03T10:40:00Z', '2025-01-03T04:00:00Z', null],
    ['one skipped run', '2025-01-03T09:45:00Z', '2025-01-03T03:00:00Z', null],
    ['a 3-day outage', '2024-12-31T10:00:00Z', '2024-12-31T04:00:00Z', null],
    ['an outage exactly at the bound', '2024-12-30T10:15:00Z', '2024-12-30T04:00:00Z', null],
    [
      'an outage past the bound whose look-back is still in the first listed hour',
      '2024-12-30T10:00:00Z',
      '2024-12-30T04:00:00Z',
      null,
    ],
    [
      'an outage an hour past the bound lists the newest part only',
      '2024-12-30T09:00:00Z',
      '2024-12-30T04:00:00Z',
      { from: '2024-12-30T03:00:00.000Z', to: '2025-01-03T11:00:00.000Z' },
    ],
    [
      'a 10-day outage',
      '2024-12-24T10:00:00Z',
      '2024-12-30T04:00:00Z',
      { from: '2024-12-24T04:00:00.000Z', to: '2025-01-03T11:00:00.000Z' },
    ],
  ] as const)(
    'lists back to the late look-back before the watermark, at most the catch-up bound: %s',
    (_, wm, first, backfill) => {
      const w = resolveWindow(SCHEDULED, NOW, LIMITS, wm);
      // PlanWindow widens the validated window with the watermark it reads under the lease.
      expect(catchUpWindow(resolveWindow(SCHEDULED, NOW, LIMITS), wm, LIMITS)).toEqual(w);
      expect(w.arrivalHours[0]).toBe(at(first));
      expect(w.arrivalHours.at(-1)).toBe('dt=2025-01-03/hour=10');
      expect(w.arrivalHours.length).toBe((Date.parse('2025-01-03T11:00:00Z') - Date.parse(first)) / HOUR_MS);
      expect(w.arrivedBefore).toBe('2025-01-03T10:15:00.000Z');
      expect(catchUpBackfill(w, wm, LIMITS)).toEqual(backfill);
      expect(coversSinceWatermark(w, wm, LIMITS)).toBe(backfill === null);
    },
  );

  it('names a backfill no longer than maxBackfillDays when the gap is longer; the next one continues from its end', () => {
    const wm = '2024-09-01T10:00:00Z';
    const w = resolveWindow(SCHEDULED, NOW, LIMITS, wm);
    const first = catchUpBackfill(w, wm, LIMITS);
    expect(first).toEqual({ from: '2024-09-01T04:00:00.000Z', to: '2024-11-30T04:00:00.000Z' });
    // The named input is one the state machine accepts.
    expect(resolveWindow(first, NOW, LIMITS).mode).toBe('backfill');
    const next = catchUpBackfill(w, first!.to, LIMITS);
    expect(next).toEqual({ from: '2024-11-29T22:00:00.000Z', to: '2025-01-03T11:00:00.000Z' });
    expect(resolveWindow(next, NOW, LIMITS).mode).toBe('backfill');
  });

  it('never lets a run move the watermark over an hour it did not list, and names a valid backfill whenever it cannot', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4 * 96 }),
        fc.integer({ min: 0, max: 2 * 24 * 365 * 4 }),
        fc.integer({ min: 1, max: 200 }),
        (quarterOffset, lagQuarters, catchUp) => {
          const end = Date.parse('2025-01-03T00:00:00Z') + quarterOffset * 15 * 60_000;
          const limits = { ...LIMITS, maxCatchUpHours: catchUp };
          const wm = new Date(end - lagQuarters * 15 * 60_000).toISOString();
          const now = new Date(end + 60_000);
          const w = resolveWindow({ scheduledTime: new Date(end).toISOString() }, now, limits, wm);
          const listedFrom = Date.parse(`${w.arrivalHours[0]!.slice(3, 13)}T${w.arrivalHours[0]!.slice(-2)}:00:00Z`);
          // Never more than the bound plus the look-back, never less than the usual look-back.
          expect(end - listedFrom).toBeLessThanOrEqual((catchUp + LIMITS.lateHorizonHours + 1) * HOUR_MS);
          expect(listedFrom).toBeLessThanOrEqual(end - 15 * 60_000 - LIMITS.lateHorizonHours * HOUR_MS);
          const covers = coversSinceWatermark(w, wm, limits);
          if (covers) expect(listedFrom).toBeLessThanOrEqual(Date.parse(wm) - LIMITS.lateHorizonHours * HOUR_MS);
          const backfill = catchUpBackfill(w, wm, limits);
          expect(backfill === null).toBe(covers);
          if (Date.parse(wm) >= end - catchUp * HOUR_MS) expect(covers).toBe(true);
          if (backfill) {
            expect(resolveWindow(backfill, now, limits).mode).toBe('backfill');
            expect(Date.parse(backfill.from)).toBeLessThanOrEqual(Date.parse(wm) - LIMITS.lateHorizonHours * HOUR_MS);
          }
        },
      ),
    );
  });

  it('lets a backfill move the watermark only from its look-back, or where an earlier child of it stopped', () => {
    const wm = '2025-01-02T10:30:00Z';
    const backfill = (from: string, to: string) => resolveWindow({ from, to }, NOW, LIMITS);
    expect(coversSinceWatermark(backfill('2025-01-02T04:00:00Z', '2025-01-02T05:00:00Z'), wm, LIMITS)).toBe(true);
    expect(coversSinceWatermark(backfill('2025-01-02T05:00:00Z', '2025-01-02T12:00:00Z'), wm, LIMITS)).toBe(false);
    expect(
      coversSinceWatermark(
        backfill('2025-01-02T05:00:00Z', '2025-01-02T12:00:00Z'),
        wm,
        LIMITS,
        '2025-01-02T05:00:00Z',
      ),
    ).toBe(true);
    expect(coversSinceWatermark(backfill('2025-01-02T04:00:00Z', '2025-01-02T05:00:00Z'), null, LIMITS)).toBe(false);
    expect(MAX_CATCH_UP_HOURS).toBe(96);
  });
});

describe('startingWatermark (a first scheduled run, no watermark stored)', () => {
  const SCHEDULED = { scheduledTime: '2025-01-03T10:15:00Z' };
  const first = resolveWindow(SCHEDULED, NOW, LIMITS);

  it.each([
    // [case, oldest arrival hour under raw/, watermark to start from]
    ['an empty bucket', null, null],
    ['raw data only in the hours the run lists anyway', 'dt=2025-01-03/hour=09', null],
    ['raw data from the first listed hour on', 'dt=2025-01-03/hour=04', null],
    ['raw data an hour older than the look-back', 'dt=2025-01-03/hour=03', '2025-01-03T03:00:00.000Z'],
    ['raw data 5 days old', 'dt=2024-12-29/hour=10', '2024-12-29T10:00:00.000Z'],
  ] as const)('starts from the oldest raw hour only when the run would not list it: %s', (_, oldest, expected) => {
    expect(startingWatermark(first, oldest)).toBe(expected);
  });

  it('never starts one for a backfill, which lists exactly its hours', () => {
    const backfill = resolveWindow({ from: '2025-01-03T08:00:00Z', to: '2025-01-03T10:00:00Z' }, NOW, LIMITS);
    expect(startingWatermark(backfill, 'dt=2024-12-29/hour=10')).toBeNull();
  });

  it('lists every raw hour, or names a backfill that starts at its look-back, whatever the oldest hour', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 24 * 400 }), fc.integer({ min: 1, max: 120 }), (ageHours, catchUp) => {
        const limits = { ...LIMITS, maxCatchUpHours: catchUp };
        const oldestMs = Date.parse('2025-01-03T10:00:00Z') - ageHours * HOUR_MS;
        const wm = startingWatermark(first, hourPrefix(oldestMs));
        const w = catchUpWindow(first, wm, limits);
        const listsOldest = w.arrivalHours.includes(hourPrefix(oldestMs));
        const backfill = catchUpBackfill(w, wm, limits);
        // Either the run itself lists the oldest raw hour, or it names a backfill reaching it.
        expect(listsOldest || (backfill !== null && Date.parse(backfill.from) <= oldestMs)).toBe(true);
        // Data inside the look-back changes nothing: the window is the one a new bucket gets.
        if (w.arrivalHours[0] !== undefined && oldestMs >= Date.parse('2025-01-03T04:00:00Z')) {
          expect(wm).toBeNull();
          expect(w).toEqual(first);
        }
        // Within the bound (its hour start at most `catchUp` hours before the window end) it catches up alone.
        if (Date.parse(first.end) - oldestMs <= catchUp * HOUR_MS) expect(backfill).toBeNull();
      }),
    );
  });
});

describe('catchUpHoursProblem', () => {
  it.each([
    [96, 1800, undefined],
    [MAX_CATCH_UP_HOURS_LIMIT, 1800, undefined],
    [2, 1800, undefined],
    [25, 86_400, undefined],
    [0, 1800, 'must be an integer between 1 and 120, got 0'],
    [121, 1800, 'must be an integer between 1 and 120, got 121'],
    [48.5, 1800, 'must be an integer between 1 and 120, got 48.5'],
    ['96', 1800, 'must be an integer between 1 and 120, got "96"'],
    [1, 1800, 'must be at least 2 (the lease TTL of 1800 s plus an hour), got 1'],
    [24, 86_400, 'must be at least 25 (the lease TTL of 86400 s plus an hour), got 24'],
  ] as const)('judges %j hours with a %i s lease', (hours, ttl, problem) => {
    const got = catchUpHoursProblem(hours, ttl);
    if (problem === undefined) expect(got).toBeUndefined();
    else expect(got).toContain(problem);
  });

  it('keeps a catch-up at the limit inside one execution history at the fleet sizing of ADR 0003', () => {
    const d = DEFAULT_WORKFLOW_CONFIG;
    // 50 clusters: 10 GiB of gzip'd raw objects, 50 × 24 hours × 4 tables partitions, 50 × 24 rollups a day.
    const mapItemsPerDay = (10 * 1024 ** 3) / d.maxChunkBytes + (50 * 24 * 4) / d.mergeGroupSize;
    const athenaTurnsPerDay = Math.ceil((50 * 24) / d.athenaStatementsPerInvocation);
    // 7 events per Map item, 10 % of them retried, 7 per RunAthenaSteps turn, ≈ 100 for the fixed states.
    const events = (days: number) => 100 + days * (mapItemsPerDay * 7 * 1.1 + athenaTurnsPerDay * 7);
    expect(mapItemsPerDay).toBe(352);
    expect(events(MAX_CATCH_UP_HOURS / 24)).toBeLessThan(25_000 / 2);
    expect(events(MAX_CATCH_UP_HOURS_LIMIT / 24)).toBeLessThan(25_000 * 0.6);
    expect(events(9)).toBeGreaterThan(25_000 * 0.95);
  });

  it('admits the default with every lease TTL the configuration allows', () => {
    expect(minCatchUpHours(86_400)).toBeLessThanOrEqual(MAX_CATCH_UP_HOURS);
    expect(catchUpHoursProblem(MAX_CATCH_UP_HOURS, 86_400)).toBeUndefined();
  });
});
