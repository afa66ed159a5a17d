-- name: list-top-callers
-- kind: query
-- description: API callers by request count (user and user agent), with their error count.
-- param: dtFrom date 2026-01-01 first event date, UTC (inclusive)
-- param: dtTo date 2026-01-01 last event date, UTC (inclusive)
-- param: limit int 20 most rows to return
-- default: limit 20
-- idempotent: yes, read-only
SELECT
  account,
  cluster,
  username,
  user_agent,
  count(*) AS requests,
  count(*) FILTER (WHERE response_code >= 400) AS errors
FROM audit_events
WHERE dt BETWEEN {{dtFrom}} AND {{dtTo}}
  AND stage = 'ResponseComplete'
GROUP BY account, cluster, username, user_agent
ORDER BY requests DESC, username
LIMIT {{limit}}
