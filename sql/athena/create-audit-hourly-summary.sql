-- name: create-audit-hourly-summary
-- kind: workflow
-- description: Builds one hour of audit_hourly_summary for one account and cluster into a fresh generation prefix.
-- param: planId token p20260101t0000 plan that owns this generation; tags the statement for tracing
-- param: account string 111122223333 partition value: AWS account id
-- param: cluster string prod-eu-1 partition value: EKS cluster name
-- param: dt date 2026-01-01 partition value: event date, UTC
-- param: hour hour 00 partition value: event hour, UTC
-- param: location location curated/audit_hourly_summary/account=111122223333/cluster=prod-eu-1/dt=2026-01-01/hour=00/gen=p20260101t0000/ the generation prefix, lake-relative, empty
-- idempotent: no; the target must be empty (Athena refuses otherwise), so a retry uses a new planId and location
-- This is Athena's CREATE TABLE AS without the table: UNLOAD writes the same Parquet files but
-- creates no catalog entry, so there is no uniquely named temporary table to create and drop per
-- hour. The files hold no partition columns (Hive layout); the workflow then points the catalog
-- partition (account, cluster, dt, hour) at this generation, which publishes it atomically.
-- One statement per (account, cluster, hour), written unpartitioned, so it can never reach the
-- 100-partition limit of CTAS/UNLOAD (HIVE_TOO_MANY_OPEN_PARTITIONS).
UNLOAD (
  SELECT
    username,
    verb,
    resource,
    namespace,
    response_code,
    count(*) AS requests,
    count_if(authz_decision = 'forbid') AS denied,
    max(latency_ms) AS max_latency_ms,
    min(time) AS first_seen,
    max(time) AS last_seen
  FROM audit_events
  WHERE account = {{account}}
    AND cluster = {{cluster}}
    AND dt = {{dt}}
    AND hour = {{hour}}
    AND stage = 'ResponseComplete'
  GROUP BY username, verb, resource, namespace, response_code
  ORDER BY username, verb, resource
)
TO {{location}}
WITH (format = 'PARQUET', compression = 'ZSTD')
-- plan {{planId}}
