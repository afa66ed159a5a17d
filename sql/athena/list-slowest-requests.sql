-- name: list-slowest-requests
-- kind: query
-- description: Slowest completed API requests, leaving out watches and streaming subresources that are long by design.
-- param: dtFrom date 2026-01-01 first event date, UTC (inclusive)
-- param: dtTo date 2026-01-01 last event date, UTC (inclusive)
-- param: limit int 20 most rows to return
-- default: limit 20
-- idempotent: yes, read-only
SELECT
  time,
  account,
  cluster,
  username,
  verb,
  request_uri,
  response_code,
  latency_ms,
  user_agent
FROM audit_events
WHERE dt BETWEEN {{dtFrom}} AND {{dtTo}}
  AND stage = 'ResponseComplete'
  AND verb <> 'watch'
  AND COALESCE(subresource, '') NOT IN ('exec', 'attach', 'portforward', 'log', 'proxy')
  AND latency_ms IS NOT NULL
ORDER BY latency_ms DESC, time
LIMIT {{limit}}
