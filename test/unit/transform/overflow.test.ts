import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assembleDeliveredObject,
  encodeRecordData,
  FIREHOSE_MAX_RECORD_BYTES,
  RAW_DESTINATION,
  REINGEST_MARKER,
  splitForReingest,
} from '../../../src/core/transform/index.ts';
import type { SubscriptionMessage } from '../../../src/core/types.ts';
import { events, LOG_GROUP, SAMPLE_LINES, STREAMS } from './builders.ts';

function msg(messages: string[], filters = ['eks-to-firehose']): SubscriptionMessage {
  return {
    messageType: 'DATA_MESSAGE',
    owner: '111122223333',
    logGroup: LOG_GROUP,
    logStream: STREAMS['kube-apiserver-audit'],
    subscriptionFilters: filters,
    logEvents: events(messages),
  };
}

const decode = (c: Uint8Array) => JSON.parse(gunzipSync(c).toString('utf8')) as SubscriptionMessage;

describe('splitForReingest', () => {
  it('puts every event in exactly one marked chunk, in order, each within the Firehose record limit', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 3000 }), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 500, max: 20_000 }),
        (texts, chunkBytes) => {
          const m = msg(texts);
          const chunks = splitForReingest(m, chunkBytes)!;
          const back = chunks.map(decode);
          expect(back.flatMap((c) => c.logEvents)).toEqual(m.logEvents);
          for (const [i, c] of back.entries()) {
            expect(chunks[i]!.byteLength).toBeLessThanOrEqual(FIREHOSE_MAX_RECORD_BYTES);
            expect(c.subscriptionFilters.filter((f) => f === REINGEST_MARKER)).toHaveLength(1);
            expect({ ...c, logEvents: [] }).toEqual({
              ...m,
              subscriptionFilters: [...m.subscriptionFilters, REINGEST_MARKER],
              logEvents: [],
            });
          }
        },
      ),
      { numRuns: 50 },
    );
  });

  it('is deterministic, so a retried split yields the same chunks', () => {
    const m = msg([...SAMPLE_LINES['kube-apiserver-audit'], ...SAMPLE_LINES['kube-apiserver-audit']]);
    expect(splitForReingest(m, 1000)).toEqual(splitForReingest(m, 1000));
  });

  it('halves chunks of incompressible events until each fits', () => {
    const random = Array.from({ length: 6 }, () =>
      Array.from({ length: 300_000 }, () => String.fromCharCode(33 + Math.floor(Math.random() * 90))).join(''),
    );
    const chunks = splitForReingest(msg(random), 10_000_000)!;
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(c.byteLength).toBeLessThanOrEqual(FIREHOSE_MAX_RECORD_BYTES);
    expect(chunks.map(decode).flatMap((c) => c.logEvents)).toHaveLength(6);
  });

  it('refuses a single event that cannot fit a Firehose record', () => {
    const huge = Array.from({ length: 1_500_000 }, () => String.fromCharCode(33 + Math.floor(Math.random() * 90))).join(
      '',
    );
    expect(splitForReingest(msg([huge]))).toBeUndefined();
  });
});

describe('raw destination', () => {
  it('assembles record datas into one multi-member gzip that reads back as all NDJSON lines', () => {
    const parts = [['{"a":1}', '{"a":2}'], ['{"b":1}'], ['{"c":"x\\ny"}']];
    const object = assembleDeliveredObject(parts.map((p) => encodeRecordData(p)));
    expect(object[0]).toBe(0x1f);
    expect(gunzipSync(object).toString('utf8')).toBe('{"a":1}\n{"a":2}\n{"b":1}\n{"c":"x\\ny"}\n');
  });

  it('encodes any lines, multi-byte or larger than the reused scratch, as their exact UTF-8 NDJSON', () => {
    const line = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.integer({ min: 1, max: 3 }).map((n) => '\u00e9\u4e16\ud83d\ude00'.repeat(n * 20_000)),
    );
    fc.assert(
      fc.property(fc.array(fc.array(line, { maxLength: 6 }), { minLength: 1, maxLength: 4 }), (records) => {
        // Several records in a row, so a later one must not see bytes left by an earlier one.
        const datas = records.map((lines) => encodeRecordData(lines));
        records.forEach((lines, i) => {
          const expected = lines.length === 0 ? '' : `${lines.join('\n')}\n`;
          expect(gunzipSync(datas[i]!).equals(Buffer.from(expected, 'utf8'))).toBe(true);
        });
      }),
      { numRuns: 60 },
    );
  });

  it('encodes a record too big for the reused scratch exactly, then a small one after it', () => {
    const big = ['a\u00e9\u4e16\ud83d\ude00'.repeat(300_000), 'x'.repeat(2_000_000), '\ud800 lone'];
    const small = ['{"after":1}'];
    const [bigData, smallData] = [encodeRecordData(big), encodeRecordData(small)];
    expect(gunzipSync(bigData).equals(Buffer.from(`${big.join('\n')}\n`, 'utf8'))).toBe(true);
    expect(gunzipSync(smallData).toString('utf8')).toBe('{"after":1}\n');
  });

  it('keeps the destination uncompressed with a .gz extension and the log_type partition key', () => {
    expect(RAW_DESTINATION.compression).toBe('UNCOMPRESSED');
    expect(RAW_DESTINATION.fileExtension).toBe('.gz');
    expect(RAW_DESTINATION.prefix).toBe(
      'raw/log_type=!{partitionKeyFromLambda:log_type}/dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/',
    );
    expect(RAW_DESTINATION.processorBufferMb).toBe(1);
  });

  it('assembles an empty batch into an empty object', () => {
    expect(assembleDeliveredObject([])).toEqual(new Uint8Array(0));
  });
});
