import {
  InvalidArgumentException,
  PutRecordBatchCommand,
  type PutRecordBatchCommandOutput,
  type PutRecordBatchResponseEntry,
} from '@aws-sdk/client-firehose';

/** Firehose PutRecordBatch limits, as the service enforces them. */
const MAX_RECORDS = 500;
const MAX_REQUEST_BYTES = 4 * 1024 * 1024;
const MAX_RECORD_BYTES = 1_000 * 1024;

const keyOf = (data: Uint8Array) => Buffer.from(data).toString('hex');

/**
 * A delivery stream behind `send(command)` with PutRecordBatch's request limits and response
 * shape: a request over 500 records, 4 MiB or a record over 1,000 KiB fails whole with
 * InvalidArgumentException; refused entries come back with an ErrorCode and FailedPutCount.
 */
export class FakeFirehose {
  /** Records accepted, in order. */
  readonly delivered: Uint8Array[] = [];
  /** Entries of each PutRecordBatch call, accepted or not. */
  readonly calls: Uint8Array[][] = [];
  private readonly refusals = new Map<string, number>();
  private nextId = 0;

  constructor(private readonly deliveryStreamName: string) {}

  /** Refuses these records (by content) on their next `sends` sends; Infinity refuses them always. */
  refuse(records: readonly Uint8Array[], sends: number): void {
    for (const r of records) this.refusals.set(keyOf(r), (this.refusals.get(keyOf(r)) ?? 0) + sends);
  }

  async send(command: unknown): Promise<PutRecordBatchCommandOutput> {
    if (!(command instanceof PutRecordBatchCommand)) {
      throw new Error(`FakeFirehose: unexpected ${(command as object).constructor.name}`);
    }
    if (command.input.DeliveryStreamName !== this.deliveryStreamName) {
      throw new Error(`FakeFirehose: no delivery stream ${command.input.DeliveryStreamName}`);
    }
    const entries = (command.input.Records ?? []).map((r) => r.Data as Uint8Array);
    this.calls.push(entries);
    const bytes = entries.reduce((n, e) => n + e.byteLength, 0);
    if (entries.length === 0 || entries.length > MAX_RECORDS || bytes > MAX_REQUEST_BYTES) {
      throw new InvalidArgumentException({
        message: `PutRecordBatch of ${entries.length} records, ${bytes} bytes is outside 1-${MAX_RECORDS} records and ${MAX_REQUEST_BYTES} bytes`,
        $metadata: { httpStatusCode: 400 },
      });
    }
    if (entries.some((e) => e.byteLength > MAX_RECORD_BYTES)) {
      throw new InvalidArgumentException({
        message: `a record exceeds ${MAX_RECORD_BYTES} bytes`,
        $metadata: { httpStatusCode: 400 },
      });
    }
    const responses: PutRecordBatchResponseEntry[] = entries.map((e) => {
      const left = this.refusals.get(keyOf(e)) ?? 0;
      if (left > 0) {
        this.refusals.set(keyOf(e), left - 1);
        return { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' };
      }
      this.delivered.push(e);
      return {
        RecordId: `49655930146437906823466395364870548451392014290113560${String(this.nextId++).padStart(3, '0')}`,
      };
    });
    return {
      FailedPutCount: responses.filter((r) => r.ErrorCode !== undefined).length,
      Encrypted: true,
      RequestResponses: responses,
      $metadata: { httpStatusCode: 200 },
    };
  }
}
