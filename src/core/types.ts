/** The six EKS control-plane stream kinds, plus `unknown` for anything else. */
export const LOG_TYPES = [
  'kube-apiserver-audit',
  'kube-apiserver',
  'kube-scheduler',
  'kube-controller-manager',
  'cloud-controller-manager',
  'authenticator',
] as const;
export type KnownLogType = (typeof LOG_TYPES)[number];
export type LogType = KnownLogType | 'unknown';

/** The four klog-formatted component streams (curated table `component_logs`). */
export const KLOG_TYPES = [
  'kube-apiserver',
  'kube-scheduler',
  'kube-controller-manager',
  'cloud-controller-manager',
] as const satisfies readonly KnownLogType[];

/** One event of a CloudWatch Logs subscription message. */
export interface CwlLogEvent {
  readonly id: string;
  readonly timestamp: number;
  readonly message: string;
}

/** A decoded CloudWatch Logs subscription message (the payload Firehose receives). */
export interface SubscriptionMessage {
  readonly messageType: 'DATA_MESSAGE' | 'CONTROL_MESSAGE';
  readonly owner: string;
  readonly logGroup: string;
  readonly logStream: string;
  readonly subscriptionFilters: readonly string[];
  readonly logEvents: readonly CwlLogEvent[];
}

/**
 * How a line was understood. `ok` and `partial` / `unparsed` are the contract of design §3;
 * `bad_envelope` marks an event whose CloudWatch id or timestamp was unusable.
 */
export type ParseStatus = 'ok' | 'partial' | 'unparsed' | 'bad_envelope';

/** Envelope fields present on every raw record (design §3). Reserved names. */
export interface RawEnvelope {
  /** Null only on a `bad_envelope` record whose CloudWatch timestamp was unusable. */
  time: string | null;
  /** Null only on a `bad_envelope` record whose CloudWatch timestamp was unusable. */
  cwl_timestamp: number | null;
  event_id: string;
  account: string;
  region: string;
  cluster: string | null;
  log_group: string;
  log_stream: string;
  log_type: LogType;
  parse_status: ParseStatus;
  parse_error?: string;
}

/** A raw record as it appears on one NDJSON line under `raw/`. */
export type RawRecord = RawEnvelope & Record<string, unknown>;

/** Names the envelope reserves; parsers never emit them from log content. */
export const ENVELOPE_FIELDS = [
  'time',
  'cwl_timestamp',
  'event_id',
  'account',
  'region',
  'cluster',
  'log_group',
  'log_stream',
  'log_type',
  'parse_status',
  'parse_error',
] as const;
