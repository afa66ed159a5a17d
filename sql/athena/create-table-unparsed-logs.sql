-- name: create-table-unparsed-logs
-- kind: ddl
-- description: Creates the curated table unparsed_logs: events that could not be parsed or belong to unknown streams; kept verbatim with the reason.
-- param: location location curated/unparsed_logs/ table root, lake-relative; partitions are registered one by one
-- idempotent: yes, IF NOT EXISTS; the workflow registers each partition at its current generation
-- generated from src/core/schema.ts by test/sql/ddl.test.ts (vitest -u); do not edit by hand.
CREATE EXTERNAL TABLE IF NOT EXISTS unparsed_logs (
  `time` timestamp COMMENT 'the event\'s own time (UTC, microseconds)',
  `event_id` string COMMENT 'CloudWatch Logs event id (decimal string); dedupe key with account and log_group',
  `cwl_timestamp` timestamp COMMENT 'CloudWatch Logs event timestamp',
  `region` string COMMENT 'AWS region of the deployment',
  `log_group` string COMMENT 'CloudWatch Logs group',
  `log_stream` string COMMENT 'CloudWatch Logs stream',
  `log_type` string COMMENT 'classified stream type, or unknown',
  `parse_status` string COMMENT 'unparsed | truncated | not_audit_event | unknown_log_type | partial',
  `parse_error` string COMMENT 'why',
  `message` string COMMENT 'the original message (valid UTF-8)',
  `message_b64` string COMMENT 'original bytes as base64 when the message was not valid UTF-8'
)
COMMENT 'events that could not be parsed or belong to unknown streams; kept verbatim with the reason'
PARTITIONED BY (
  `account` string COMMENT 'AWS account id that owns the source log group',
  `cluster` string COMMENT 'EKS cluster name, from /aws/eks/<cluster>/cluster',
  `dt` string COMMENT 'event date, YYYY-MM-DD (UTC)',
  `hour` string COMMENT 'event hour, HH (UTC)'
)
STORED AS PARQUET
LOCATION {{location}}
TBLPROPERTIES ('parquet.compression' = 'ZSTD')
