import type { TransformStats } from './types.ts';

/** EMF metric names the transform emits (infra alarms on some of them). */
export const TRANSFORM_METRICS = {
  records: 'records_in',
  recordsOk: 'records_ok',
  recordsDropped: 'records_dropped',
  recordsFailed: 'records_failed',
  recordsReingested: 'records_reingested',
  eventsIn: 'events_in',
  eventsOut: 'events_out',
  /** Lines written by parse_status; a rise in partial or unparsed means a log format changed. */
  eventsOk: 'events_ok',
  eventsPartial: 'events_partial',
  eventsUnparsed: 'events_unparsed',
  /** Events whose CloudWatch id or timestamp was unusable (compaction quarantines them). */
  eventsBadEnvelope: 'events_bad_envelope',
  /** Events kept as `unknown` (counted by parse_status too): a subscription on a non-EKS log group. */
  eventsUnknownLogGroup: 'events_unknown_log_group',
  /** Events kept as `unknown` (counted by parse_status too): an EKS stream of no known type. */
  eventsUnknownStream: 'events_unknown_stream',
  /** Records and events answered Dropped because their log group is not an EKS one (`nonEksLogGroups: drop`). */
  recordsNonEksDropped: 'records_non_eks_dropped',
  eventsNonEksDropped: 'events_non_eks_dropped',
  /** Records and events answered ProcessingFailed (kept under errors/) for the same reason (`quarantine`). */
  recordsNonEksQuarantined: 'records_non_eks_quarantined',
  eventsNonEksQuarantined: 'events_non_eks_quarantined',
  eventsDropped: 'events_dropped',
  eventsFailed: 'events_failed',
  eventsReingested: 'events_reingested',
  bytesIn: 'bytes_in',
  bytesOut: 'bytes_out',
  responseBytes: 'response_bytes',
  controlMessages: 'control_messages',
  emptyDataMessages: 'empty_data_messages',
  ownerNotAllowed: 'owner_not_allowed',
  /** Records answered ProcessingFailed because they could not be decoded (any decode reason). */
  decodeFailed: 'decode_failed',
  reingestFailed: 'reingest_failed',
  responseOverflow: 'response_overflow',
} as const;

const NOT_DECODE_FAILURES = new Set(['owner_not_allowed', 'non_eks_log_group', 'reingest_failed', 'response_overflow']);

/** Metric name → value for one batch, every name present (zeros included, so alarms see data). */
export function statsToMetrics(stats: TransformStats): Record<string, number> {
  const m = TRANSFORM_METRICS;
  let decodeFailed = 0;
  for (const [reason, n] of Object.entries(stats.failures)) if (!NOT_DECODE_FAILURES.has(reason)) decodeFailed += n;
  return {
    [m.records]: stats.records,
    [m.recordsOk]: stats.recordsOk,
    [m.recordsDropped]: stats.recordsDropped,
    [m.recordsFailed]: stats.recordsFailed,
    [m.recordsReingested]: stats.recordsReingested,
    [m.eventsIn]: stats.eventsIn,
    [m.eventsOut]: stats.eventsOut,
    [m.eventsOk]: stats.eventsOk,
    [m.eventsPartial]: stats.eventsPartial,
    [m.eventsUnparsed]: stats.eventsUnparsed,
    [m.eventsBadEnvelope]: stats.eventsBadEnvelope,
    [m.eventsUnknownLogGroup]: stats.eventsUnknownLogGroup,
    [m.eventsUnknownStream]: stats.eventsUnknownStream,
    [m.recordsNonEksDropped]: stats.recordsNonEksDropped,
    [m.eventsNonEksDropped]: stats.eventsNonEksDropped,
    [m.recordsNonEksQuarantined]: stats.recordsNonEksQuarantined,
    [m.eventsNonEksQuarantined]: stats.eventsNonEksQuarantined,
    [m.eventsDropped]: stats.eventsDropped,
    [m.eventsFailed]: stats.eventsFailed,
    [m.eventsReingested]: stats.eventsReingested,
    [m.bytesIn]: stats.bytesIn,
    [m.bytesOut]: stats.bytesOut,
    [m.responseBytes]: stats.responseBytes,
    [m.controlMessages]: stats.controlMessages,
    [m.emptyDataMessages]: stats.emptyDataMessages,
    [m.ownerNotAllowed]: stats.ownerNotAllowed,
    [m.decodeFailed]: decodeFailed,
    [m.reingestFailed]: stats.failures['reingest_failed'] ?? 0,
    [m.responseOverflow]: stats.failures['response_overflow'] ?? 0,
  };
}
