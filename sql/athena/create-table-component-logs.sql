-- name: create-table-component-logs
-- kind: ddl
-- description: Creates the curated table component_logs: klog lines of kube-apiserver, kube-scheduler, kube-controller-manager and cloud-controller-manager.
-- param: location location curated/component_logs/ table root, lake-relative; partitions are registered one by one
-- idempotent: yes, IF NOT EXISTS; the workflow registers each partition at its current generation
-- generated from src/core/schema.ts by test/sql/ddl.test.ts (vitest -u); do not edit by hand.
CREATE EXTERNAL TABLE IF NOT EXISTS component_logs (
  `time` timestamp COMMENT 'the event\'s own time (UTC, microseconds)',
  `event_id` string COMMENT 'CloudWatch Logs event id (decimal string); dedupe key with account and log_group',
  `cwl_timestamp` timestamp COMMENT 'CloudWatch Logs event timestamp',
  `region` string COMMENT 'AWS region of the deployment',
  `log_group` string COMMENT 'CloudWatch Logs group',
  `log_stream` string COMMENT 'CloudWatch Logs stream',
  `log_type` string COMMENT 'kube-apiserver | kube-scheduler | kube-controller-manager | cloud-controller-manager',
  `severity` string COMMENT 'INFO | WARNING | ERROR | FATAL',
  `thread_id` bigint COMMENT 'klog thread id',
  `source_file` string COMMENT 'source file of the log call',
  `source_line` int COMMENT 'source line of the log call',
  `msg` string COMMENT 'the message (unquoted for structured logs)',
  `kv` map<string,string> COMMENT 'structured key=value pairs',
  `message` string COMMENT 'the original line, verbatim',
  `parse_status` string COMMENT 'ok | partial',
  `parse_error` string COMMENT 'why the line was only partly understood'
)
COMMENT 'klog lines of kube-apiserver, kube-scheduler, kube-controller-manager and cloud-controller-manager'
PARTITIONED BY (
  `account` string COMMENT 'AWS account id that owns the source log group',
  `cluster` string COMMENT 'EKS cluster name, from /aws/eks/<cluster>/cluster',
  `dt` string COMMENT 'event date, YYYY-MM-DD (UTC)',
  `hour` string COMMENT 'event hour, HH (UTC)'
)
STORED AS PARQUET
LOCATION {{location}}
TBLPROPERTIES ('parquet.compression' = 'ZSTD')
