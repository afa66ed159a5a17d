import { gunzipSync, gzipSync } from 'node:zlib';
import type { FirehoseTransformationResult } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { readTransformConfig, type TransformConfig } from '../../functions/shared/config.ts';
import { createMemoryLog } from '../../functions/shared/logger.ts';
import { createMemoryMetrics } from '../../functions/shared/metrics.ts';
import { makeHandler } from '../../functions/transform.ts';
import { RecordingReingester } from '../../src/adapters/local/recording-reingester.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { assembleDeliveredObject, REINGEST_MARKER } from '../../src/core/transform/index.ts';
import {
  ACCOUNT,
  controlMessage,
  decodeOkLines,
  encodeMessage,
  events,
  firehoseEvent,
  message,
  OTHER_ACCOUNT,
  responseBytes,
  SAMPLE_LINES,
  STREAMS,
} from '../unit/transform/builders.ts';

const CONFIG: TransformConfig = readTransformConfig({
  AWS_REGION: 'eu-west-1',
  ALLOWED_ACCOUNTS: ACCOUNT,
  DELIVERY_STREAM_NAME: 'eks-log-lake-raw',
});

function setup(config: Partial<TransformConfig> = {}) {
  const reingester = new RecordingReingester();
  const log = createMemoryLog();
  const metrics = createMemoryMetrics();
  const handler = makeHandler({ config: { ...CONFIG, ...config }, reingester, log, metrics });
  return { handler, reingester, log, metrics };
}

function auditMessage(lines: readonly string[] = SAMPLE_LINES['kube-apiserver-audit']) {
  return message({ logEvents: events(lines) });
}

const b64 = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64');
const good = encodeMessage(auditMessage());

interface Row {
  row: string;
  data: () => string;
  result: 'Ok' | 'Dropped' | 'ProcessingFailed';
  metric?: string;
}

// Reliability matrix rows 1–14 and 18–20, each answered at the handler level.
const ROWS: Row[] = [
  { row: '1: data not base64', data: () => '!!', result: 'ProcessingFailed', metric: 'decode_failed' },
  {
    row: '1: base64 with stray characters',
    data: () => `${good.slice(0, 8)}*${good.slice(9)}`,
    result: 'ProcessingFailed',
  },
  {
    row: '1: base64 with embedded whitespace',
    data: () => `${good.slice(0, 8)} ${good.slice(8)}`,
    result: 'ProcessingFailed',
  },
  { row: '2: empty data', data: () => '', result: 'ProcessingFailed', metric: 'decode_failed' },
  { row: '3: valid base64, not gzip', data: () => b64('hello, not gzip at all'), result: 'ProcessingFailed' },
  {
    row: '3: valid base64 of a plain JSON message, not gzip',
    data: () => b64(JSON.stringify(auditMessage())),
    result: 'ProcessingFailed',
  },
  {
    row: '4: truncated gzip',
    data: () => {
      const gz = gzipSync(JSON.stringify(auditMessage()));
      return b64(gz.subarray(0, gz.length - 20));
    },
    result: 'ProcessingFailed',
  },
  {
    row: '5: gzip plus trailing garbage',
    data: () => b64(Buffer.concat([gzipSync(JSON.stringify(auditMessage())), Buffer.from('GARBAGE!')])),
    result: 'ProcessingFailed',
  },
  {
    row: '6: multi-member gzip',
    data: () => {
      const text = JSON.stringify(auditMessage());
      const half = Math.floor(text.length / 2);
      return b64(Buffer.concat([gzipSync(text.slice(0, half)), gzipSync(text.slice(half))]));
    },
    result: 'Ok',
  },
  {
    row: '8: gzip of invalid JSON',
    data: () => b64(gzipSync('{"messageType":"DATA_MESSAGE",')),
    result: 'ProcessingFailed',
  },
  {
    row: '9: CONTROL_MESSAGE',
    data: () => encodeMessage(controlMessage()),
    result: 'Dropped',
    metric: 'control_messages',
  },
  {
    row: '10: unknown messageType',
    data: () => encodeMessage(message({ messageType: 'DEBUG_MESSAGE' })),
    result: 'ProcessingFailed',
  },
  {
    row: '11: DATA_MESSAGE without events',
    data: () => encodeMessage(message({ logEvents: [] })),
    result: 'Dropped',
    metric: 'empty_data_messages',
  },
  {
    row: '12: event without id or timestamp',
    data: () => encodeMessage(message({ logEvents: [{ message: SAMPLE_LINES['kube-apiserver-audit'][0] }] })),
    result: 'Ok',
  },
  {
    row: '13: owner not in the allow-list',
    data: () =>
      encodeMessage(message({ owner: OTHER_ACCOUNT, logEvents: events(SAMPLE_LINES['kube-apiserver-audit']) })),
    result: 'ProcessingFailed',
    metric: 'owner_not_allowed',
  },
  {
    row: '14: log group not an EKS control-plane group',
    data: () =>
      encodeMessage(
        message({
          logGroup: '/aws/lambda/payments',
          logStream: '2026/11/27/[$LATEST]abc',
          logEvents: events(['START RequestId: 1']),
        }),
      ),
    result: 'Ok',
  },
  {
    row: '18: invalid UTF-8 in a message',
    data: () => {
      const json = JSON.stringify(
        message({
          logStream: STREAMS['kube-apiserver'],
          logEvents: events(['I1127 03:00:00.000000       1 x.go:1] PLACEHOLDER']),
        }),
      );
      const [before, after] = json.split('PLACEHOLDER') as [string, string];
      return b64(gzipSync(Buffer.concat([Buffer.from(before), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(after)])));
    },
    result: 'Ok',
  },
  {
    row: '19: lone surrogate in a string',
    data: () =>
      encodeMessage(
        message({
          logEvents: events([
            SAMPLE_LINES['kube-apiserver-audit'][0]!.replace('kube-scheduler/v1.24.13', 'agent\ud800x'),
          ]),
        }),
      ),
    result: 'Ok',
  },
  {
    row: '20: NUL, control characters, ANSI escapes, quotes and newlines in userAgent/requestURI',
    data: () =>
      encodeMessage(
        message({
          logEvents: events([
            JSON.stringify({
              ...JSON.parse(SAMPLE_LINES['kube-apiserver-audit'][0]!),
              userAgent: 'curl\u0000/8\u0007 \u001b[31mred\u001b[0m "quoted"\nsecond line\r\n',
              requestURI: '/api/v1/namespaces/default/pods?x=\u0001\u001f\u2028\u2029',
            }),
          ]),
        }),
      ),
    result: 'Ok',
  },
];

describe('transform handler: reliability matrix rows', () => {
  it.each(ROWS)('answers $result for row $row, alongside a good record', async ({ data, result, metric }) => {
    const { handler, metrics } = setup();
    const event = firehoseEvent([good, data(), good]);
    const response = await handler(event);
    expect(response.records.map((r) => r.recordId)).toEqual(event.records.map((r) => r.recordId));
    expect(response.records.map((r) => r.result)).toEqual(['Ok', result, 'Ok']);
    if (metric) expect(metrics.get(metric)).toBe(1);
    if (result !== 'Ok') expect(response.records[1]!.data).toBeUndefined();
  });

  it('refuses a gzip bomb (100 MiB of zeros) without inflating it fully', async () => {
    const { handler, log } = setup();
    const bomb = gzipSync(Buffer.alloc(100 * 1024 * 1024), { level: 9 });
    expect(bomb.length).toBeLessThan(200_000);
    const response = await handler(firehoseEvent([b64(bomb), good]));
    expect(response.records.map((r) => r.result)).toEqual(['ProcessingFailed', 'Ok']);
    expect(log.entries.at(-1)!.fields.failures).toEqual({ too_large: 1 });
  });

  it('emits the row 12 event as a bad_envelope line', async () => {
    const { handler } = setup();
    const response = await handler(firehoseEvent([ROWS.find((r) => r.row.startsWith('12'))!.data()]));
    const [line] = decodeOkLines(response.records[0]!.data!);
    expect(JSON.parse(line!)).toMatchObject({ parse_status: 'bad_envelope', account: ACCOUNT });
  });

  it.each([
    ['an id that is not a digit string', { id: 'xyz', timestamp: Date.UTC(2026, 10, 27, 4) }, /id is missing/],
    ['no timestamp', { id: '1'.repeat(56) }, /timestamp is missing/],
  ])('emits an event with %s as a bad_envelope line with the reason (row 12)', async (_, ev, why) => {
    const { handler } = setup();
    const logEvents = [{ ...ev, message: SAMPLE_LINES['kube-scheduler'][0] }];
    const response = await handler(
      firehoseEvent([encodeMessage(message({ logStream: STREAMS['kube-scheduler'], logEvents }))]),
    );
    expect(response.records[0]!.result).toBe('Ok');
    const [line] = decodeOkLines(response.records[0]!.data!);
    const rec = JSON.parse(line!);
    expect(rec).toMatchObject({
      parse_status: 'bad_envelope',
      log_type: 'kube-scheduler',
      message: SAMPLE_LINES['kube-scheduler'][0],
    });
    expect(rec.parse_error).toMatch(why);
  });

  it('counts events by outcome: ok, partial, unparsed, bad_envelope, and of unknown streams and log groups', async () => {
    const { handler, metrics } = setup();
    // Header dates near the CloudWatch time, so only the broken tail and the missing header are partial.
    const klog = [
      SAMPLE_LINES['kube-scheduler'][0]!.replace('I0323 15:07:05', 'I1127 02:59:05'),
      'I1127 02:59:06.000000      12 controller.go:88] "Starting" controller="foo" worker count=5',
      'goroutine 1 [running]:',
    ];
    const truncatedAudit = SAMPLE_LINES['kube-apiserver-audit'][0]!.slice(0, 200);
    const batch = [
      message({ logEvents: events([...SAMPLE_LINES['kube-apiserver-audit'], truncatedAudit]) }),
      message({ logStream: STREAMS['kube-scheduler'], logEvents: events(klog) }),
      message({
        logStream: STREAMS['kube-scheduler'],
        logEvents: [{ id: 'xyz', timestamp: Date.UTC(2026, 10, 27, 4), message: klog[0] }, { message: klog[0] }],
      }),
      message({ logStream: 'etcd-0f1e2d3c4b5a69788796a5b4c3d2e1f0', logEvents: events(['etcd line', 'etcd line 2']) }),
      message({ logGroup: '/aws/lambda/app', logStream: '2026/11/27/[$LATEST]abc', logEvents: events(['START']) }),
      message({ messageType: 'CONTROL_MESSAGE', logEvents: events(['CWL CONTROL MESSAGE: Checking health']) }),
    ];
    const response = await handler(firehoseEvent(batch.map(encodeMessage)));
    expect(response.records.map((r) => r.result)).toEqual(['Ok', 'Ok', 'Ok', 'Ok', 'Ok', 'Dropped']);
    const counted = Object.fromEntries(
      [
        'events_out',
        'events_ok',
        'events_partial',
        'events_unparsed',
        'events_bad_envelope',
        'events_unknown_stream',
        'events_unknown_log_group',
      ].map((n) => [n, metrics.get(n)]),
    );
    expect(counted).toEqual({
      events_out: 12,
      events_ok: 4,
      events_partial: 2,
      events_unparsed: 4,
      events_bad_envelope: 2,
      events_unknown_stream: 2,
      events_unknown_log_group: 1,
    });
  });

  it('keeps a non-EKS log group under log_type=unknown (row 14)', async () => {
    const { handler } = setup();
    const response = await handler(firehoseEvent([ROWS.find((r) => r.row.startsWith('14'))!.data()]));
    expect(response.records[0]!.metadata).toEqual({ partitionKeys: { log_type: 'unknown' } });
    const [line] = decodeOkLines(response.records[0]!.data!);
    expect(JSON.parse(line!)).toMatchObject({ log_type: 'unknown', cluster: null, message: 'START RequestId: 1' });
  });

  it('preserves the original bytes of invalid UTF-8 (row 18)', async () => {
    const { handler } = setup();
    const response = await handler(firehoseEvent([ROWS.find((r) => r.row.startsWith('18'))!.data()]));
    const rec = JSON.parse(decodeOkLines(response.records[0]!.data!)[0]!);
    const original = Buffer.from(rec.message_b64, 'base64');
    expect(original.includes(Buffer.from([0xc3, 0x28, 0xff]))).toBe(true);
  });

  it('writes lone surrogates and control characters escaped, one event per line (rows 19, 20)', async () => {
    const { handler } = setup();
    const data = [ROWS.find((r) => r.row.startsWith('19'))!.data(), ROWS.find((r) => r.row.startsWith('20'))!.data()];
    const response = await handler(firehoseEvent(data));
    const [lone] = decodeOkLines(response.records[0]!.data!);
    expect(lone).toContain('\\ud800');
    expect(JSON.parse(lone!).userAgent.startsWith('agent\ud800x (linux/amd64)')).toBe(true);
    const lines = decodeOkLines(response.records[1]!.data!);
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toMatch(/[\u0000-\u001f]/);
    const rec = JSON.parse(lines[0]!);
    expect(rec.userAgent).toBe('curl\u0000/8\u0007 \u001b[31mred\u001b[0m "quoted"\nsecond line\r\n');
    expect(rec.requestURI).toBe('/api/v1/namespaces/default/pods?x=\u0001\u001f\u2028\u2029');
  });
});

describe('transform handler: Ok records', () => {
  it('partitions each stream type by its log_type and writes one line per event', async () => {
    const { handler } = setup();
    const types = Object.keys(STREAMS) as (keyof typeof STREAMS)[];
    const sent = types.map((t) => message({ logStream: STREAMS[t], logEvents: events(SAMPLE_LINES[t]) }));
    const response = await handler(firehoseEvent(sent.map(encodeMessage)));
    response.records.forEach((r, i) => {
      expect(r.result).toBe('Ok');
      expect(r.metadata).toEqual({ partitionKeys: { log_type: types[i] } });
      const lines = decodeOkLines(r.data!).map((l) => JSON.parse(l));
      expect(lines.map((l) => l.event_id)).toEqual((sent[i]!.logEvents as { id: string }[]).map((e) => e.id));
      for (const l of lines) expect(l).toMatchObject({ log_type: types[i], account: ACCOUNT, region: 'eu-west-1' });
    });
  });

  it('assembles Ok datas into one multi-member gzip object that gunzips to every line', async () => {
    const { handler } = setup();
    const response = await handler(firehoseEvent([good, encodeMessage(auditMessage()), good]));
    const object = assembleDeliveredObject(response.records.map((r) => Buffer.from(r.data!, 'base64')));
    const lines = gunzipSync(object).toString('utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(3 * SAMPLE_LINES['kube-apiserver-audit'].length);
    for (const l of lines) expect(JSON.parse(l).log_type).toBe('kube-apiserver-audit');
  });

  it('lets every owner through when the allow-list is empty', async () => {
    const { handler } = setup({ allowedAccounts: [] });
    const other = encodeMessage(message({ owner: OTHER_ACCOUNT, logEvents: events(['x']) }));
    const response = await handler(firehoseEvent([other]));
    expect(response.records[0]!.result).toBe('Ok');
  });
});

describe('transform handler: logs and metrics', () => {
  it('logs one summary line with counts and no log content, even for failed records', async () => {
    const { handler, log, metrics } = setup();
    const secret = 'AKIAIOSFODNN7EXAMPLE';
    const withSecret = encodeMessage(
      message({ logEvents: events([`{"kind":"Event","requestObject":{"token":"${secret}"}}`]) }),
    );
    const badJson = b64(gzipSync(`{"messageType":"DATA_MESSAGE","owner":"${secret}`));
    const foreign = encodeMessage(message({ owner: OTHER_ACCOUNT, logEvents: events([secret]) }));
    await handler(firehoseEvent([withSecret, badJson, foreign, '!!']));
    expect(log.entries).toHaveLength(1);
    expect(JSON.stringify(log.entries)).not.toContain(secret);
    expect(log.entries[0]!.fields).toMatchObject({
      records: 4,
      records_ok: 1,
      records_failed: 3,
      events_in: 2,
      events_out: 1,
      events_failed: 1,
      failures: { invalid_json: 1, owner_not_allowed: 1, invalid_base64: 1 },
    });
    expect(typeof log.entries[0]!.fields.duration_ms).toBe('number');
    expect(metrics.get('records_ok')).toBe(1);
    expect(metrics.get('records_failed')).toBe(3);
    expect(metrics.get('owner_not_allowed')).toBe(1);
    expect(metrics.get('decode_failed')).toBe(2);
  });

  it('answers an empty or malformed event without throwing', async () => {
    const { handler } = setup();
    expect(await handler({ records: [] } as never)).toEqual({ records: [] });
    expect(await handler({} as never)).toEqual({ records: [] });
    const noData = await handler({ records: [{ recordId: 'a' }] } as never);
    expect(noData.records).toEqual([{ recordId: 'a', result: 'ProcessingFailed' }]);
  });
});

describe('transform handler: overflow path', () => {
  // Many distinct records whose outputs together exceed a small budget.
  function bigBatch(n: number): string[] {
    return Array.from({ length: n }, (_, i) =>
      encodeMessage(
        message({
          logStream: STREAMS['kube-scheduler'],
          logEvents: events(
            Array.from(
              { length: 200 },
              (_, j) =>
                `I1127 03:00:00.${String(j).padStart(6, '0')}       1 x.go:1] "pod ${i}-${j}" uid="${Math.random().toString(36)}"`,
            ),
          ),
        }),
      ),
    );
  }

  it('re-ingests the largest records so the response stays within the budget', async () => {
    const budget = 40_000;
    const { handler, reingester, metrics } = setup({ responseBudgetBytes: budget });
    const datas = bigBatch(8);
    const event = firehoseEvent(datas);
    const response = await handler(event);
    expect(responseBytes(response)).toBeLessThanOrEqual(budget);
    const dropped = response.records.filter((r) => r.result === 'Dropped');
    expect(dropped.length).toBeGreaterThan(0);
    expect(metrics.get('records_reingested')).toBe(dropped.length);
    expect(reingester.records.length).toBeGreaterThanOrEqual(dropped.length);

    // Feeding the chunks back: every event of the batch ends up Ok exactly once.
    const chunks = reingester.take();
    for (const c of chunks) expect(JSON.parse(gunzipSync(c).toString()).subscriptionFilters).toContain(REINGEST_MARKER);
    const second = await setup().handler(firehoseEvent(chunks.map(b64)));
    const ids = (r: FirehoseTransformationResult) =>
      r.records
        .filter((x) => x.result === 'Ok')
        .flatMap((x) => decodeOkLines(x.data!).map((l) => JSON.parse(l).event_id));
    const seen = [...ids(response), ...ids(second)];
    const sent = datas.flatMap((d) =>
      JSON.parse(gunzipSync(Buffer.from(d, 'base64')).toString()).logEvents.map((e: { id: string }) => e.id),
    );
    expect(seen.sort()).toEqual(sent.sort());
  });

  it('never re-ingests a re-ingested record again: it fails to errors/ instead', async () => {
    const { handler, reingester } = setup({ responseBudgetBytes: 40_000 });
    await handler(firehoseEvent(bigBatch(8)));
    const chunks = reingester.take();
    const tight = setup({ responseBudgetBytes: 2_000 });
    const response = await tight.handler(firehoseEvent(chunks.map(b64)));
    expect(tight.reingester.calls).toBe(0);
    expect(responseBytes(response)).toBeLessThanOrEqual(2_000);
    expect(response.records.every((r) => r.result === 'ProcessingFailed')).toBe(true);
    expect(tight.metrics.get('response_overflow')).toBe(chunks.length);
  });

  it('answers ProcessingFailed for a record whose re-ingest fails, keeping it under errors/', async () => {
    const { handler, reingester, metrics } = setup({ responseBudgetBytes: 40_000 });
    reingester.failNext(100);
    const response = await handler(firehoseEvent(bigBatch(8)));
    expect(response.records.some((r) => r.result === 'ProcessingFailed')).toBe(true);
    expect(response.records.some((r) => r.result === 'Dropped')).toBe(false);
    expect(metrics.get('reingest_failed')).toBeGreaterThan(0);
    expect(responseBytes(response)).toBeLessThanOrEqual(40_000);
  });
});

describe('transform config', () => {
  it.each([
    [{ ALLOWED_ACCOUNTS: '', DELIVERY_STREAM_NAME: 's' }, /AWS_REGION/],
    [{ AWS_REGION: 'eu-west-1', ALLOWED_ACCOUNTS: '' }, /DELIVERY_STREAM_NAME/],
    [{ AWS_REGION: 'eu-west-1', DELIVERY_STREAM_NAME: 's', ALLOWED_ACCOUNTS: '1234' }, /ALLOWED_ACCOUNTS/],
    [
      { AWS_REGION: 'eu-west-1', DELIVERY_STREAM_NAME: 's', TRANSFORM_RESPONSE_BUDGET_BYTES: '6MB' },
      /TRANSFORM_RESPONSE_BUDGET_BYTES/,
    ],
    [
      { AWS_REGION: 'eu-west-1', DELIVERY_STREAM_NAME: 's', TRANSFORM_NON_EKS_LOG_GROUPS: 'discard' },
      /TRANSFORM_NON_EKS_LOG_GROUPS must be one of keep, drop, quarantine, got 'discard'/,
    ],
    [
      { AWS_REGION: 'eu-west-1', DELIVERY_STREAM_NAME: 's', TRANSFORM_NON_EKS_LOG_GROUPS: 'Drop' },
      /TRANSFORM_NON_EKS_LOG_GROUPS must be one of keep, drop, quarantine, got 'Drop'/,
    ],
  ])('throws a ConfigError naming the variable for %j', (env, name) => {
    expect(() => readTransformConfig(env)).toThrow(ConfigError);
    expect(() => readTransformConfig(env)).toThrow(name);
  });

  it('reads a comma-separated allow-list and defaults the bounds', () => {
    const c = readTransformConfig({
      AWS_REGION: 'eu-west-1',
      DELIVERY_STREAM_NAME: 's',
      ALLOWED_ACCOUNTS: ` ${ACCOUNT}, ${OTHER_ACCOUNT} `,
    });
    expect(c).toEqual({
      region: 'eu-west-1',
      deliveryStreamName: 's',
      allowedAccounts: [ACCOUNT, OTHER_ACCOUNT],
      maxDecodedBytes: 16 * 1024 * 1024,
      responseBudgetBytes: 6_000_000,
      nonEksLogGroups: 'keep',
    });
  });

  it.each([
    ['keep', 'keep'],
    ['drop', 'drop'],
    [' quarantine ', 'quarantine'],
    ['', 'keep'],
  ])('reads the non-EKS log group mode %j as %s', (value, mode) => {
    const c = readTransformConfig({
      AWS_REGION: 'eu-west-1',
      DELIVERY_STREAM_NAME: 's',
      TRANSFORM_NON_EKS_LOG_GROUPS: value,
    });
    expect(c.nonEksLogGroups).toBe(mode);
  });
});
