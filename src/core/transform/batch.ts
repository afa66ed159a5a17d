import { splitForReingest } from './overflow.ts';
import { decodeRecord, transformRecord } from './record.ts';
import type {
  RecordOutcome,
  TransformInputRecord,
  TransformOptions,
  TransformResultRecord,
  TransformStats,
} from './types.ts';

type Outcome = RecordOutcome & { readonly inputBytes: number };

/** Chunks of one record to hand to the re-ingest port; the record answers Dropped if they all go through. */
export interface ReingestRequest {
  readonly index: number;
  readonly recordId: string;
  readonly chunks: readonly Uint8Array[];
  readonly events: number;
}

/** Every record's outcome, plus the overflow records waiting to be re-ingested. */
export interface BatchPlan {
  readonly recordIds: readonly string[];
  readonly outcomes: readonly Outcome[];
  readonly reingest: readonly ReingestRequest[];
}

/** The response for Firehose and the batch's tallies. */
export interface BatchResult {
  readonly records: TransformResultRecord[];
  readonly stats: TransformStats;
}

const RESPONSE_FRAME_BYTES = '{"records":[]}'.length;

/**
 * Transforms every record, then keeps the response within `responseBudgetBytes`: the largest
 * first-time records move to the re-ingest path; records that were already re-ingested are
 * never split again and answer ProcessingFailed (so they land under errors/) if still too big.
 */
export function planBatch(records: readonly TransformInputRecord[], options: TransformOptions): BatchPlan {
  const outcomes: Outcome[] = records.map((r) => safeTransform(r, options));
  const recordIds = records.map((r) => String(r.recordId));
  const reingest: ReingestRequest[] = [];
  let size = RESPONSE_FRAME_BYTES + Math.max(0, records.length - 1);
  for (let i = 0; i < outcomes.length; i++) size += resultBytes(recordIds[i]!, outcomes[i]!);
  if (size <= options.responseBudgetBytes) return { recordIds, outcomes, reingest };

  const bySizeDesc = (reingested: boolean) =>
    outcomes
      .map((o, i) => ({ o, i }))
      .filter(({ o }) => o.kind === 'ok' && o.reingested === reingested)
      .sort((a, b) => (b.o as { data: Uint8Array }).data.byteLength - (a.o as { data: Uint8Array }).data.byteLength)
      .map(({ i }) => i);

  for (const i of bySizeDesc(false)) {
    if (size <= options.responseBudgetBytes) break;
    const before = resultBytes(recordIds[i]!, outcomes[i]!);
    const decoded = decodeRecord(records[i]!.data, options.maxDecodedBytes);
    const chunks = decoded.ok ? splitForReingest(decoded.message) : undefined;
    const events = outcomes[i]!.events;
    if (chunks) {
      outcomes[i] = { kind: 'dropped', reason: 'reingested', events, inputBytes: outcomes[i]!.inputBytes };
      reingest.push({ index: i, recordId: recordIds[i]!, chunks, events });
    } else {
      outcomes[i] = { kind: 'failed', reason: 'response_overflow', events, inputBytes: outcomes[i]!.inputBytes };
    }
    size += resultBytes(recordIds[i]!, outcomes[i]!) - before;
  }
  for (const i of bySizeDesc(true)) {
    if (size <= options.responseBudgetBytes) break;
    const before = resultBytes(recordIds[i]!, outcomes[i]!);
    outcomes[i] = {
      kind: 'failed',
      reason: 'response_overflow',
      events: outcomes[i]!.events,
      inputBytes: outcomes[i]!.inputBytes,
    };
    size += resultBytes(recordIds[i]!, outcomes[i]!) - before;
  }
  return { recordIds, outcomes, reingest };
}

/**
 * Builds the Firehose response once re-ingestion is done. `reingestFailed` holds the indexes
 * whose chunks did not all go through: those answer ProcessingFailed, so Firehose keeps the
 * original under errors/ (chunks that did go through are duplicates that dedupe by event id).
 */
export function settleBatch(plan: BatchPlan, reingestFailed: ReadonlySet<number> = new Set()): BatchResult {
  const stats = emptyStats();
  const records: TransformResultRecord[] = [];
  for (let i = 0; i < plan.outcomes.length; i++) {
    let o = plan.outcomes[i]!;
    if (reingestFailed.has(i) && o.kind === 'dropped' && o.reason === 'reingested') {
      o = { kind: 'failed', reason: 'reingest_failed', events: o.events, inputBytes: o.inputBytes };
    }
    records.push(toResult(plan.recordIds[i]!, o));
    tally(stats, o);
  }
  stats.responseBytes = RESPONSE_FRAME_BYTES + Math.max(0, records.length - 1);
  for (let i = 0; i < records.length; i++) stats.responseBytes += resultJsonBytes(records[i]!);
  return { records, stats };
}

function safeTransform(record: TransformInputRecord, options: TransformOptions): Outcome {
  try {
    if (typeof record.data !== 'string') return { kind: 'failed', reason: 'empty', events: 0, inputBytes: 0 };
    return transformRecord(record.data, options);
  } catch {
    // A parser defect must cost one record, never the batch; the error text may quote log content.
    return { kind: 'failed', reason: 'internal_error', events: 0, inputBytes: 0 };
  }
}

function toResult(recordId: string, o: Outcome): TransformResultRecord {
  if (o.kind === 'ok') {
    return {
      recordId,
      result: 'Ok',
      data: Buffer.from(o.data.buffer, o.data.byteOffset, o.data.byteLength).toString('base64'),
      metadata: { partitionKeys: { log_type: o.logType } },
    };
  }
  return { recordId, result: o.kind === 'dropped' ? 'Dropped' : 'ProcessingFailed' };
}

function resultBytes(recordId: string, o: Outcome): number {
  if (o.kind !== 'ok')
    return resultJsonBytes({ recordId, result: o.kind === 'dropped' ? 'Dropped' : 'ProcessingFailed' });
  return resultJsonBytes(
    { recordId, result: 'Ok', metadata: { partitionKeys: { log_type: o.logType } } },
    4 * Math.ceil(o.data.byteLength / 3),
  );
}

/**
 * UTF-8 length of `JSON.stringify(r)` without building it (the data string is large); pass
 * `dataLength` to size a base64 data string that is not built yet.
 */
export function resultJsonBytes(r: TransformResultRecord, dataLength?: number): number {
  let n = '{"recordId":,"result":""}'.length + jsonStringBytes(r.recordId) + r.result.length;
  const data = dataLength ?? r.data?.length;
  if (data !== undefined) n += ',"data":""'.length + data;
  if (r.metadata) n += ',"metadata":'.length + Buffer.byteLength(JSON.stringify(r.metadata));
  return n;
}

function jsonStringBytes(s: string): number {
  // Record ids are ASCII digits in practice; anything else takes the exact path.
  return /^[\x20-\x7e]*$/.test(s) && !/["\\]/.test(s) ? s.length + 2 : Buffer.byteLength(JSON.stringify(s));
}

function tally(s: TransformStats, o: Outcome): void {
  s.records++;
  s.bytesIn += o.inputBytes;
  if (o.kind === 'ok') {
    s.recordsOk++;
    s.eventsIn += o.events;
    s.eventsOut += o.lines;
    s.eventsOk += o.statuses.ok;
    s.eventsPartial += o.statuses.partial;
    s.eventsUnparsed += o.statuses.unparsed;
    s.eventsBadEnvelope += o.statuses.bad_envelope;
    if (o.unknown === 'log_group') s.eventsUnknownLogGroup += o.lines;
    else if (o.unknown === 'stream') s.eventsUnknownStream += o.lines;
    s.bytesOut += o.data.byteLength;
    s.textChars += o.textChars;
    return;
  }
  s.eventsIn += o.events;
  if (o.kind === 'dropped') {
    s.recordsDropped++;
    if (o.reason === 'reingested') {
      s.recordsReingested++;
      s.eventsReingested += o.events;
    } else {
      s.eventsDropped += o.events;
      if (o.reason === 'control_message') s.controlMessages++;
      else if (o.reason === 'empty_data_message') s.emptyDataMessages++;
      else if (o.reason === 'non_eks_log_group') {
        s.recordsNonEksDropped++;
        s.eventsNonEksDropped += o.events;
      }
    }
    return;
  }
  s.recordsFailed++;
  s.eventsFailed += o.events;
  if (o.reason === 'owner_not_allowed') s.ownerNotAllowed++;
  else if (o.reason === 'non_eks_log_group') {
    s.recordsNonEksQuarantined++;
    s.eventsNonEksQuarantined += o.events;
  }
  s.failures[o.reason] = (s.failures[o.reason] ?? 0) + 1;
}

/** Zeroed tallies. */
export function emptyStats(): TransformStats {
  return {
    records: 0,
    recordsOk: 0,
    recordsDropped: 0,
    recordsFailed: 0,
    recordsReingested: 0,
    eventsIn: 0,
    eventsOut: 0,
    eventsOk: 0,
    eventsPartial: 0,
    eventsUnparsed: 0,
    eventsBadEnvelope: 0,
    eventsUnknownLogGroup: 0,
    eventsUnknownStream: 0,
    eventsDropped: 0,
    eventsFailed: 0,
    recordsNonEksDropped: 0,
    eventsNonEksDropped: 0,
    recordsNonEksQuarantined: 0,
    eventsNonEksQuarantined: 0,
    eventsReingested: 0,
    bytesIn: 0,
    bytesOut: 0,
    textChars: 0,
    responseBytes: 0,
    controlMessages: 0,
    emptyDataMessages: 0,
    ownerNotAllowed: 0,
    failures: {},
  };
}
