import { gzipSync } from 'node:zlib';
import type {
  FirehoseTransformationEvent,
  FirehoseTransformationResult,
  FirehoseTransformationResultRecord,
} from 'aws-lambda';
import { createRng, type Rng } from '../../core/generate/rng.ts';
import type { Delivery } from '../../core/generate/traffic.ts';
import { assembleDeliveredObject, RAW_DESTINATION } from '../../core/transform/destination.ts';
import type { SubscriptionMessage } from '../../core/types.ts';
import type { ObjectStore, RecordReingester } from '../../ports.ts';

/** zlib level CloudWatch Logs' own gzip resembles (the default). */
const CWL_GZIP_LEVEL = 6;
/** Lambda's synchronous response limit, in bytes. */
const LAMBDA_RESPONSE_LIMIT = 6_291_556;
const MiB = 1024 * 1024;

/** Gzips a subscription message as CloudWatch Logs hands it to Firehose (one record's data). */
export function encodeSubscriptionMessage(message: SubscriptionMessage, level = CWL_GZIP_LEVEL): Uint8Array {
  return gzipSync(JSON.stringify(message), { level });
}

/** The processor Lambda as Firehose calls it. */
export type FirehoseProcessor = (event: FirehoseTransformationEvent) => Promise<FirehoseTransformationResult>;

export interface LocalFirehoseOptions {
  readonly store: ObjectStore;
  /** Builds the processor given the stream's own re-ingest port (PutRecordBatch back into it). */
  readonly processor: (reingester: RecordReingester) => FirehoseProcessor;
  readonly deliveryStreamName?: string;
  readonly deliveryStreamVersion?: number;
  /** Seeds record ids, invocation ids and object-name suffixes, so runs are reproducible. */
  readonly seed?: number;
  readonly region?: string;
  readonly account?: string;
  /** Processor (Lambda) buffer: incoming bytes and seconds, whichever fills first. */
  readonly processorBufferBytes?: number;
  readonly processorIntervalMs?: number;
  /** S3 destination buffer per partition. */
  readonly bufferBytes?: number;
  readonly bufferIntervalMs?: number;
  /** Invocation retries after a failed invocation (Firehose's default is 3). */
  readonly invocationRetries?: number;
}

/** What the stream did, for summaries and conservation checks. */
export interface FirehoseDeliveryStats {
  /** Records put by the source (CloudWatch Logs). */
  recordsIn: number;
  /** Records the processor put back through the re-ingest port. */
  recordsReingested: number;
  invocations: number;
  failedInvocations: number;
  ok: number;
  dropped: number;
  processingFailed: number;
  /** Incoming record bytes (gzip'd subscription messages). */
  bytesIn: number;
  objects: number;
  /** Bytes written under raw/. */
  objectBytes: number;
  /** Objects per log_type partition key. */
  objectsByLogType: Record<string, number>;
  errorObjects: number;
  errorRecords: number;
}

interface InRecord {
  recordId: string;
  data: Uint8Array;
  arrival: number;
}

interface PartitionBuffer {
  logType: string;
  opened: number;
  oldestArrival: number;
  bytes: number;
  records: Uint8Array[];
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** Renders Firehose's `!{namespace:expression}` prefix placeholders this project uses. */
export function renderFirehosePrefix(
  template: string,
  arrivalMs: number,
  values: { partitionKeys?: Record<string, string>; errorOutputType?: string },
): string {
  const d = new Date(arrivalMs);
  return template.replace(/!\{([a-zA-Z]+):([^}]+)\}/g, (whole, ns: string, expr: string) => {
    if (ns === 'timestamp') {
      return expr
        .replace('yyyy', String(d.getUTCFullYear()))
        .replace('MM', pad2(d.getUTCMonth() + 1))
        .replace('dd', pad2(d.getUTCDate()))
        .replace('HH', pad2(d.getUTCHours()));
    }
    if (ns === 'partitionKeyFromLambda') {
      const v = values.partitionKeys?.[expr];
      if (v === undefined) throw new Error(`missing partition key ${expr}`);
      return v;
    }
    if (ns === 'firehose' && expr === 'error-output-type') return values.errorOutputType ?? 'processing-failed';
    return whole;
  });
}

/**
 * A Firehose delivery stream on the local machine: buffers records for the processor by size and
 * interval (on the records' arrival clock, not the wall clock), calls the real transform handler,
 * applies its answers (Ok / Dropped / ProcessingFailed, `log_type` partition keys), and writes
 * objects as Firehose does (`raw/…/<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<id>.gz`, failures
 * under `errors/processing-failed/`).
 */
export class LocalFirehose {
  readonly stats: FirehoseDeliveryStats = {
    recordsIn: 0,
    recordsReingested: 0,
    invocations: 0,
    failedInvocations: 0,
    ok: 0,
    dropped: 0,
    processingFailed: 0,
    bytesIn: 0,
    objects: 0,
    objectBytes: 0,
    objectsByLogType: {},
    errorObjects: 0,
    errorRecords: 0,
  };
  /** Keys written, in order. */
  readonly keys: string[] = [];

  private readonly store: ObjectStore;
  private readonly process: FirehoseProcessor;
  private readonly name: string;
  private readonly version: number;
  private readonly rng: Rng;
  private readonly region: string;
  private readonly account: string;
  private readonly processorBufferBytes: number;
  private readonly processorIntervalMs: number;
  private readonly bufferBytes: number;
  private readonly bufferIntervalMs: number;
  private readonly retries: number;

  private now = 0;
  private seq = 0;
  private pending: InRecord[] = [];
  private pendingBytes = 0;
  private pendingOpened = 0;
  private readonly partitions = new Map<string, PartitionBuffer>();
  private readonly reingestQueue: Uint8Array[] = [];

  constructor(opts: LocalFirehoseOptions) {
    this.store = opts.store;
    this.name = opts.deliveryStreamName ?? 'eks-log-lake-raw';
    this.version = opts.deliveryStreamVersion ?? 1;
    this.rng = createRng(opts.seed ?? 1);
    this.region = opts.region ?? 'eu-west-1';
    this.account = opts.account ?? '000000000000';
    this.processorBufferBytes = opts.processorBufferBytes ?? RAW_DESTINATION.processorBufferMb * MiB;
    this.processorIntervalMs = opts.processorIntervalMs ?? RAW_DESTINATION.processorBufferIntervalSeconds * 1000;
    this.bufferBytes = opts.bufferBytes ?? RAW_DESTINATION.bufferMb * MiB;
    this.bufferIntervalMs = opts.bufferIntervalMs ?? RAW_DESTINATION.bufferIntervalSeconds * 1000;
    this.retries = opts.invocationRetries ?? 3;
    const reingester: RecordReingester = {
      reingest: async (records) => {
        this.reingestQueue.push(...records);
        return { failed: 0 };
      },
    };
    this.process = opts.processor(reingester);
  }

  /** Puts one record (a gzip'd subscription message) that arrives at `arrival`. */
  async put(data: Uint8Array, arrival: Date): Promise<void> {
    await this.advance(arrival.getTime());
    this.stats.recordsIn++;
    await this.enqueue(data);
  }

  /** Moves the stream's clock forward, firing every buffer whose interval has elapsed. */
  async advance(to: number): Promise<void> {
    while (true) {
      const procDue =
        this.pending.length > 0 ? this.pendingOpened + this.processorIntervalMs : Number.POSITIVE_INFINITY;
      let destDue = Number.POSITIVE_INFINITY;
      let destKey: string | undefined;
      for (const [k, b] of this.partitions) {
        if (b.opened + this.bufferIntervalMs < destDue) {
          destDue = b.opened + this.bufferIntervalMs;
          destKey = k;
        }
      }
      const due = Math.min(procDue, destDue);
      if (due > to) break;
      this.now = Math.max(this.now, due);
      if (procDue <= destDue) await this.invoke();
      else await this.writePartition(destKey!);
    }
    this.now = Math.max(this.now, to);
  }

  /** Delivers everything still buffered, as the stream would once its intervals elapse. */
  async flush(): Promise<void> {
    while (this.pending.length > 0) await this.invoke();
    for (const k of [...this.partitions.keys()]) await this.writePartition(k);
  }

  private async enqueue(data: Uint8Array): Promise<void> {
    if (this.pending.length > 0 && this.pendingBytes + data.byteLength > this.processorBufferBytes) await this.invoke();
    if (this.pending.length === 0) this.pendingOpened = this.now;
    this.pending.push({ recordId: this.recordId(), data, arrival: this.now });
    this.pendingBytes += data.byteLength;
    this.stats.bytesIn += data.byteLength;
  }

  private recordId(): string {
    // Firehose record ids are long opaque digit strings; ours are unique and reproducible.
    return `${String(++this.seq).padStart(12, '0')}${this.rng.digits(44)}`;
  }

  private async invoke(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    if (batch.length === 0) return;
    const event: FirehoseTransformationEvent = {
      invocationId: this.rng.uuid(),
      deliveryStreamArn: `arn:aws:firehose:${this.region}:${this.account}:deliverystream/${this.name}`,
      region: this.region,
      records: batch.map((r) => ({
        recordId: r.recordId,
        approximateArrivalTimestamp: r.arrival,
        data: Buffer.from(r.data).toString('base64'),
      })),
    };
    let answer: Map<string, FirehoseTransformationResultRecord> | undefined;
    let failure = { code: '', message: '' };
    let attempts = 0;
    while (attempts <= this.retries && answer === undefined) {
      attempts++;
      this.stats.invocations++;
      try {
        const result = await this.process(event);
        const checked = checkResponse(batch, result);
        if (typeof checked === 'string') failure = { code: 'Lambda.InvalidOutput', message: checked };
        else answer = checked;
      } catch (err) {
        failure = { code: 'Lambda.FunctionError', message: err instanceof Error ? err.message : String(err) };
      }
      if (answer === undefined) this.stats.failedInvocations++;
    }
    const failed: { rec: InRecord; code: string; message: string }[] = [];
    if (answer === undefined) {
      for (const rec of batch) failed.push({ rec, ...failure });
    } else {
      for (const rec of batch) {
        const out = answer.get(rec.recordId)!;
        if (out.result === 'Dropped') {
          this.stats.dropped++;
          continue;
        }
        if (out.result === 'ProcessingFailed') {
          this.stats.processingFailed++;
          failed.push({
            rec,
            code: 'Lambda.ProcessingFailedStatus',
            message: 'ProcessingFailed status returned from the Lambda function',
          });
          continue;
        }
        const logType = out.metadata?.partitionKeys?.[RAW_DESTINATION.partitionKey];
        if (logType === undefined) {
          failed.push({
            rec,
            code: 'DynamicPartitioning.MetadataExtractionFailed',
            message: `partition key ${RAW_DESTINATION.partitionKey} missing from the processor's answer`,
          });
          continue;
        }
        this.stats.ok++;
        await this.addToPartition(logType, rec.arrival, Buffer.from(out.data ?? '', 'base64'));
      }
    }
    if (failed.length > 0) await this.writeErrors(failed, attempts);
    // Re-ingested records come back in through PutRecordBatch, arriving now.
    while (this.reingestQueue.length > 0) {
      const data = this.reingestQueue.shift()!;
      this.stats.recordsReingested++;
      await this.enqueue(data);
    }
  }

  private async addToPartition(logType: string, arrival: number, data: Uint8Array): Promise<void> {
    const prefix = renderFirehosePrefix(RAW_DESTINATION.prefix, arrival, { partitionKeys: { log_type: logType } });
    let b = this.partitions.get(prefix);
    if (b && b.bytes + data.byteLength > this.bufferBytes) {
      await this.writePartition(prefix);
      b = undefined;
    }
    if (!b) {
      b = { logType, opened: this.now, oldestArrival: arrival, bytes: 0, records: [] };
      this.partitions.set(prefix, b);
    }
    b.records.push(data);
    b.bytes += data.byteLength;
    b.oldestArrival = Math.min(b.oldestArrival, arrival);
  }

  private objectName(arrival: number): string {
    const d = new Date(arrival);
    const stamp = `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}-${pad2(d.getUTCHours())}-${pad2(d.getUTCMinutes())}-${pad2(d.getUTCSeconds())}`;
    return `${this.name}-${this.version}-${stamp}-${this.rng.uuid()}`;
  }

  private async writePartition(prefix: string): Promise<void> {
    const b = this.partitions.get(prefix);
    if (!b) return;
    this.partitions.delete(prefix);
    const key = `${prefix}${this.objectName(b.oldestArrival)}${RAW_DESTINATION.fileExtension}`;
    const body = assembleDeliveredObject(b.records);
    await this.store.put(key, body);
    this.keys.push(key);
    this.stats.objects++;
    this.stats.objectBytes += body.byteLength;
    this.stats.objectsByLogType[b.logType] = (this.stats.objectsByLogType[b.logType] ?? 0) + 1;
  }

  private async writeErrors(
    failed: { rec: InRecord; code: string; message: string }[],
    attempts: number,
  ): Promise<void> {
    const oldest = Math.min(...failed.map((f) => f.rec.arrival));
    const prefix = renderFirehosePrefix(RAW_DESTINATION.errorOutputPrefix, oldest, {
      errorOutputType: 'processing-failed',
    });
    const lambdaArn = `arn:aws:lambda:${this.region}:${this.account}:function:${this.name}-transform:$LATEST`;
    const lines = failed.map((f) =>
      JSON.stringify({
        attemptsMade: attempts,
        arrivalTimestamp: f.rec.arrival,
        errorCode: f.code,
        errorMessage: f.message,
        attemptEndingTimestamp: this.now,
        rawData: Buffer.from(f.rec.data).toString('base64'),
        lambdaArn,
      }),
    );
    const key = `${prefix}${this.objectName(oldest)}`;
    await this.store.put(key, `${lines.join('\n')}\n`);
    this.keys.push(key);
    this.stats.errorObjects++;
    this.stats.errorRecords += failed.length;
  }
}

/** Checks Firehose's rules for a processor answer; returns the answers by id or why they are invalid. */
function checkResponse(
  batch: readonly InRecord[],
  result: FirehoseTransformationResult | undefined,
): Map<string, FirehoseTransformationResultRecord> | string {
  if (!result || !Array.isArray(result.records)) return 'response has no records array';
  const size = Buffer.byteLength(JSON.stringify(result));
  if (size > LAMBDA_RESPONSE_LIMIT) return `response of ${size} bytes exceeds Lambda's ${LAMBDA_RESPONSE_LIMIT}`;
  const byId = new Map<string, FirehoseTransformationResultRecord>();
  for (const r of result.records) {
    if (byId.has(r.recordId)) return `recordId ${r.recordId} answered twice`;
    if (r.result !== 'Ok' && r.result !== 'Dropped' && r.result !== 'ProcessingFailed')
      return `recordId ${r.recordId} has result ${String(r.result)}`;
    if (r.result === 'Ok' && typeof r.data !== 'string') return `recordId ${r.recordId} is Ok without data`;
    byId.set(r.recordId, r);
  }
  if (byId.size !== batch.length || batch.some((b) => !byId.has(b.recordId)))
    return 'response does not answer every recordId exactly once';
  return byId;
}

/** Puts every delivery into the stream in arrival order, then flushes it. */
export async function deliverTraffic(
  deliveries: Iterable<Delivery>,
  firehose: LocalFirehose,
  encode: (m: SubscriptionMessage) => Uint8Array = encodeSubscriptionMessage,
): Promise<FirehoseDeliveryStats> {
  for (const d of deliveries) await firehose.put(encode(d.message), d.arrival);
  await firehose.flush();
  return firehose.stats;
}
