import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ClusterSighting,
  DEFAULT_QUIET_CLUSTER_SETTINGS,
  findQuietClusters,
  mergeSightings,
  parseSightings,
  sightingsKeepFromMs,
  sightingsOf,
} from '../../../src/core/workflow/quiet-clusters.ts';

const ACCOUNT = '111122223333';
const seen = (cluster: string, lastEventHour: string, account = ACCOUNT): ClusterSighting => ({
  account,
  cluster,
  lastEventHour: new Date(lastEventHour).toISOString(),
});

// Watermark 12:15: arrival hours before 12:00 are complete, so 10:00 and 11:00 are the silent window.
const COMPLETE_THROUGH = '2025-01-03T12:15:00.000Z';

describe('findQuietClusters', () => {
  it.each([
    ['seen in the last complete hour', '2025-01-03T11:00Z', false],
    ['seen in the older of the two silent hours', '2025-01-03T10:00Z', false],
    ['seen in the incomplete hour of the watermark', '2025-01-03T12:00Z', false],
    ['silent for exactly two complete hours', '2025-01-03T09:00Z', true],
    ['silent for five hours', '2025-01-03T06:00Z', true],
    ['last seen at the start of the 24-hour look-back', '2025-01-02T12:00Z', true],
    ['last seen an hour before the look-back', '2025-01-02T11:00Z', false],
    ['seen only once, 30 hours ago', '2025-01-02T06:00Z', false],
  ])('when a cluster was %s, reports it quiet: %s', (_what, last, quiet) => {
    const index = [seen('prod-eu-1', last)];
    expect(findQuietClusters(index, COMPLETE_THROUGH, DEFAULT_QUIET_CLUSTER_SETTINGS)).toEqual(quiet ? index : []);
  });

  it.each([
    ['on the hour', '2025-01-03T12:00:00.000Z', ['a']],
    ['a minute before the hour', '2025-01-03T11:59:00.000Z', []],
    ['late in the hour', '2025-01-03T12:59:59.999Z', ['a']],
  ])('counts complete hours from the watermark floored to its hour when it stands %s', (_what, wm, quiet) => {
    const index = [seen('a', '2025-01-03T09:00Z'), seen('b', '2025-01-03T11:00Z')];
    const got = findQuietClusters(index, wm, DEFAULT_QUIET_CLUSTER_SETTINGS);
    expect(got.map((s) => s.cluster)).toEqual(quiet);
  });

  it('reports nothing before there is a watermark', () => {
    expect(findQuietClusters([seen('a', '2025-01-01T00:00Z')], null, DEFAULT_QUIET_CLUSTER_SETTINGS)).toEqual([]);
  });

  it('leaves out ignored clusters by account/cluster, not by cluster name alone', () => {
    const index = [seen('old', '2025-01-03T05:00Z'), seen('old', '2025-01-03T05:00Z', '444455556666')];
    const settings = { ...DEFAULT_QUIET_CLUSTER_SETTINGS, ignored: [`${ACCOUNT}/old`] };
    expect(findQuietClusters(index, COMPLETE_THROUGH, settings)).toEqual([index[1]]);
  });

  it('lists the longest silent first, then by account/cluster', () => {
    const index = [
      seen('c', '2025-01-03T08:00Z'),
      seen('b', '2025-01-03T05:00Z'),
      seen('a', '2025-01-03T08:00Z'),
      seen('d', '2025-01-03T11:00Z'),
    ];
    const got = findQuietClusters(index, COMPLETE_THROUGH, DEFAULT_QUIET_CLUSTER_SETTINGS);
    expect(got.map((s) => s.cluster)).toEqual(['b', 'a', 'c']);
  });

  it.each([
    [{ lookbackHours: 24, silentHours: 1 }, ['9', '10']],
    [{ lookbackHours: 24, silentHours: 3 }, []],
    [{ lookbackHours: 2, silentHours: 1 }, ['10']],
  ])('follows the configured hours %j', (settings, quiet) => {
    const index = [seen('9', '2025-01-03T09:00Z'), seen('10', '2025-01-03T10:00Z'), seen('11', '2025-01-03T11:00Z')];
    const got = findQuietClusters(index, COMPLETE_THROUGH, settings);
    expect(got.map((s) => s.cluster)).toEqual(quiet);
  });
});

describe('sightingsOf and mergeSightings', () => {
  it('keeps the newest event hour per account/cluster from partition values', () => {
    expect(
      sightingsOf([
        [ACCOUNT, 'prod-eu-1', '2025-01-03', '09'],
        [ACCOUNT, 'prod-eu-1', '2025-01-03', '11'],
        [ACCOUNT, 'prod-eu-1', '2025-01-02', '23'],
        ['444455556666', 'prod-eu-1', '2025-01-03', '07'],
      ]),
    ).toEqual([seen('prod-eu-1', '2025-01-03T11:00Z'), seen('prod-eu-1', '2025-01-03T07:00Z', '444455556666')]);
  });

  it('never moves a cluster back, and forgets clusters last seen before the look-back', () => {
    const index = [seen('a', '2025-01-03T10:00Z'), seen('gone', '2025-01-02T11:00Z')];
    const keepFrom = sightingsKeepFromMs(COMPLETE_THROUGH, DEFAULT_QUIET_CLUSTER_SETTINGS);
    expect(keepFrom).toBe(Date.parse('2025-01-02T12:00Z'));
    const merged = mergeSightings(index, [seen('a', '2025-01-03T08:00Z'), seen('b', '2025-01-03T11:00Z')], keepFrom);
    expect(merged).toEqual([seen('a', '2025-01-03T10:00Z'), seen('b', '2025-01-03T11:00Z')]);
    // With no watermark nothing is known to be old: everything stays.
    expect(mergeSightings(index, [], sightingsKeepFromMs(null, DEFAULT_QUIET_CLUSTER_SETTINGS))).toEqual(index);
  });

  const sighting = fc.record({
    account: fc.constantFrom(ACCOUNT, '444455556666'),
    cluster: fc.constantFrom('a', 'b', 'c', 'prod-eu-1'),
    lastEventHour: fc.integer({ min: 0, max: 72 }).map((h) => new Date(Date.UTC(2025, 0, 1, h)).toISOString()),
  });

  it('gives the same index whatever the order and batching of runs, and a repeat changes nothing', () => {
    fc.assert(
      fc.property(fc.array(sighting, { maxLength: 30 }), fc.integer({ min: 0, max: 30 }), (all, cut) => {
        const once = mergeSightings([], all, null);
        const inTwoRuns = mergeSightings(mergeSightings([], all.slice(cut), null), all.slice(0, cut), null);
        expect(inTwoRuns).toEqual(once);
        expect(mergeSightings([], [...all].reverse(), null)).toEqual(once);
        expect(mergeSightings(once, all, null)).toEqual(once);
      }),
    );
  });

  it('never reports a cluster seen in a silent hour, or one older than the look-back', () => {
    fc.assert(
      fc.property(
        fc.array(sighting, { maxLength: 30 }),
        fc.integer({ min: 0, max: 80 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 48 }),
        (all, wmHour, silentHours, lookbackHours) => {
          const wm = new Date(Date.UTC(2025, 0, 1, wmHour, 20)).toISOString();
          const index = mergeSightings([], all, null);
          const quiet = findQuietClusters(index, wm, { silentHours, lookbackHours });
          const ref = Date.UTC(2025, 0, 1, wmHour);
          for (const s of quiet) {
            expect(index).toContainEqual(s);
            expect(Date.parse(s.lastEventHour)).toBeLessThan(ref - silentHours * 3_600_000);
            expect(Date.parse(s.lastEventHour)).toBeGreaterThanOrEqual(ref - lookbackHours * 3_600_000);
          }
          // Pruning to the look-back never changes the answer.
          const pruned = mergeSightings(index, [], sightingsKeepFromMs(wm, { silentHours, lookbackHours }));
          expect(findQuietClusters(pruned, wm, { silentHours, lookbackHours })).toEqual(quiet);
        },
      ),
    );
  });
});

describe('parseSightings', () => {
  it.each([
    ['not JSON', '{"clusters": ['],
    ['JSON null', 'null'],
    ['no list', '{"clusters": {}}'],
    ['an entry without an hour', `{"clusters": [{"account": "${ACCOUNT}", "cluster": "a"}]}`],
    ['an hour that is no time', `{"clusters": [{"account": "${ACCOUNT}", "cluster": "a", "lastEventHour": "soon"}]}`],
  ])('answers null for %s', (_what, text) => {
    expect(parseSightings(text)).toBeNull();
  });

  it('reads back what it stores', () => {
    const index = [seen('a', '2025-01-03T10:00Z')];
    expect(parseSightings(JSON.stringify({ clusters: index }))).toEqual(index);
  });
});
