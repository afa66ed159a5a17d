import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fullJitterDelay, retryWithBackoff } from '../../src/adapters/aws/retry.ts';
import { RetryableError } from '../../src/core/errors.ts';

describe('retryWithBackoff', () => {
  it('keeps every full-jitter delay within [0, min(cap, base·2^(n-1)))', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (attempt, r) => {
        const d = fullJitterDelay(attempt, { baseDelayMs: 50, maxDelayMs: 3000, random: () => r });
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(Math.min(3000, 50 * 2 ** (attempt - 1)));
      }),
    );
  });

  it('returns the first success and stops retrying', async () => {
    let calls = 0;
    const out = await retryWithBackoff(
      'op',
      async (attempt) => {
        calls++;
        if (attempt < 3) throw new Error('flaky');
        return attempt;
      },
      () => true,
      { sleep: async () => {} },
    );
    expect([out, calls]).toEqual([3, 3]);
  });

  it('rethrows a non-retryable error at once, unwrapped', async () => {
    const boom = new TypeError('bug');
    let calls = 0;
    const err = await retryWithBackoff(
      'op',
      async () => {
        calls++;
        throw boom;
      },
      (e) => !(e instanceof TypeError),
      { sleep: async () => {} },
    ).catch((e) => e);
    expect([err, calls]).toEqual([boom, 1]);
  });

  it('wraps the last error in a RetryableError after maxAttempts', async () => {
    const waits: number[] = [];
    const err = await retryWithBackoff(
      'PutThing',
      async () => {
        throw new Error('still down');
      },
      () => true,
      { maxAttempts: 4, sleep: async (ms) => void waits.push(ms), random: () => 0.5 },
    ).catch((e) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toMatch(/PutThing: still failing after 4 attempts: Error: still down/);
    expect(waits).toEqual([50, 100, 200]);
  });
});
