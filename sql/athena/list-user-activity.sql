-- name: list-user-activity
-- kind: query
-- description: Requests and denials per user from the hourly rollup (cheap: reads audit_hourly_summary, not audit_events).
-- param: dtFrom date 2026-01-01 first event date, UTC (inclusive)
-- param: dtTo date 2026-01-01 last event date, UTC (inclusive)
-- param: limit int 50 most rows to return
-- default: limit 50
-- idempotent: yes, read-only
SELECT
  account,
  cluster,
  username,
  sum(requests) AS requests,
  sum(denied) AS denied,
  count(DISTINCT verb) AS verbs,
  max(max_latency_ms) AS max_latency_ms,
  min(first_seen) AS first_seen,
  max(last_seen) AS last_seen
FROM audit_hourly_summary
WHERE dt BETWEEN {{dtFrom}} AND {{dtTo}}
GROUP BY account, cluster, username
ORDER BY requests DESC, username
LIMIT {{limit}}
