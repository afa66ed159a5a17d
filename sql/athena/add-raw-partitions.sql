-- name: add-raw-partitions
-- kind: workflow
-- description: Registers the raw/ partitions of one arrival hour, for every stream type, in raw_events.
-- param: dt date 2026-01-01 arrival date, UTC
-- param: hour hour 00 arrival hour, UTC
-- idempotent: yes, ADD IF NOT EXISTS; re-running an hour is a no-op
-- Why not MSCK REPAIR TABLE: it lists the whole raw/ prefix on every run, so its time and S3 LIST
-- cost grow with the table's age until it times out, and it fails the run when one stray key does
-- not parse as a partition. The workflow already knows the hours it touched, so it adds exactly those.
-- No LOCATION: Hive places each partition at <table location>log_type=<t>/dt=<d>/hour=<h>/, which is
-- the Firehose layout. An hour with no objects for a type yields an empty partition, which costs nothing.
-- Not partition projection: projection and registered partitions cannot be mixed on one table.
ALTER TABLE raw_events ADD IF NOT EXISTS
  PARTITION (log_type = 'kube-apiserver-audit', dt = {{dt}}, hour = {{hour}})
  PARTITION (log_type = 'kube-apiserver', dt = {{dt}}, hour = {{hour}})
  PARTITION (log_type = 'kube-scheduler', dt = {{dt}}, hour = {{hour}})
  PARTITION (log_type = 'kube-controller-manager', dt = {{dt}}, hour = {{hour}})
  PARTITION (log_type = 'cloud-controller-manager', dt = {{dt}}, hour = {{hour}})
  PARTITION (log_type = 'authenticator', dt = {{dt}}, hour = {{hour}})
  PARTITION (log_type = 'unknown', dt = {{dt}}, hour = {{hour}})
