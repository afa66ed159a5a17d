-- name: find-leader-election-changes
-- kind: query
-- description: Leader-election events of the control-plane components (leases acquired, lost or failing to renew).
-- param: dtFrom date 2026-01-01 first event date, UTC (inclusive)
-- param: dtTo date 2026-01-01 last event date, UTC (inclusive)
-- idempotent: yes, read-only
SELECT
  time,
  account,
  cluster,
  log_type,
  log_stream,
  severity,
  msg
FROM component_logs
WHERE dt BETWEEN {{dtFrom}} AND {{dtTo}}
  AND (
    source_file = 'leaderelection.go'
    OR msg LIKE '%became leader%'
    OR msg LIKE '%acquired lease%'
    OR msg LIKE '%failed to renew lease%'
    OR msg LIKE '%leaderelection lost%'
  )
ORDER BY time DESC
