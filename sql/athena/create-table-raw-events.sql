-- name: create-table-raw-events
-- kind: ddl
-- description: Creates the raw table raw_events over raw/ (gzip NDJSON written by Firehose, partitioned by log_type, dt, hour of arrival).
-- param: location location raw/ root of the raw prefix, lake-relative
-- idempotent: yes, IF NOT EXISTS; partitions are added by add-raw-partitions
-- Columns: the envelope plus the common audit, klog and authenticator fields; generated from src/core/schema.ts by test/sql/ddl.test.ts (vitest -u); do not edit by hand.
-- log_type is only a partition key: Hive rejects a data column of the same name.
-- ignore.malformed.json keeps one damaged line from failing every query over its hour.
CREATE EXTERNAL TABLE IF NOT EXISTS raw_events (
  `time` string COMMENT 'the event\'s own time, RFC 3339 UTC',
  `cwl_timestamp` bigint COMMENT 'CloudWatch Logs timestamp, epoch ms',
  `event_id` string COMMENT 'CloudWatch Logs event id (decimal string)',
  `account` string COMMENT 'subscription owner account',
  `region` string COMMENT 'AWS region of the deployment',
  `cluster` string COMMENT 'EKS cluster name',
  `log_group` string COMMENT 'CloudWatch Logs group',
  `log_stream` string COMMENT 'CloudWatch Logs stream',
  `parse_status` string COMMENT 'ok | partial | unparsed | bad_envelope',
  `parse_error` string COMMENT 'why the line was not fully parsed',
  `audit_id` string COMMENT 'audit: auditID',
  `stage` string COMMENT 'audit: stage',
  `level` string COMMENT 'audit level, or authenticator log level',
  `verb` string COMMENT 'audit: verb',
  `request_uri` string COMMENT 'audit: requestURI',
  `user` struct<username:string,uid:string,groups:array<string>> COMMENT 'audit: user',
  `source_ips` array<string> COMMENT 'audit: sourceIPs',
  `user_agent` string COMMENT 'audit: userAgent',
  `object_ref` struct<resource:string,subresource:string,namespace:string,name:string,apigroup:string,apiversion:string> COMMENT 'audit: objectRef',
  `response_status` struct<code:int,status:string,reason:string,message:string> COMMENT 'audit: responseStatus',
  `annotations` map<string,string> COMMENT 'audit: annotations',
  `request_received_timestamp` string COMMENT 'audit: requestReceivedTimestamp',
  `stage_timestamp` string COMMENT 'audit: stageTimestamp',
  `severity` string COMMENT 'klog: INFO | WARNING | ERROR | FATAL',
  `thread_id` bigint COMMENT 'klog: thread id',
  `source_file` string COMMENT 'klog: source file',
  `source_line` int COMMENT 'klog: source line',
  `msg` string COMMENT 'klog or authenticator message',
  `kv` map<string,string> COMMENT 'klog structured pairs, or other logfmt keys',
  `message` string COMMENT 'the original line (klog, authenticator, unparsed)'
)
COMMENT 'EKS control-plane events as delivered to raw/ (one JSON object per CloudWatch Logs event)'
PARTITIONED BY (
  `log_type` string COMMENT 'classified stream type',
  `dt` string COMMENT 'arrival date, YYYY-MM-DD (UTC)',
  `hour` string COMMENT 'arrival hour, HH (UTC)'
)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
WITH SERDEPROPERTIES (
  'ignore.malformed.json' = 'true',
  'mapping.audit_id' = 'auditid',
  'mapping.request_uri' = 'requesturi',
  'mapping.source_ips' = 'sourceips',
  'mapping.user_agent' = 'useragent',
  'mapping.object_ref' = 'objectref',
  'mapping.response_status' = 'responsestatus',
  'mapping.request_received_timestamp' = 'requestreceivedtimestamp',
  'mapping.stage_timestamp' = 'stagetimestamp'
)
STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION {{location}}
