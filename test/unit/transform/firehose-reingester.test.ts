import { PutRecordBatchCommand, type PutRecordBatchCommandOutput } from '@aws-sdk/client-firehose';
import { describe, expect, it } from 'vitest';
import { FirehoseRecordReingester } from '../../../src/adapters/aws/firehose-reingester.ts';

type Reply = (entries: Uint8Array[]) => PutRecordBatchCommandOutput | Error;

/** A stand-in Firehose client that answers each PutRecordBatch with the next scripted reply. */
function fakeFirehose(replies: Reply[], fallback: Reply = ok) {
  const calls: Uint8Array[][] = [];
  const client = {
    async send(command: PutRecordBatchCommand) {
      expect(command).toBeInstanceOf(PutRecordBatchCommand);
      expect(command.input.DeliveryStreamName).toBe('raw-stream');
      const entries = (command.input.Records ?? []).map((r) => r.Data as Uint8Array);
      calls.push(entries);
      const out = (replies.shift() ?? fallback)(entries);
      if (out instanceof Error) throw out;
      return out;
    },
  };
  return { client: client as never, calls };
}

function ok(entries: Uint8Array[]): PutRecordBatchCommandOutput {
  return { FailedPutCount: 0, RequestResponses: entries.map(() => ({ RecordId: 'id' })), $metadata: {} };
}

/** Fails the entries whose first byte is in `failing`. */
function partial(failing: Set<number>): Reply {
  return (entries) => {
    const responses = entries.map((e) =>
      failing.has(e[0]!)
        ? { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' }
        : { RecordId: 'id' },
    );
    return {
      FailedPutCount: responses.filter((r) => 'ErrorCode' in r).length,
      RequestResponses: responses,
      $metadata: {},
    };
  };
}

const records = (n: number, size = 10) => Array.from({ length: n }, (_, i) => new Uint8Array(size).fill(i % 256));
const noSleep = async () => {};

describe('FirehoseRecordReingester', () => {
  it('sends everything in one call when Firehose accepts it', async () => {
    const { client, calls } = fakeFirehose([]);
    const r = new FirehoseRecordReingester(client, 'raw-stream', { sleep: noSleep });
    expect(await r.reingest(records(3))).toEqual({ failed: 0 });
    expect(calls).toHaveLength(1);
  });

  it('retries only the entries that carry an ErrorCode', async () => {
    const { client, calls } = fakeFirehose([partial(new Set([1, 2]))]);
    const r = new FirehoseRecordReingester(client, 'raw-stream', { sleep: noSleep });
    expect(await r.reingest(records(4))).toEqual({ failed: 0 });
    expect(calls.map((c) => c.map((e) => e[0]))).toEqual([
      [0, 1, 2, 3],
      [1, 2],
    ]);
  });

  it('gives up after the bounded attempts and reports the entries still failing', async () => {
    const { client, calls } = fakeFirehose([], partial(new Set([0])));
    const r = new FirehoseRecordReingester(client, 'raw-stream', { sleep: noSleep, maxAttempts: 3 });
    expect(await r.reingest(records(2))).toEqual({ failed: 1 });
    expect(calls.map((c) => c.length)).toEqual([2, 1, 1]);
  });

  it('retries a call that throws (throttling) and counts everything failed when it keeps throwing', async () => {
    const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    const once = fakeFirehose([throttled]);
    expect(
      await new FirehoseRecordReingester(once.client, 'raw-stream', { sleep: noSleep }).reingest(records(2)),
    ).toEqual({ failed: 0 });
    expect(once.calls).toHaveLength(2);
    const always = fakeFirehose([], throttled);
    expect(
      await new FirehoseRecordReingester(always.client, 'raw-stream', { sleep: noSleep, maxAttempts: 2 }).reingest(
        records(5),
      ),
    ).toEqual({ failed: 5 });
  });

  it('splits into calls of at most 500 records and 4 MiB', async () => {
    const many = fakeFirehose([]);
    await new FirehoseRecordReingester(many.client, 'raw-stream', { sleep: noSleep }).reingest(records(1200));
    expect(many.calls.map((c) => c.length)).toEqual([500, 500, 200]);
    const big = fakeFirehose([]);
    await new FirehoseRecordReingester(big.client, 'raw-stream', { sleep: noSleep }).reingest(records(10, 900 * 1024));
    for (const c of big.calls) expect(c.reduce((a, e) => a + e.byteLength, 0)).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(big.calls.flat()).toHaveLength(10);
  });

  it('backs off between attempts', async () => {
    const waits: number[] = [];
    const { client } = fakeFirehose([], partial(new Set([0])));
    const r = new FirehoseRecordReingester(client, 'raw-stream', {
      maxAttempts: 4,
      baseDelayMs: 100,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    await r.reingest(records(1));
    expect(waits).toHaveLength(3);
    expect(waits[2]!).toBeGreaterThan(waits[0]!);
  });
});
