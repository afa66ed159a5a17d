import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryLog } from '../../functions/shared/logger.ts';
import { createMemoryMetrics } from '../../functions/shared/metrics.ts';
import { readQuietClusters } from '../../functions/shared/workflow-config.ts';
import { createLocalWorkflowDeps } from '../../src/adapters/local/local-workflow-deps.ts';
import { runLocalWorkflow } from '../../src/adapters/local/local-workflow-runner.ts';
import { ConfigError } from '../../src/core/errors.ts';
import type { QuietClusterSettings } from '../../src/core/workflow/quiet-clusters.ts';
import {
  CLUSTER_SIGHTINGS_KEY,
  QUIET_CLUSTERS_METRIC,
  readClusterSightings,
  readPartitionLedger,
} from '../../src/pipeline/ledger.ts';
import { makeTestLake, putRawObject, RecordingEngine, type TestLake } from '../statemachine/helpers/test-lake.ts';

let lake: TestLake;
afterEach(() => lake?.cleanup());

const ACCOUNT = '111122223333';
let nextId = 0;

/** One raw object per cluster for each arrival hour, arriving at :30 with an event a minute older. */
async function deliver(l: TestLake, clusters: readonly string[], hours: readonly string[]): Promise<void> {
  for (const hour of hours) {
    for (const cluster of clusters) {
      const arrived = new Date(Date.parse(`${hour}:30:00Z`));
      const time = new Date(arrived.getTime() - 60_000).toISOString();
      await putRawObject(l, arrived.toISOString(), [{ id: String(++nextId), time, cluster }]);
    }
  }
}

/** Runs the scheduled window ending at `end` (the clock five minutes later) and returns what WriteLedger reported. */
async function runAt(l: TestLake, end: string) {
  const metrics = createMemoryMetrics();
  const log = createMemoryLog();
  l.clock.current = new Date(Date.parse(end) + 5 * 60_000);
  const run = await runLocalWorkflow({ scheduledTime: end }, { deps: { ...l.deps, metrics, log } });
  expect(run.status).toBe('SUCCEEDED');
  const warning = log.entries.find((e) => e.level === 'warn' && e.message.startsWith('clusters went quiet'));
  return {
    quiet: metrics.gauges.get(QUIET_CLUSTERS_METRIC.metricName),
    named: (warning?.fields.clusters ?? []) as { account: string; cluster: string; lastEventHour: string }[],
  };
}

const hours = (day: string, from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `${day}T${String(from + i).padStart(2, '0')}`);

describe('quiet clusters', () => {
  it.each<{
    name: string;
    deliveries: [string[], string[]][];
    settings?: QuietClusterSettings;
    named: { cluster: string; lastEventHour: string }[];
  }>([
    {
      name: 'reports 0 when every cluster delivered in each hour',
      deliveries: [[['prod-eu-1', 'prod-us-2'], hours('2025-01-03', 6, 11)]],
      named: [],
    },
    {
      name: 'names a cluster that delivered for hours and then nothing for two complete hours',
      deliveries: [
        [['prod-eu-1'], hours('2025-01-03', 6, 11)],
        [['prod-us-2'], hours('2025-01-03', 6, 9)],
      ],
      named: [{ cluster: 'prod-us-2', lastEventHour: '2025-01-03T09:00:00.000Z' }],
    },
    {
      name: 'does not count a cluster that only ever delivered once, 30 hours ago',
      deliveries: [
        [['once'], ['2025-01-02T06']],
        [['prod-eu-1'], hours('2025-01-03', 9, 11)],
      ],
      named: [],
    },
    {
      name: 'does not count a cluster on the ignore list',
      deliveries: [
        [['prod-eu-1'], hours('2025-01-03', 6, 11)],
        [['retired'], hours('2025-01-03', 6, 8)],
      ],
      settings: { lookbackHours: 24, silentHours: 2, ignored: [`${ACCOUNT}/retired`] },
      named: [],
    },
  ])('$name', async ({ deliveries, settings, named }) => {
    // A 48-hour late horizon lets the one run list every delivery, the 30-hour-old one too.
    lake = makeTestLake('2025-01-03T12:05:00Z', { lateHorizonHours: 48, quietClusters: settings });
    for (const [clusters, at] of deliveries) await deliver(lake, clusters, at);
    const got = await runAt(lake, '2025-01-03T12:00:00Z');
    expect(got.quiet).toEqual({ value: named.length, unit: 'Count' });
    expect(got.named).toEqual(named.map((n) => ({ account: ACCOUNT, ...n })));
    // The run did compact every delivery, the old one too: what is not named was seen and judged.
    for (const [clusters, at] of deliveries) {
      for (const cluster of clusters) {
        const [dt, hour] = at.at(-1)!.split('T') as [string, string];
        expect(await readPartitionLedger(lake.store, [ACCOUNT, cluster, dt, hour]), cluster).toBeDefined();
      }
    }
  });

  it.each([
    ['the defaults', {}, ['retired', 'stopped']],
    ['QUIET_CLUSTERS_IGNORED naming one', { QUIET_CLUSTERS_IGNORED: `${ACCOUNT}/retired` }, ['stopped']],
    ['QUIET_CLUSTERS_SILENT_HOURS of 4', { QUIET_CLUSTERS_SILENT_HOURS: '4' }, ['retired']],
    ['a look-back that no longer reaches them', { QUIET_CLUSTERS_LOOKBACK_HOURS: '3' }, []],
  ])('counts the clusters the WriteLedger environment asks for: %s', async (_, env, named) => {
    lake = makeTestLake('2025-01-03T12:05:00Z', { lateHorizonHours: 48, quietClusters: readQuietClusters(env) });
    await deliver(lake, ['prod-eu-1'], hours('2025-01-03', 6, 11));
    await deliver(lake, ['retired'], hours('2025-01-03', 6, 7));
    await deliver(lake, ['stopped'], hours('2025-01-03', 6, 8));
    const got = await runAt(lake, '2025-01-03T12:00:00Z');
    expect(got.named.map((n) => n.cluster)).toEqual(named);
    expect(got.quiet).toEqual({ value: named.length, unit: 'Count' });
  });

  it.each([
    [
      { lookbackHours: 24, silentHours: 24 },
      'workflow config quietClusters.silentHours must be below lookbackHours (24), got 24',
    ],
    [
      { lookbackHours: 24, silentHours: 2, ignored: ['retired'] },
      'workflow config quietClusters.ignored[0] "retired" is not valid (<12-digit account>/<EKS cluster name>',
    ],
  ])(
    'the local composition refuses quiet-cluster settings the deployment would refuse: %j',
    (quietClusters, message) => {
      lake = makeTestLake('2025-01-03T12:05:00Z');
      const open = () =>
        createLocalWorkflowDeps({
          store: lake.store,
          catalog: lake.catalog,
          engine: new RecordingEngine(),
          config: { quietClusters },
        });
      expect(open).toThrow(ConfigError);
      expect(open).toThrow(message);
    },
  );

  it('alarms only after two silent complete hours, clears when the cluster is back, and forgets it a day after its last event', async () => {
    lake = makeTestLake('2025-01-03T10:05:00Z');
    await deliver(lake, ['prod-eu-1', 'prod-us-2'], hours('2025-01-03', 7, 9));
    expect((await runAt(lake, '2025-01-03T10:00:00Z')).quiet?.value).toBe(0);

    // prod-us-2 stops after 09:xx: one silent hour is not enough, two are.
    await deliver(lake, ['prod-eu-1'], ['2025-01-03T10']);
    expect((await runAt(lake, '2025-01-03T11:00:00Z')).quiet?.value).toBe(0);
    await deliver(lake, ['prod-eu-1'], ['2025-01-03T11']);
    const silent = await runAt(lake, '2025-01-03T12:00:00Z');
    expect(silent.quiet?.value).toBe(1);
    expect(silent.named).toEqual([
      { account: ACCOUNT, cluster: 'prod-us-2', lastEventHour: '2025-01-03T09:00:00.000Z' },
    ]);
    // A redrive-like repeat of the window reports the same and leaves the index as it was.
    const index = await lake.store.get(CLUSTER_SIGHTINGS_KEY);
    expect((await runAt(lake, '2025-01-03T12:00:00Z')).quiet?.value).toBe(1);
    expect((await lake.store.get(CLUSTER_SIGHTINGS_KEY))?.etag).toBe(index?.etag);

    // It delivers again: no longer quiet.
    await deliver(lake, ['prod-eu-1', 'prod-us-2'], ['2025-01-03T12']);
    expect((await runAt(lake, '2025-01-03T13:00:00Z')).quiet?.value).toBe(0);

    // prod-eu-1 is decommissioned after 12:xx: it alarms, then drops out 24 hours after its last event hour.
    await deliver(lake, ['prod-us-2'], hours('2025-01-03', 13, 14));
    expect((await runAt(lake, '2025-01-03T15:00:00Z')).named.map((n) => n.cluster)).toEqual(['prod-eu-1']);
    await deliver(lake, ['prod-us-2'], [...hours('2025-01-03', 15, 23), ...hours('2025-01-04', 0, 11)]);
    expect((await runAt(lake, '2025-01-04T12:00:00Z')).named.map((n) => n.cluster)).toEqual(['prod-eu-1']);
    await deliver(lake, ['prod-us-2'], ['2025-01-04T12']);
    expect((await runAt(lake, '2025-01-04T13:00:00Z')).quiet?.value).toBe(0);
    expect((await readClusterSightings(lake.store)).map((s) => s.cluster)).toEqual(['prod-us-2']);
  });

  it('starts the index afresh when it is not readable, and still reports', async () => {
    lake = makeTestLake('2025-01-03T12:05:00Z');
    await lake.store.put(CLUSTER_SIGHTINGS_KEY, '{"clusters": [');
    await deliver(lake, ['prod-eu-1'], hours('2025-01-03', 9, 11));
    expect((await runAt(lake, '2025-01-03T12:00:00Z')).quiet?.value).toBe(0);
    expect(await readClusterSightings(lake.store)).toEqual([
      { account: ACCOUNT, cluster: 'prod-eu-1', lastEventHour: '2025-01-03T11:00:00.000Z' },
    ]);
  });
});
