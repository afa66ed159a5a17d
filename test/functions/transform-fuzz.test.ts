import { gunzipSync, gzipSync } from 'node:zlib';
import type { FirehoseTransformationResult } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readTransformConfig } from '../../functions/shared/config.ts';
import { createMemoryLog } from '../../functions/shared/logger.ts';
import { createMemoryMetrics } from '../../functions/shared/metrics.ts';
import { makeHandler } from '../../functions/transform.ts';
import { RecordingReingester } from '../../src/adapters/local/recording-reingester.ts';
import {
  ACCOUNT,
  decodeOkLines,
  encodeMessage,
  eventId,
  firehoseEvent,
  LOG_GROUP,
  message,
  OTHER_ACCOUNT,
  responseBytes,
  SAMPLE_LINES,
  STREAMS,
} from '../unit/transform/builders.ts';

const MAX_BATCH_BYTES = 3 * 1024 * 1024;
const TYPES = Object.keys(STREAMS) as (keyof typeof STREAMS)[];

type Spec =
  | { kind: 'good'; type: number; events: number; noise: number; seed: number; foreignGroup: boolean }
  | { kind: 'control' }
  | { kind: 'foreign'; events: number }
  | { kind: 'bad'; how: 'not-base64' | 'stray' | 'not-gzip' | 'truncated' | 'garbage' | 'empty' | 'bad-json' };

const specArb: fc.Arbitrary<Spec> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('good' as const),
      type: fc.nat(TYPES.length - 1),
      events: fc.integer({ min: 0, max: 600 }),
      noise: fc.integer({ min: 0, max: 6_000 }),
      seed: fc.nat(),
      foreignGroup: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'control' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('foreign' as const), events: fc.integer({ min: 1, max: 5 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('bad' as const),
      how: fc.constantFrom('not-base64', 'stray', 'not-gzip', 'truncated', 'garbage', 'empty', 'bad-json'),
    }),
  },
);

// Cheap seeded noise: poorly compressible text that makes records large and varied.
function noise(seed: number, length: number): string {
  let x = seed | 1;
  let s = '';
  while (s.length < length) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    s += (x >>> 0).toString(36);
  }
  return s.slice(0, length);
}

interface Built {
  data: string;
  ids: string[];
  kind: Spec['kind'];
}

function build(spec: Spec): Built {
  if (spec.kind === 'control') {
    const msg = message({
      messageType: 'CONTROL_MESSAGE',
      owner: 'CloudwatchLogs',
      logGroup: '',
      logStream: '',
      subscriptionFilters: [],
      logEvents: [{ id: '', timestamp: 0, message: 'CWL CONTROL MESSAGE: Checking health of destination Firehose.' }],
    });
    return { data: encodeMessage(msg), ids: [], kind: 'control' };
  }
  if (spec.kind === 'foreign') {
    const logEvents = Array.from({ length: spec.events }, (_, i) => ({
      id: eventId(),
      timestamp: 1e12 + i,
      message: 'x',
    }));
    return { data: encodeMessage(message({ owner: OTHER_ACCOUNT, logEvents })), ids: [], kind: 'foreign' };
  }
  if (spec.kind === 'bad') {
    const valid = gzipSync(JSON.stringify(message({ logEvents: [] })));
    const datas: Record<typeof spec.how, string> = {
      'not-base64': '!!',
      stray: `${valid.toString('base64').slice(0, 4)}$${valid.toString('base64').slice(5)}`,
      'not-gzip': Buffer.from('plain words').toString('base64'),
      truncated: valid.subarray(0, valid.length - 9).toString('base64'),
      garbage: Buffer.concat([valid, Buffer.from([1, 2, 3])]).toString('base64'),
      empty: '',
      'bad-json': gzipSync('{"messageType":').toString('base64'),
    };
    return { data: datas[spec.how], ids: [], kind: 'bad' };
  }
  const type = TYPES[spec.type]!;
  const lines = SAMPLE_LINES[type];
  const logEvents = Array.from({ length: spec.events }, (_, i) => {
    const base = lines[i % lines.length]!;
    const extra = spec.noise > 0 ? noise(spec.seed + i, spec.noise) : '';
    const text =
      type === 'kube-apiserver-audit' ? base.replace('"verb":', `"x_noise":"${extra}","verb":`) : `${base} n=${extra}`;
    return { id: eventId(), timestamp: Date.UTC(2026, 10, 27) + i, message: text };
  });
  const msg = message({
    logGroup: spec.foreignGroup ? '/custom/app' : LOG_GROUP,
    logStream: STREAMS[type],
    logEvents,
    owner: ACCOUNT,
  });
  return { data: encodeMessage(msg), ids: logEvents.map((e) => e.id), kind: 'good' };
}

function buildBatch(specs: readonly Spec[]): Built[] {
  const out: Built[] = [];
  let bytes = 0;
  for (const s of specs) {
    const b = build(s);
    if (out.length > 0 && bytes + b.data.length > MAX_BATCH_BYTES) break;
    out.push(b);
    bytes += b.data.length;
  }
  return out;
}

async function run(built: readonly Built[], budget: number) {
  const config = readTransformConfig({
    AWS_REGION: 'eu-west-1',
    ALLOWED_ACCOUNTS: ACCOUNT,
    DELIVERY_STREAM_NAME: 'raw',
  });
  const reingester = new RecordingReingester();
  const log = createMemoryLog();
  const handler = makeHandler({
    config: { ...config, responseBudgetBytes: budget },
    reingester,
    log,
    metrics: createMemoryMetrics(),
  });
  const event = firehoseEvent(built.map((b) => b.data));
  const response = await handler(event);
  return { event, response, chunks: reingester.take(), summary: log.entries[0]!.fields as Record<string, number> };
}

function okIds(response: FirehoseTransformationResult): string[] {
  return response.records
    .filter((r) => r.result === 'Ok')
    .flatMap((r) => decodeOkLines(r.data!).map((l) => JSON.parse(l).event_id as string));
}

async function checkBatch(specs: readonly Spec[], budget: number): Promise<void> {
  const built = buildBatch(specs);
  const { event, response, chunks, summary } = await run(built, budget);

  // Every recordId answered exactly once, in order, with a valid result.
  expect(response.records.map((r) => r.recordId)).toEqual(event.records.map((r) => r.recordId));
  response.records.forEach((r, i) => {
    expect(['Ok', 'Dropped', 'ProcessingFailed']).toContain(r.result);
    if (r.result === 'Ok') {
      expect(built[i]!.kind).toBe('good');
      expect(r.metadata?.partitionKeys.log_type).toMatch(/^[a-z-]+$/);
    } else {
      expect(r.data).toBeUndefined();
    }
    if (built[i]!.kind === 'bad' || built[i]!.kind === 'foreign') expect(r.result).toBe('ProcessingFailed');
    if (built[i]!.kind === 'control') expect(r.result).toBe('Dropped');
  });
  expect(responseBytes(response)).toBeLessThanOrEqual(budget);

  // Conservation: events in = emitted + counted drops + failed + handed to re-ingest.
  expect(summary.events_in).toBe(
    summary.events_out + summary.events_dropped + summary.events_failed + summary.events_reingested,
  );

  // After the re-ingested chunks come back, every good event is delivered once, unless its record failed.
  const second =
    chunks.length > 0
      ? (
          await run(
            chunks.map((c) => ({ data: Buffer.from(c).toString('base64'), ids: [], kind: 'good' })),
            budget,
          )
        ).response
      : { records: [] };
  const delivered = [...okIds(response), ...okIds(second)];
  expect(new Set(delivered).size).toBe(delivered.length);
  const failedIds = new Set(built.flatMap((b, i) => (response.records[i]!.result === 'ProcessingFailed' ? b.ids : [])));
  for (const r of second.records) if (r.result === 'ProcessingFailed') failedIds.add('second-pass-failure');
  const expected = built.flatMap((b) => b.ids).filter((id) => !failedIds.has(id));
  if (!failedIds.has('second-pass-failure')) expect(delivered.sort()).toEqual(expected.sort());
  for (const c of chunks) expect(JSON.parse(gunzipSync(c).toString()).logEvents.length).toBeGreaterThan(0);
}

describe('transform handler properties', () => {
  it('answers every record once within 6 MB and conserves events for batches up to 3 MB', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(specArb, { minLength: 1, maxLength: 60 }), (specs) => checkBatch(specs, 6_000_000)),
      { numRuns: 15 },
    );
  });

  it('keeps the same guarantees through the overflow path under a tight budget', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(specArb, { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 2_000, max: 200_000 }),
        (specs, budget) => checkBatch(specs, budget),
      ),
      { numRuns: 30 },
    );
  });
});
