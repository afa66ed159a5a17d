-- name: find-scheduler-failures
-- kind: query
-- description: Pods the scheduler could not place, with the scheduler's reason.
-- param: dtFrom date 2026-01-01 first event date, UTC (inclusive)
-- param: dtTo date 2026-01-01 last event date, UTC (inclusive)
-- idempotent: yes, read-only
-- Structured lines carry pod= and err=; older unstructured lines only the message.
SELECT
  time,
  account,
  cluster,
  severity,
  kv['pod'] AS pod,
  COALESCE(kv['err'], msg) AS reason,
  log_stream
FROM component_logs
WHERE dt BETWEEN {{dtFrom}} AND {{dtTo}}
  AND log_type = 'kube-scheduler'
  AND (
    msg LIKE 'Unable to schedule pod%'
    OR msg LIKE 'Failed to schedule pod%'
    OR msg LIKE 'Error scheduling pod%'
    OR severity IN ('ERROR', 'FATAL')
  )
ORDER BY time DESC
