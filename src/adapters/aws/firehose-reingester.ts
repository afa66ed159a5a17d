import { type FirehoseClient, PutRecordBatchCommand, type PutRecordBatchCommandOutput } from '@aws-sdk/client-firehose';
import { batchBySize } from '../../core/batch.ts';
import type { RecordReingester } from '../../ports.ts';

/** PutRecordBatch limits: 500 records and 4 MiB per call. */
export const PUT_RECORD_BATCH_MAX_RECORDS = 500;
export const PUT_RECORD_BATCH_MAX_BYTES = 4 * 1024 * 1024;

export interface FirehoseReingesterOptions {
  /** Attempts per batch, first included; failed entries (FailedPutCount / ErrorCode) are retried alone. */
  readonly maxAttempts?: number;
  readonly baseDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** RecordReingester over Firehose PutRecordBatch with per-entry partial-failure retries. */
export class FirehoseRecordReingester implements RecordReingester {
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly client: Pick<FirehoseClient, 'send'>,
    private readonly deliveryStreamName: string,
    options: FirehoseReingesterOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 4;
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async reingest(records: readonly Uint8Array[]): Promise<{ failed: number }> {
    let failed = 0;
    for (const batch of toBatches(records)) failed += await this.putWithRetries(batch);
    return { failed };
  }

  private async putWithRetries(batch: readonly Uint8Array[]): Promise<number> {
    let pending = batch;
    for (let attempt = 1; attempt <= this.maxAttempts && pending.length > 0; attempt++) {
      if (attempt > 1) await this.sleep(this.baseDelayMs * 2 ** (attempt - 2) * (0.5 + Math.random() / 2));
      let out: PutRecordBatchCommandOutput;
      try {
        out = await this.client.send(
          new PutRecordBatchCommand({
            DeliveryStreamName: this.deliveryStreamName,
            Records: pending.map((Data) => ({ Data })),
          }),
        );
      } catch {
        continue; // throttling or a 5xx for the whole call: retry the same entries
      }
      if (!out.FailedPutCount) return 0;
      const responses = out.RequestResponses ?? [];
      // Entries without a response are treated as failed, to err on the side of a duplicate.
      pending = pending.filter((_, i) => responses[i] === undefined || responses[i]!.ErrorCode !== undefined);
    }
    return pending.length;
  }
}

function toBatches(records: readonly Uint8Array[]): Uint8Array[][] {
  return batchBySize(records, (r) => r.byteLength, {
    maxBytes: PUT_RECORD_BATCH_MAX_BYTES,
    maxCount: PUT_RECORD_BATCH_MAX_RECORDS,
  });
}
