-- name: create-table-audit-hourly-summary
-- kind: ddl
-- description: Creates the curated table audit_hourly_summary: Athena UNLOAD rollup: requests per account, cluster, hour, user, verb, resource and code.
-- param: location location curated/audit_hourly_summary/ table root, lake-relative; partitions are registered one by one
-- idempotent: yes, IF NOT EXISTS; the workflow registers each partition at its current generation
-- generated from src/core/schema.ts by test/sql/ddl.test.ts (vitest -u); do not edit by hand.
CREATE EXTERNAL TABLE IF NOT EXISTS audit_hourly_summary (
  `username` string COMMENT 'user.username',
  `verb` string COMMENT 'verb',
  `resource` string COMMENT 'objectRef.resource',
  `namespace` string COMMENT 'objectRef.namespace',
  `response_code` int COMMENT 'responseStatus.code',
  `requests` bigint COMMENT 'number of audit events (stage ResponseComplete)',
  `denied` bigint COMMENT 'requests with authz_decision = forbid',
  `max_latency_ms` double COMMENT 'slowest request, milliseconds',
  `first_seen` timestamp COMMENT 'earliest event time',
  `last_seen` timestamp COMMENT 'latest event time'
)
COMMENT 'Athena UNLOAD rollup: requests per account, cluster, hour, user, verb, resource and code'
PARTITIONED BY (
  `account` string COMMENT 'AWS account id that owns the source log group',
  `cluster` string COMMENT 'EKS cluster name, from /aws/eks/<cluster>/cluster',
  `dt` string COMMENT 'event date, YYYY-MM-DD (UTC)',
  `hour` string COMMENT 'event hour, HH (UTC)'
)
STORED AS PARQUET
LOCATION {{location}}
TBLPROPERTIES ('parquet.compression' = 'ZSTD')
