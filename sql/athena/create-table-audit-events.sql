-- name: create-table-audit-events
-- kind: ddl
-- description: Creates the curated table audit_events: Kubernetes API audit events (audit.k8s.io/v1 Event), one row per event and stage.
-- param: location location curated/audit_events/ table root, lake-relative; partitions are registered one by one
-- idempotent: yes, IF NOT EXISTS; the workflow registers each partition at its current generation
-- generated from src/core/schema.ts by test/sql/ddl.test.ts (vitest -u); do not edit by hand.
CREATE EXTERNAL TABLE IF NOT EXISTS audit_events (
  `time` timestamp COMMENT 'the event\'s own time (UTC, microseconds)',
  `event_id` string COMMENT 'CloudWatch Logs event id (decimal string); dedupe key with account and log_group',
  `cwl_timestamp` timestamp COMMENT 'CloudWatch Logs event timestamp',
  `region` string COMMENT 'AWS region of the deployment',
  `log_group` string COMMENT 'CloudWatch Logs group',
  `log_stream` string COMMENT 'CloudWatch Logs stream',
  `audit_id` string COMMENT 'auditID',
  `stage` string COMMENT 'RequestReceived | ResponseStarted | ResponseComplete | Panic',
  `level` string COMMENT 'audit level: Metadata | Request | RequestResponse',
  `verb` string COMMENT 'get, list, watch, create, update, patch, delete, …',
  `request_uri` string COMMENT 'requestURI',
  `username` string COMMENT 'user.username',
  `user_uid` string COMMENT 'user.uid',
  `user_groups` array<string> COMMENT 'user.groups',
  `user_extra` string COMMENT 'user.extra as JSON',
  `impersonated_user` string COMMENT 'impersonatedUser.username',
  `source_ips` array<string> COMMENT 'sourceIPs',
  `user_agent` string COMMENT 'userAgent',
  `resource` string COMMENT 'objectRef.resource',
  `subresource` string COMMENT 'objectRef.subresource',
  `namespace` string COMMENT 'objectRef.namespace',
  `name` string COMMENT 'objectRef.name',
  `api_group` string COMMENT 'objectRef.apiGroup (null for the core group)',
  `api_version` string COMMENT 'objectRef.apiVersion',
  `response_code` int COMMENT 'responseStatus.code',
  `response_status` string COMMENT 'responseStatus.status',
  `response_reason` string COMMENT 'responseStatus.reason',
  `response_message` string COMMENT 'responseStatus.message',
  `authz_decision` string COMMENT 'annotations["authorization.k8s.io/decision"]',
  `authz_reason` string COMMENT 'annotations["authorization.k8s.io/reason"]',
  `annotations` map<string,string> COMMENT 'all audit annotations',
  `request_received_time` timestamp COMMENT 'requestReceivedTimestamp',
  `stage_time` timestamp COMMENT 'stageTimestamp',
  `latency_ms` double COMMENT 'stageTimestamp - requestReceivedTimestamp, milliseconds',
  `request_object` string COMMENT 'requestObject as JSON text (integers exact)',
  `response_object` string COMMENT 'responseObject as JSON text (integers exact)'
)
COMMENT 'Kubernetes API audit events (audit.k8s.io/v1 Event), one row per event and stage'
PARTITIONED BY (
  `account` string COMMENT 'AWS account id that owns the source log group',
  `cluster` string COMMENT 'EKS cluster name, from /aws/eks/<cluster>/cluster',
  `dt` string COMMENT 'event date, YYYY-MM-DD (UTC)',
  `hour` string COMMENT 'event hour, HH (UTC)'
)
STORED AS PARQUET
LOCATION {{location}}
TBLPROPERTIES ('parquet.compression' = 'ZSTD')
