import type { LogType, ParseStatus } from '../types.ts';

/** One record of a Firehose data-transformation event (the fields the transform reads). */
export interface TransformInputRecord {
  readonly recordId: string;
  /** Base64 of the gzip'd CloudWatch Logs subscription message. */
  readonly data: string;
}

export type TransformResultStatus = 'Ok' | 'Dropped' | 'ProcessingFailed';

/** One answered record, shaped as Firehose expects it back. */
export interface TransformResultRecord {
  recordId: string;
  result: TransformResultStatus;
  data?: string;
  metadata?: { partitionKeys: { [name: string]: string } };
}

/**
 * Why a record was not delivered: a DecodeError code (`empty`, `invalid_base64`, `not_gzip`,
 * `truncated_gzip`, `trailing_garbage`, `too_large`, `invalid_json`, `bad_envelope`,
 * `unknown_message_type`) or one of ours. These are the only strings about records in our logs.
 */
export type FailureReason =
  | 'empty'
  | 'invalid_base64'
  | 'decode_failed'
  | 'owner_not_allowed'
  | 'non_eks_log_group'
  | 'response_overflow'
  | 'reingest_failed'
  | 'internal_error'
  | (string & {});

export type DropReason = 'control_message' | 'empty_data_message' | 'non_eks_log_group' | 'reingested';

/**
 * What the transform does with records whose log group is not an EKS cluster group
 * (`/aws/eks/<cluster>/cluster`): keep them under `log_type=unknown`, answer them `Dropped`,
 * or answer them `ProcessingFailed` so Firehose keeps them under `errors/`. Counted in every mode.
 */
export type NonEksLogGroupMode = 'keep' | 'drop' | 'quarantine';

/** The accepted values of {@link NonEksLogGroupMode}; `keep` is the default. */
export const NON_EKS_LOG_GROUP_MODES: readonly NonEksLogGroupMode[] = ['keep', 'drop', 'quarantine'];

/** What happened to one input record before the response is assembled. */
export type RecordOutcome =
  | {
      readonly kind: 'ok';
      readonly logType: LogType;
      /** One gzip member holding the record's NDJSON lines. */
      readonly data: Uint8Array;
      /** Events in the message. */
      readonly events: number;
      /** NDJSON lines written (one per event). */
      readonly lines: number;
      /** Lines by parse_status. */
      readonly statuses: Readonly<Record<ParseStatus, number>>;
      /** Why the record's log type is `unknown`: its log group is not an EKS one, or its stream is new. */
      readonly unknown: 'log_group' | 'stream' | null;
      /** UTF-16 length of the events' messages: the "log text" the bench's MB/s counts. */
      readonly textChars: number;
      /** The record is itself a re-ingested overflow chunk and must never be re-ingested again. */
      readonly reingested: boolean;
    }
  | { readonly kind: 'dropped'; readonly reason: DropReason; readonly events: number }
  | { readonly kind: 'failed'; readonly reason: FailureReason; readonly events: number };

/** Settings the core needs (a subset of the function's config). */
export interface TransformOptions {
  readonly region: string;
  readonly allowedAccounts: readonly string[];
  readonly maxDecodedBytes: number;
  readonly responseBudgetBytes: number;
  readonly gzipLevel?: number;
  /** Records from log groups that are not EKS cluster groups; `keep` when unset. */
  readonly nonEksLogGroups?: NonEksLogGroupMode;
}

/** Per-batch tallies for the summary log line and the metrics. */
export interface TransformStats {
  records: number;
  recordsOk: number;
  recordsDropped: number;
  recordsFailed: number;
  recordsReingested: number;
  /** Events found in decodable records. */
  eventsIn: number;
  /** NDJSON lines in Ok records. */
  eventsOut: number;
  /** Lines of Ok records by parse_status (they add up to eventsOut). */
  eventsOk: number;
  eventsPartial: number;
  eventsUnparsed: number;
  eventsBadEnvelope: number;
  /** Lines of Ok records kept as log_type `unknown`: from a log group that is not an EKS one. */
  eventsUnknownLogGroup: number;
  /** Lines of Ok records kept as log_type `unknown`: an EKS log group's stream of no known type. */
  eventsUnknownStream: number;
  /** Events of dropped records (CONTROL_MESSAGE, empty data messages, non-EKS log groups in `drop` mode). */
  eventsDropped: number;
  /** Events of decodable records answered ProcessingFailed (owner not allowed, non-EKS log group in `quarantine` mode, overflow, re-ingest failure). */
  eventsFailed: number;
  /** Records (and their events) answered Dropped because their log group is not an EKS one (`drop` mode). */
  recordsNonEksDropped: number;
  eventsNonEksDropped: number;
  /** Records (and their events) answered ProcessingFailed because their log group is not an EKS one (`quarantine` mode). */
  recordsNonEksQuarantined: number;
  eventsNonEksQuarantined: number;
  /** Events handed to the re-ingest port in chunks. */
  eventsReingested: number;
  /** Decoded (gzip) input bytes. */
  bytesIn: number;
  /** Decoded (gzip) bytes of Ok data. */
  bytesOut: number;
  textChars: number;
  responseBytes: number;
  controlMessages: number;
  emptyDataMessages: number;
  ownerNotAllowed: number;
  failures: Record<string, number>;
}
