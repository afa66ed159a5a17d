import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FUTURE_SLACK_MS, parseTimeMicros, partitionTime, timeBoundsFor } from '../../../src/core/compact/time.ts';

describe('parseTimeMicros', () => {
  it.each([
    ['2026-11-27T01:30:00.123456Z', Date.UTC(2026, 10, 27, 1, 30) * 1000 + 123456],
    ['2026-11-27T01:30:00Z', Date.UTC(2026, 10, 27, 1, 30) * 1000],
    ['2026-11-27T01:30:00.1Z', Date.UTC(2026, 10, 27, 1, 30) * 1000 + 100000],
    ['2026-11-27T01:30:00.123456789Z', Date.UTC(2026, 10, 27, 1, 30) * 1000 + 123456],
    ['2026-11-27T03:30:00.5+02:00', Date.UTC(2026, 10, 27, 1, 30) * 1000 + 500000],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29) * 1000],
    ['2023-02-29T00:00:00Z', null],
    ['2026-13-01T00:00:00Z', null],
    ['2026-11-31T00:00:00Z', null],
    ['2026-11-27T24:00:00Z', null],
    ['2026-11-27T01:30:00.Z', null],
    ['2026-11-27T01:30:00.12a456Z', null],
    ['2026-11-27', null],
    ['yesterday', null],
    [1700000000, null],
  ])('reads %s', (s, want) => {
    expect(parseTimeMicros(s)).toBe(want);
  });

  it('agrees with Date.parse on every millisecond-precision UTC time', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2999-12-31T23:59:59Z'), noInvalidDate: true }),
        (d) => {
          expect(parseTimeMicros(d.toISOString())).toBe(d.getTime() * 1000);
        },
      ),
    );
  });

  it('partitions an instant by its UTC date and hour', () => {
    expect(partitionTime(Date.UTC(2026, 11, 31, 23, 59, 59, 999) * 1000 + 999)).toEqual({
      dt: '2026-12-31',
      hour: '23',
    });
  });
});

describe('timeBoundsFor', () => {
  const HOUR = 3_600_000;
  const ARRIVAL = Date.UTC(2026, 10, 27, 4);
  it.each([
    ['48 h before the arrival hour', ARRIVAL - 48 * HOUR, true],
    ['just before that', ARRIVAL - 48 * HOUR - 1, false],
    ['the end of the hour, one 15 min buffer and the skew later', ARRIVAL + HOUR + 900_000 + FUTURE_SLACK_MS, true],
    ['just after that', ARRIVAL + HOUR + 900_000 + FUTURE_SLACK_MS + 1, false],
  ])('puts a time %s inside the bounds: %s', (_, ms, inside) => {
    const b = timeBoundsFor(ARRIVAL, 48 * HOUR);
    const micros = ms * 1000;
    expect(micros >= b.minMicros && micros <= b.maxMicros).toBe(inside);
  });
});
