import { afterEach, describe, expect, it } from 'vitest';
import { runLocalWorkflow } from '../../src/adapters/local/local-workflow-runner.ts';
import { readWatermark, WATERMARK_LAG_METRIC } from '../../src/pipeline/ledger.ts';
import type { RunSummary } from '../../src/pipeline/workflow-tasks.ts';
import {
  cwlId,
  makeTestLake,
  observeRun,
  publishedRows,
  putRawObject,
  type TestLake,
} from '../statemachine/helpers/test-lake.ts';

// The first scheduled run on a bucket that already holds raw data: there is no watermark yet, so
// without a look-up it would list only the late look-back and start the watermark after it,
// leaving the older arrival hours out of curated/ for good with nothing alarming.

let lake: TestLake | undefined;
afterEach(() => lake?.cleanup());

const SCHEDULED = '2026-11-27T08:15:00Z';
const ids = async (l: TestLake) => (await publishedRows(l, 'audit_events')).map((r) => String(r.event_id));

/** A lake at 08:16 with the default 48-hour look-back and one raw object per given arrival. */
async function lakeWith(arrivals: readonly string[]): Promise<TestLake> {
  const l = makeTestLake('2026-11-27T08:16:00Z', { lateHorizonHours: 48, maxChunkObjects: 50 });
  for (const [i, at] of arrivals.entries()) await putRawObject(l, at, [{ id: String(100 + i), time: at }]);
  return l;
}

const observed = observeRun;

const watermarkOf = async (l: TestLake) => (await readWatermark(l.store))?.completeThrough;

describe('the first scheduled run on a bucket that already holds raw data', () => {
  it('names the backfill when raw data is older than the catch-up bound, keeps the watermark at the oldest hour, and that backfill brings the rest in', async () => {
    // 7 days old (past the 96-hour bound plus the look-back), 5 days old (past the bound) and 1 hour old.
    lake = await lakeWith(['2026-11-20T08:05:00Z', '2026-11-22T08:05:00Z', '2026-11-27T07:10:00Z']);
    const o = observed(lake);
    const run = await runLocalWorkflow({ scheduledTime: SCHEDULED }, { deps: o.deps });

    expect(run.status).toBe('SUCCEEDED');
    const backfill = { from: '2026-11-18T08:00:00.000Z', to: '2026-11-27T09:00:00.000Z' };
    expect(run.output as RunSummary).toMatchObject({
      objects: 2,
      failedItems: 0,
      watermark: null,
      backfillRequired: backfill,
    });
    // The run lists the newest 96 + 48 hours: the 5-day-old object is in, the 7-day-old one is not.
    expect(await ids(lake)).toEqual([cwlId('101'), cwlId('102')]);
    // The watermark starts at the oldest arrival hour, so LedgerFreshness shows the 7-day lag.
    expect(await watermarkOf(lake)).toBe('2026-11-20T08:00:00.000Z');
    expect(o.metrics.gauges.get(WATERMARK_LAG_METRIC.metricName)?.value).toBe(
      (Date.parse('2026-11-27T08:16:00Z') - Date.parse('2026-11-20T08:00:00Z')) / 1000,
    );
    expect(o.metrics.get('BackfillRequiredHours')).toBe(217);
    expect(o.errors.map((e) => e.fields?.startExecutionInput)).toContain(JSON.stringify(backfill));

    // The operator starts exactly the named backfill: its children move the watermark.
    lake.clock.current = new Date('2026-11-27T08:40:00Z');
    expect((await runLocalWorkflow(backfill, { deps: lake.deps })).status).toBe('SUCCEEDED');
    expect(await ids(lake)).toEqual([cwlId('100'), cwlId('101'), cwlId('102')]);
    expect(await watermarkOf(lake)).toBe('2026-11-27T08:40:00.000Z');

    lake.clock.current = new Date('2026-11-27T08:46:00Z');
    const next = await runLocalWorkflow({ scheduledTime: '2026-11-27T08:45:00Z' }, { deps: lake.deps });
    expect(next.output as RunSummary).toMatchObject({
      objects: 0,
      failedItems: 0,
      watermark: '2026-11-27T08:45:00.000Z',
      backfillRequired: null,
    });
  });

  it('catches up by itself when the oldest raw data is within the catch-up bound', async () => {
    // 3 days old: past the 48-hour look-back, inside the 96-hour bound.
    lake = await lakeWith(['2026-11-24T09:05:00Z', '2026-11-27T07:10:00Z']);
    const o = observed(lake);
    const run = await runLocalWorkflow({ scheduledTime: SCHEDULED }, { deps: o.deps });

    expect(run.output as RunSummary).toMatchObject({
      objects: 2,
      failedItems: 0,
      watermark: '2026-11-27T08:15:00.000Z',
      backfillRequired: null,
    });
    expect(await ids(lake)).toEqual([cwlId('100'), cwlId('101')]);
    expect(o.metrics.get('BackfillRequiredHours')).toBe(0);
    expect(o.errors).toEqual([]);
    // Listed from the look-back before the oldest hour, like a catch-up after an outage.
    expect(o.rawLists.find((p) => p.includes('/dt='))).toBe('raw/log_type=kube-apiserver-audit/dt=2026-11-22/hour=09/');
  });

  it.each([
    // [case, backfill from, whether it starts the watermark, raw objects it compacts]
    ['from the late look-back of the oldest raw hour', '2026-11-18T08:00:00Z', true, ['100', '101', '102']],
    ['from a day before that look-back', '2026-11-17T08:00:00Z', true, ['100', '101', '102']],
    ['from an hour after that look-back', '2026-11-18T09:00:00Z', false, ['100', '101', '102']],
    ['from the oldest raw hour itself', '2026-11-20T08:00:00Z', false, ['100', '101', '102']],
    ['of only the last 3 days of 7', '2026-11-24T08:00:00Z', false, ['101', '102']],
  ] as const)(
    'a backfill before any scheduled run %s (from %s) starts the watermark: %s',
    async (_, from, starts, compacted) => {
      // 7 days of raw data: the oldest arrival hour is 2026-11-20T08, its 48-hour look-back 2026-11-18T08.
      lake = await lakeWith(['2026-11-20T08:05:00Z', '2026-11-24T10:05:00Z', '2026-11-27T07:10:00Z']);
      const backfill = await runLocalWorkflow({ from, to: '2026-11-27T09:00:00Z' }, { deps: lake.deps });
      expect(backfill.status).toBe('SUCCEEDED');
      expect(await ids(lake)).toEqual(compacted.map(cwlId));
      // Children run oldest first: the first starts it, each next one continues where it stopped (at listing time).
      expect(await watermarkOf(lake)).toBe(starts ? '2026-11-27T08:16:00.000Z' : undefined);

      lake.clock.current = new Date('2026-11-27T08:46:00Z');
      const o = observed(lake);
      const run = await runLocalWorkflow({ scheduledTime: '2026-11-27T08:45:00Z' }, { deps: o.deps });
      expect(run.status).toBe('SUCCEEDED');
      if (starts) {
        // Everything is compacted and the schedule says so: no backfill named, no error.
        expect(run.output as RunSummary).toMatchObject({
          objects: 0,
          failedItems: 0,
          watermark: '2026-11-27T08:45:00.000Z',
          backfillRequired: null,
        });
        expect(o.metrics.get('BackfillRequiredHours')).toBe(0);
        expect(o.errors).toEqual([]);
      } else {
        // The backfill left hours before it unlisted: the schedule names the one that reaches them.
        const named = { from: '2026-11-18T08:00:00.000Z', to: '2026-11-27T09:00:00.000Z' };
        expect(run.output as RunSummary).toMatchObject({ watermark: null, backfillRequired: named });
        expect(await watermarkOf(lake)).toBe('2026-11-20T08:00:00.000Z');
        expect(o.errors.map((e) => e.fields?.startExecutionInput)).toContain(JSON.stringify(named));
      }
    },
  );

  it.each([
    ['an empty bucket', []],
    ['raw data inside the late look-back only', ['2026-11-25T09:05:00Z', '2026-11-27T07:10:00Z']],
  ] as const)('behaves as before with %s: lists the late look-back and starts the watermark', async (_, arrivals) => {
    lake = await lakeWith(arrivals);
    const o = observed(lake);
    const run = await runLocalWorkflow({ scheduledTime: SCHEDULED }, { deps: o.deps });

    expect(run.output as RunSummary).toMatchObject({
      objects: arrivals.length,
      failedItems: 0,
      watermark: '2026-11-27T08:15:00.000Z',
      backfillRequired: null,
    });
    expect(await ids(lake)).toEqual(arrivals.map((_, i) => cwlId(String(100 + i))));
    const hours = [
      ...new Set(o.rawLists.filter((p) => p.includes('/dt=')).map((p) => p.split('/').slice(2, 4).join('/'))),
    ];
    expect(hours[0]).toBe('dt=2026-11-25/hour=08');
    expect(hours.at(-1)).toBe('dt=2026-11-27/hour=08');
    expect(o.metrics.get('BackfillRequiredHours')).toBe(0);
    expect(o.errors).toEqual([]);
  });
});
