import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readTransformConfig, type TransformConfig } from '../../functions/shared/config.ts';
import { createMemoryLog } from '../../functions/shared/logger.ts';
import { createMemoryMetrics } from '../../functions/shared/metrics.ts';
import { makeHandler } from '../../functions/transform.ts';
import { RecordingReingester } from '../../src/adapters/local/recording-reingester.ts';
import type { NonEksLogGroupMode } from '../../src/core/transform/index.ts';
import {
  ACCOUNT,
  controlMessage,
  decodeOkLines,
  encodeMessage,
  events,
  firehoseEvent,
  LOG_GROUP,
  message,
  OTHER_ACCOUNT,
  STREAMS,
} from '../unit/transform/builders.ts';

// Reliability matrix row 14: records from log groups that are not `/aws/eks/<cluster>/cluster`,
// as an account-level subscription policy delivers them, under each `nonEksLogGroups` mode.

const SAMPLES = join(__dirname, '..', 'fixtures', 'samples');
const readLines = (file: string) =>
  readFileSync(join(SAMPLES, file), 'utf8')
    .split('\n')
    .filter((l) => l !== '');

type StreamType = keyof typeof STREAMS;
/** The shared real log lines of each stream type (multi-line klog records are stored as JSON strings). */
const SAMPLE: Record<StreamType, string[]> = {
  'kube-apiserver-audit': readLines('kube-apiserver-audit.ndjson'),
  'kube-apiserver': [
    ...readLines('kube-apiserver.log'),
    ...readLines('kube-apiserver.multiline.jsonl').map((l) => JSON.parse(l) as string),
  ],
  'kube-scheduler': readLines('kube-scheduler.log'),
  'kube-controller-manager': readLines('kube-controller-manager.log'),
  'cloud-controller-manager': readLines('cloud-controller-manager.log'),
  authenticator: readLines('authenticator.log'),
};

interface Sent {
  readonly name: string;
  readonly eks: boolean;
  readonly data: string;
  readonly events: number;
}

function sent(name: string, eks: boolean, logGroup: string, logStream: string, lines: readonly string[]): Sent {
  const data = encodeMessage(message({ logGroup, logStream, logEvents: events(lines) }));
  return { name, eks, data, events: lines.length };
}

const UNKNOWN_STREAM = 'etcd-0f1e2d3c4b5a69788796a5b4c3d2e1f0';

/** One record per stream type in the cluster group, and an EKS stream of no known type. */
const EKS_RECORDS: Sent[] = [
  ...(Object.keys(STREAMS) as StreamType[]).map((t) => sent(`${t} stream`, true, LOG_GROUP, STREAMS[t], SAMPLE[t])),
  sent('unknown stream of a cluster group', true, LOG_GROUP, UNKNOWN_STREAM, SAMPLE['kube-apiserver'].slice(0, 3)),
];

/** Groups an account-level policy sends besides the clusters', and look-alikes of the cluster group. */
const NON_EKS_RECORDS: Sent[] = [
  sent(
    'Lambda group',
    false,
    '/aws/lambda/payments-api',
    '2026/11/27/[$LATEST]4d3c2b1a0f9e8d7c6b5a49382716f5e4',
    SAMPLE.authenticator,
  ),
  sent(
    'Container Insights application group',
    false,
    '/aws/containerinsights/prod-payments/application',
    'ip-10-0-102-34.ec2.internal-application.var.log.containers.scheduler',
    SAMPLE['kube-scheduler'],
  ),
  sent(
    'custom group holding audit lines under an EKS stream name',
    false,
    '/custom/eks-audit',
    STREAMS['kube-apiserver-audit'],
    SAMPLE['kube-apiserver-audit'],
  ),
  sent(
    'group with a suffix after /cluster',
    false,
    `${LOG_GROUP}/extra`,
    STREAMS['kube-apiserver'],
    SAMPLE['kube-apiserver'].slice(0, 2),
  ),
  sent('group without a cluster name', false, '/aws/eks//cluster', STREAMS['kube-scheduler'], SAMPLE['kube-scheduler']),
  sent(
    'group whose cluster part holds a slash',
    false,
    '/aws/eks/prod/payments/cluster',
    STREAMS['kube-controller-manager'],
    SAMPLE['kube-controller-manager'],
  ),
];

// Interleaved, so positions in the batch do not line up with kinds.
const BATCH: Sent[] = EKS_RECORDS.flatMap((r, i) => (NON_EKS_RECORDS[i] ? [r, NON_EKS_RECORDS[i]!] : [r]));
const NON_EKS_EVENTS = NON_EKS_RECORDS.reduce((n, r) => n + r.events, 0);
const UNKNOWN_STREAM_EVENTS = 3;

const BASE_CONFIG: TransformConfig = readTransformConfig({
  AWS_REGION: 'eu-west-1',
  ALLOWED_ACCOUNTS: ACCOUNT,
  DELIVERY_STREAM_NAME: 'eks-log-lake-raw',
});

async function transform(mode: NonEksLogGroupMode | undefined, datas: readonly string[], budget?: number) {
  const log = createMemoryLog();
  const metrics = createMemoryMetrics();
  const config: TransformConfig = {
    ...BASE_CONFIG,
    nonEksLogGroups: mode,
    responseBudgetBytes: budget ?? BASE_CONFIG.responseBudgetBytes,
  };
  const handler = makeHandler({ config, reingester: new RecordingReingester(), log, metrics });
  const event = firehoseEvent(datas);
  const response = await handler(event);
  return { event, response, metrics, summary: log.entries.at(-1)!.fields as Record<string, unknown> };
}

interface ModeRow {
  readonly mode: NonEksLogGroupMode;
  readonly nonEksResult: 'Ok' | 'Dropped' | 'ProcessingFailed';
  readonly metrics: Record<string, number>;
  readonly failures: Record<string, number>;
}

const N = NON_EKS_RECORDS.length;
const MODES: ModeRow[] = [
  {
    mode: 'keep',
    nonEksResult: 'Ok',
    metrics: {
      records_ok: BATCH.length,
      records_dropped: 0,
      records_failed: 0,
      events_unknown_log_group: NON_EKS_EVENTS,
      events_unknown_stream: UNKNOWN_STREAM_EVENTS,
      records_non_eks_dropped: 0,
      events_non_eks_dropped: 0,
      records_non_eks_quarantined: 0,
      events_non_eks_quarantined: 0,
      events_dropped: 0,
      events_failed: 0,
      decode_failed: 0,
    },
    failures: {},
  },
  {
    mode: 'drop',
    nonEksResult: 'Dropped',
    metrics: {
      records_ok: BATCH.length - N,
      records_dropped: N,
      records_failed: 0,
      events_unknown_log_group: 0,
      events_unknown_stream: UNKNOWN_STREAM_EVENTS,
      records_non_eks_dropped: N,
      events_non_eks_dropped: NON_EKS_EVENTS,
      records_non_eks_quarantined: 0,
      events_non_eks_quarantined: 0,
      events_dropped: NON_EKS_EVENTS,
      events_failed: 0,
      decode_failed: 0,
    },
    failures: {},
  },
  {
    mode: 'quarantine',
    nonEksResult: 'ProcessingFailed',
    metrics: {
      records_ok: BATCH.length - N,
      records_dropped: 0,
      records_failed: N,
      events_unknown_log_group: 0,
      events_unknown_stream: UNKNOWN_STREAM_EVENTS,
      records_non_eks_dropped: 0,
      events_non_eks_dropped: 0,
      records_non_eks_quarantined: N,
      events_non_eks_quarantined: NON_EKS_EVENTS,
      events_dropped: 0,
      events_failed: NON_EKS_EVENTS,
      // Quarantined on purpose, not undecodable: the decode alarm stays quiet.
      decode_failed: 0,
    },
    failures: { non_eks_log_group: N },
  },
];

describe('transform handler: non-EKS log groups (row 14)', () => {
  it('reads real samples into a batch of EKS and non-EKS records', () => {
    for (const r of BATCH) expect(r.events, r.name).toBeGreaterThan(0);
    expect(NON_EKS_EVENTS).toBeGreaterThan(N);
  });

  it.each(MODES)('answers non-EKS records $nonEksResult and counts them when the mode is $mode', async (row) => {
    const { response, metrics, summary } = await transform(
      row.mode,
      BATCH.map((r) => r.data),
    );
    expect(response.records.map((r) => r.result)).toEqual(BATCH.map((r) => (r.eks ? 'Ok' : row.nonEksResult)));
    for (const [name, value] of Object.entries(row.metrics)) expect(metrics.get(name), name).toBe(value);
    expect(summary.failures).toEqual(row.failures);
    expect(summary).toMatchObject({
      records_non_eks_dropped: row.metrics.records_non_eks_dropped,
      records_non_eks_quarantined: row.metrics.records_non_eks_quarantined,
    });
    const failed = summary.failed_records as { recordId: string; reason: string }[];
    expect(failed.map((f) => f.reason)).toEqual(row.mode === 'quarantine' ? Array(N).fill('non_eks_log_group') : []);
    BATCH.forEach((r, i) => {
      if (r.eks || row.nonEksResult === 'Ok') return;
      expect(response.records[i]!.data, r.name).toBeUndefined();
      expect(response.records[i]!.metadata, r.name).toBeUndefined();
    });
  });

  it.each(['drop', 'quarantine'] as const)(
    'answers EKS records in %s mode exactly as in keep mode, unknown streams included',
    async (mode) => {
      const keep = await transform(
        'keep',
        BATCH.map((r) => r.data),
      );
      const other = await transform(
        mode,
        BATCH.map((r) => r.data),
      );
      BATCH.forEach((r, i) => {
        if (r.eks) expect(other.response.records[i], r.name).toEqual(keep.response.records[i]);
      });
      const unknown = BATCH.findIndex((r) => r.name.startsWith('unknown stream'));
      expect(other.response.records[unknown]!.metadata).toEqual({ partitionKeys: { log_type: 'unknown' } });
      const lines = decodeOkLines(other.response.records[unknown]!.data!).map((l) => JSON.parse(l));
      for (const l of lines) expect(l).toMatchObject({ log_type: 'unknown', cluster: 'prod-payments' });
    },
  );

  it('keeps non-EKS records under log_type=unknown with no cluster by default (keep)', async () => {
    const byDefault = await transform(
      undefined,
      BATCH.map((r) => r.data),
    );
    const keep = await transform(
      'keep',
      BATCH.map((r) => r.data),
    );
    expect(byDefault.response).toEqual(keep.response);
    BATCH.forEach((r, i) => {
      if (r.eks) return;
      const rec = keep.response.records[i]!;
      expect(rec.metadata, r.name).toEqual({ partitionKeys: { log_type: 'unknown' } });
      const lines = decodeOkLines(rec.data!).map((l) => JSON.parse(l));
      expect(lines, r.name).toHaveLength(r.events);
      for (const l of lines) expect(l).toMatchObject({ log_type: 'unknown', cluster: null, account: ACCOUNT });
    });
  });

  interface PrecedenceRow {
    readonly name: string;
    readonly data: string;
    readonly result: 'Dropped' | 'ProcessingFailed';
    readonly metric: string;
  }
  const PRECEDENCE: PrecedenceRow[] = [
    {
      name: 'an owner outside the allow-list',
      data: encodeMessage(
        message({
          owner: OTHER_ACCOUNT,
          logGroup: '/aws/lambda/payments-api',
          logStream: '2026/11/27/[$LATEST]abc',
          logEvents: events(SAMPLE.authenticator),
        }),
      ),
      result: 'ProcessingFailed',
      metric: 'owner_not_allowed',
    },
    {
      name: 'a CONTROL_MESSAGE (its log group is empty)',
      data: encodeMessage(controlMessage()),
      result: 'Dropped',
      metric: 'control_messages',
    },
    {
      name: 'a DATA_MESSAGE without events',
      data: encodeMessage(message({ logGroup: '/aws/lambda/payments-api', logStream: 's', logEvents: [] })),
      result: 'Dropped',
      metric: 'empty_data_messages',
    },
  ];
  const PRECEDENCE_CASES = PRECEDENCE.flatMap((p) =>
    (['keep', 'drop', 'quarantine'] as const).map((mode) => ({ ...p, mode })),
  );

  it.each(PRECEDENCE_CASES)(
    'answers $name from a non-EKS group $result and counts it as before when the mode is $mode',
    async ({ data, result, metric, mode }) => {
      const { response, metrics } = await transform(mode, [data]);
      expect(response.records.map((r) => r.result)).toEqual([result]);
      expect(metrics.get(metric)).toBe(1);
      expect(metrics.get('records_non_eks_dropped') + metrics.get('records_non_eks_quarantined')).toBe(0);
    },
  );
});

describe('transform handler: non-EKS log group properties', () => {
  const TYPES = Object.keys(STREAMS) as StreamType[];
  const GROUPS = [
    { logGroup: LOG_GROUP, eks: true },
    { logGroup: '/aws/eks/staging_2/cluster', eks: true },
    { logGroup: '/aws/lambda/app', eks: false },
    { logGroup: '/aws/rds/instance/db/error', eks: false },
    { logGroup: '/eks/prod-payments/cluster', eks: false },
  ];
  interface Spec {
    readonly group: number;
    readonly type: number;
    readonly events: number;
  }
  const specArb: fc.Arbitrary<Spec> = fc.record({
    group: fc.nat(GROUPS.length - 1),
    type: fc.nat(TYPES.length - 1),
    events: fc.integer({ min: 0, max: 40 }),
  });
  const batchArb = fc.array(specArb, { minLength: 1, maxLength: 30 });

  function build(specs: readonly Spec[]) {
    return specs.map((s) => {
      const type = TYPES[s.type]!;
      const lines = SAMPLE[type];
      const logEvents = events(Array.from({ length: s.events }, (_, i) => lines[i % lines.length]!));
      const { logGroup, eks } = GROUPS[s.group]!;
      return { data: encodeMessage(message({ logGroup, logStream: STREAMS[type], logEvents })), events: s.events, eks };
    });
  }

  it('answers EKS records the same in every mode and accounts for every non-EKS event once', async () => {
    await fc.assert(
      fc.asyncProperty(batchArb, async (specs) => {
        const built = build(specs);
        const datas = built.map((b) => b.data);
        const keep = await transform('keep', datas);
        const nonEks = built.filter((b) => !b.eks && b.events > 0);
        const nonEksEvents = nonEks.reduce((n, b) => n + b.events, 0);
        expect(keep.metrics.get('events_unknown_log_group')).toBe(nonEksEvents);
        for (const mode of ['drop', 'quarantine'] as const) {
          const run = await transform(mode, datas);
          const s = run.summary as Record<string, number>;
          expect(s.events_in).toBe(s.events_out + s.events_dropped + s.events_failed + s.events_reingested);
          built.forEach((b, i) => {
            if (b.eks || b.events === 0) expect(run.response.records[i]).toEqual(keep.response.records[i]);
            else expect(run.response.records[i]!.result).toBe(mode === 'drop' ? 'Dropped' : 'ProcessingFailed');
          });
          const suffix = mode === 'drop' ? 'dropped' : 'quarantined';
          expect(run.metrics.get(`events_non_eks_${suffix}`)).toBe(nonEksEvents);
          expect(run.metrics.get(`records_non_eks_${suffix}`)).toBe(nonEks.length);
          expect(run.metrics.get('events_unknown_log_group')).toBe(0);
          expect(run.metrics.get('records_ok')).toBe(built.filter((b) => b.eks && b.events > 0).length);
        }
      }),
      { numRuns: 20 },
    );
  });

  it('keeps every answer within a tight response budget in drop and quarantine modes', async () => {
    await fc.assert(
      fc.asyncProperty(batchArb, fc.integer({ min: 2_000, max: 60_000 }), async (specs, budget) => {
        const built = build(specs);
        for (const mode of ['drop', 'quarantine'] as const) {
          const { event, response, summary } = await transform(
            mode,
            built.map((b) => b.data),
            budget,
          );
          expect(response.records.map((r) => r.recordId)).toEqual(event.records.map((r) => r.recordId));
          expect(Buffer.byteLength(JSON.stringify(response))).toBeLessThanOrEqual(budget);
          const s = summary as Record<string, number>;
          expect(s.events_in).toBe(s.events_out + s.events_dropped + s.events_failed + s.events_reingested);
          built.forEach((b, i) => {
            if (!b.eks && b.events > 0) {
              expect(response.records[i]!.result).toBe(mode === 'drop' ? 'Dropped' : 'ProcessingFailed');
            }
          });
        }
      }),
      { numRuns: 20 },
    );
  });
});
