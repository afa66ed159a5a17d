import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isClusterId,
  MAX_QUIET_LOOKBACK_HOURS,
  quietClusterSettingsProblems,
} from '../../../src/core/workflow/quiet-cluster-settings.ts';
import { findQuietClusters } from '../../../src/core/workflow/quiet-clusters.ts';

describe('quietClusterSettingsProblems', () => {
  it('accepts exactly the settings under which some cluster can be quiet', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -2, max: 800 }),
        fc.integer({ min: -2, max: 800 }),
        (lookbackHours, silentHours) => {
          const ok = quietClusterSettingsProblems({ lookbackHours, silentHours }).length === 0;
          expect(ok).toBe(
            lookbackHours >= 2 &&
              lookbackHours <= MAX_QUIET_LOOKBACK_HOURS &&
              silentHours >= 1 &&
              silentHours < lookbackHours,
          );
          if (!ok) return;
          // Last seen in the oldest hour of the look-back: silent for longer than silentHours, so quiet.
          const completeThrough = '2025-01-03T12:15:00.000Z';
          const last = new Date(Date.parse('2025-01-03T12:00:00Z') - lookbackHours * 3_600_000).toISOString();
          const index = [{ account: '111122223333', cluster: 'prod-eu-1', lastEventHour: last }];
          expect(findQuietClusters(index, completeThrough, { lookbackHours, silentHours })).toEqual(index);
        },
      ),
    );
  });
});

describe('isClusterId', () => {
  it.each([
    ['111122223333/prod-eu-1', true],
    ['111122223333/_unknown', true],
    ['111122223333/Prod_EU_1', true],
    ['111122223333/-prod', false],
    ['111122223333/prod/eu', false],
    ['111122223333/', false],
    ['/prod-eu-1', false],
    ['11112222333/prod-eu-1', false],
    ['prod-eu-1', false],
    [`111122223333/${'a'.repeat(101)}`, false],
  ])('%s: %s', (id, expected) => {
    expect(isClusterId(id)).toBe(expected);
  });
});
