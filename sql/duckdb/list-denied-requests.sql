-- name: list-denied-requests
-- kind: query
-- description: 401 and 403 responses by user, source IP and code, most frequent first.
-- param: dtFrom date 2026-01-01 first event date, UTC (inclusive)
-- param: dtTo date 2026-01-01 last event date, UTC (inclusive)
-- param: limit int 100 most rows to return
-- default: limit 100
-- idempotent: yes, read-only
SELECT
  account,
  cluster,
  username,
  source_ip,
  response_code,
  count(*) AS requests,
  min(time) AS first_seen,
  max(time) AS last_seen,
  min(request_uri) AS sample_uri
FROM audit_events
CROSS JOIN UNNEST(source_ips) AS t (source_ip)
WHERE dt BETWEEN {{dtFrom}} AND {{dtTo}}
  AND stage = 'ResponseComplete'
  AND response_code IN (401, 403)
GROUP BY account, cluster, username, source_ip, response_code
ORDER BY requests DESC, username, source_ip
LIMIT {{limit}}
