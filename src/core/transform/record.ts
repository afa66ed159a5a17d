import { decodeBase64Strict, decodeSubscriptionPayload } from '../decode.ts';
import { DecodeError } from '../errors.ts';
import { classifyLogStream, clusterFromLogGroup, toRawRecordParts } from '../parse/index.ts';
import type { LogType, SubscriptionMessage } from '../types.ts';
import { encodeRecordData } from './destination.ts';
import type { FailureReason, RecordOutcome, TransformOptions } from './types.ts';

/** Subscription-filter name the overflow path adds to re-ingested chunks, so they are never split again. */
export const REINGEST_MARKER = 'eks-log-lake:reingested';

/** A decoded record, or the reason it could not be decoded. */
export type DecodedRecord =
  | { readonly ok: true; readonly message: SubscriptionMessage; readonly inputBytes: number }
  | { readonly ok: false; readonly reason: FailureReason; readonly inputBytes: number };

/** Strict base64, bounded gunzip, envelope check. Never throws for bad data. */
export function decodeRecord(data: string, maxDecodedBytes: number): DecodedRecord {
  if (data.length === 0) return { ok: false, reason: 'empty', inputBytes: 0 };
  let bytes: Uint8Array;
  try {
    bytes = decodeBase64Strict(data);
  } catch (err) {
    return { ok: false, reason: reasonOf(err, 'invalid_base64'), inputBytes: 0 };
  }
  if (bytes.byteLength === 0) return { ok: false, reason: 'empty', inputBytes: 0 };
  try {
    return { ok: true, message: decodeSubscriptionPayload(bytes, { maxDecodedBytes }), inputBytes: bytes.byteLength };
  } catch (err) {
    return { ok: false, reason: reasonOf(err, 'decode_failed'), inputBytes: bytes.byteLength };
  }
}

/** The partition a message's records land in; one message holds one stream, so one log type. */
export function logTypeOf(message: Pick<SubscriptionMessage, 'logGroup' | 'logStream'>): LogType {
  if (clusterFromLogGroup(message.logGroup) === null) return 'unknown';
  return classifyLogStream(message.logStream);
}

/** True when the message is an overflow chunk this transform re-ingested earlier. */
export function isReingested(message: SubscriptionMessage): boolean {
  return Array.isArray(message.subscriptionFilters) && message.subscriptionFilters.includes(REINGEST_MARKER);
}

/** Decodes, checks and transforms one record into its outcome. Never throws for bad data. */
export function transformRecord(data: string, options: TransformOptions): RecordOutcome & { inputBytes: number } {
  const decoded = decodeRecord(data, options.maxDecodedBytes);
  if (!decoded.ok) return { kind: 'failed', reason: decoded.reason, events: 0, inputBytes: decoded.inputBytes };
  const { message, inputBytes } = decoded;
  const events = message.logEvents.length;
  if (message.messageType === 'CONTROL_MESSAGE')
    return { kind: 'dropped', reason: 'control_message', events, inputBytes };
  if (options.allowedAccounts.length > 0 && !options.allowedAccounts.includes(message.owner)) {
    return { kind: 'failed', reason: 'owner_not_allowed', events, inputBytes };
  }
  if (events === 0) return { kind: 'dropped', reason: 'empty_data_message', events, inputBytes };
  // One log group per message, so one check per record; EKS groups with a new stream stay `unknown` in every mode.
  const nonEks = options.nonEksLogGroups;
  if ((nonEks === 'drop' || nonEks === 'quarantine') && clusterFromLogGroup(message.logGroup) === null) {
    return nonEks === 'drop'
      ? { kind: 'dropped', reason: 'non_eks_log_group', events, inputBytes }
      : { kind: 'failed', reason: 'non_eks_log_group', events, inputBytes };
  }
  const { heads, tails, statuses } = toRawRecordParts(message, { region: options.region });
  const logType = logTypeOf(message);
  let textChars = 0;
  for (let i = 0; i < message.logEvents.length; i++) {
    const m = message.logEvents[i]?.message;
    if (typeof m === 'string') textChars += m.length;
  }
  return {
    kind: 'ok',
    logType,
    data: encodeRecordData(heads, options.gzipLevel, tails),
    events,
    lines: heads.length,
    statuses,
    unknown: logType !== 'unknown' ? null : clusterFromLogGroup(message.logGroup) === null ? 'log_group' : 'stream',
    textChars,
    reingested: isReingested(message),
    inputBytes,
  };
}

function reasonOf(err: unknown, fallback: FailureReason): FailureReason {
  if (err instanceof DecodeError && err.code) return err.code;
  if (err instanceof RangeError) return 'too_large';
  return fallback;
}
