/**
 * Environment variable names every Lambda may read. CDK sets them (with the matching grant)
 * through one helper in infra/; handlers read them once at cold start via readConfig.
 */
export const ENV = {
  /** Lake bucket holding raw/, curated/, errors/, quarantine/, control/. */
  LAKE_BUCKET: 'LAKE_BUCKET',
  /** Region written into every raw record. Lambda sets AWS_REGION itself. */
  REGION: 'AWS_REGION',
  /** Comma-separated source account ids; empty means all. */
  ALLOWED_ACCOUNTS: 'ALLOWED_ACCOUNTS',
  /** Firehose delivery stream the transform re-ingests overflow into. */
  DELIVERY_STREAM_NAME: 'DELIVERY_STREAM_NAME',
  GLUE_DATABASE: 'GLUE_DATABASE',
  ATHENA_WORKGROUP: 'ATHENA_WORKGROUP',
  /** How late (hours) a raw object may arrive and still be planned into its event-time partition. */
  LATE_HORIZON_HOURS: 'LATE_HORIZON_HOURS',
  MAX_BACKFILL_DAYS: 'MAX_BACKFILL_DAYS',
  LEASE_TTL_SECONDS: 'LEASE_TTL_SECONDS',
  GC_GRACE_HOURS: 'GC_GRACE_HOURS',
  /** Failed runs after which WriteLedger marks a raw object poison and quarantines it. */
  POISON_AFTER_FAILED_RUNS: 'POISON_AFTER_FAILED_RUNS',
  /** Watermark lag (hours) PlanWindow catches up by itself before it names a backfill. */
  MAX_CATCH_UP_HOURS: 'MAX_CATCH_UP_HOURS',
  /** WriteLedger: hours after its last event a cluster is still expected to deliver. */
  QUIET_CLUSTERS_LOOKBACK_HOURS: 'QUIET_CLUSTERS_LOOKBACK_HOURS',
  /** WriteLedger: complete hours without an event after which such a cluster is quiet. */
  QUIET_CLUSTERS_SILENT_HOURS: 'QUIET_CLUSTERS_SILENT_HOURS',
  /** WriteLedger: comma-separated `<account>/<cluster>` never reported as quiet; unset means none. */
  QUIET_CLUSTERS_IGNORED: 'QUIET_CLUSTERS_IGNORED',
  POWERTOOLS_LOG_LEVEL: 'POWERTOOLS_LOG_LEVEL',
  /** CloudWatch namespace of the EMF metrics (Powertools reads it too). */
  METRICS_NAMESPACE: 'POWERTOOLS_METRICS_NAMESPACE',
  /** Transform: largest decoded subscription payload accepted, in bytes (gzip-bomb bound). */
  TRANSFORM_MAX_DECODED_BYTES: 'TRANSFORM_MAX_DECODED_BYTES',
  /** Transform: response size the handler keeps under, in bytes (Lambda allows 6 MB). */
  TRANSFORM_RESPONSE_BUDGET_BYTES: 'TRANSFORM_RESPONSE_BUDGET_BYTES',
  /** Transform: `keep`, `drop` or `quarantine` records whose log group is not an EKS cluster group. */
  TRANSFORM_NON_EKS_LOG_GROUPS: 'TRANSFORM_NON_EKS_LOG_GROUPS',
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];
