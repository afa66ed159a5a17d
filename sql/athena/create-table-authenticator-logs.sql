-- name: create-table-authenticator-logs
-- kind: ddl
-- description: Creates the curated table authenticator_logs: aws-iam-authenticator logfmt lines: who authenticated as what.
-- param: location location curated/authenticator_logs/ table root, lake-relative; partitions are registered one by one
-- idempotent: yes, IF NOT EXISTS; the workflow registers each partition at its current generation
-- generated from src/core/schema.ts by test/sql/ddl.test.ts (vitest -u); do not edit by hand.
CREATE EXTERNAL TABLE IF NOT EXISTS authenticator_logs (
  `time` timestamp COMMENT 'the event\'s own time (UTC, microseconds)',
  `event_id` string COMMENT 'CloudWatch Logs event id (decimal string); dedupe key with account and log_group',
  `cwl_timestamp` timestamp COMMENT 'CloudWatch Logs event timestamp',
  `region` string COMMENT 'AWS region of the deployment',
  `log_group` string COMMENT 'CloudWatch Logs group',
  `log_stream` string COMMENT 'CloudWatch Logs stream',
  `level` string COMMENT 'info | warning | error …',
  `msg` string COMMENT 'the message',
  `username` string COMMENT 'Kubernetes username granted',
  `arn` string COMMENT 'IAM principal ARN',
  `uid` string COMMENT 'aws-iam-authenticator uid',
  `groups` array<string> COMMENT 'Kubernetes groups granted',
  `access_key_id` string COMMENT 'accesskeyid',
  `account_id` string COMMENT 'accountid of the IAM principal',
  `user_id` string COMMENT 'userid (IAM unique id)',
  `session` string COMMENT 'session name',
  `client` string COMMENT 'client address',
  `method` string COMMENT 'HTTP method',
  `path` string COMMENT 'request path',
  `sts_endpoint` string COMMENT 'stsendpoint',
  `error` string COMMENT 'error text on denials',
  `kv` map<string,string> COMMENT 'every other logfmt key',
  `message` string COMMENT 'the original line, verbatim',
  `parse_status` string COMMENT 'ok | partial',
  `parse_error` string COMMENT 'why the line was only partly understood'
)
COMMENT 'aws-iam-authenticator logfmt lines: who authenticated as what'
PARTITIONED BY (
  `account` string COMMENT 'AWS account id that owns the source log group',
  `cluster` string COMMENT 'EKS cluster name, from /aws/eks/<cluster>/cluster',
  `dt` string COMMENT 'event date, YYYY-MM-DD (UTC)',
  `hour` string COMMENT 'event hour, HH (UTC)'
)
STORED AS PARQUET
LOCATION {{location}}
TBLPROPERTIES ('parquet.compression' = 'ZSTD')
