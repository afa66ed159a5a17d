-- name: count-component-errors
-- kind: query
-- description: ERROR and FATAL lines per control-plane component per hour, with one sample message.
-- param: dtFrom date 2026-01-01 first event date, UTC (inclusive)
-- param: dtTo date 2026-01-01 last event date, UTC (inclusive)
-- idempotent: yes, read-only
SELECT
  date_trunc('hour', time) AS hour_start,
  account,
  cluster,
  log_type,
  count(*) AS errors,
  min(msg) AS sample_msg
FROM component_logs
WHERE dt BETWEEN {{dtFrom}} AND {{dtTo}}
  AND severity IN ('ERROR', 'FATAL')
GROUP BY date_trunc('hour', time), account, cluster, log_type
ORDER BY hour_start, account, cluster, log_type
