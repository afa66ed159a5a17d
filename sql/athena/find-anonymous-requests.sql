-- name: find-anonymous-requests
-- kind: query
-- description: Requests made without credentials (system:anonymous or group system:unauthenticated), by source IP and URI.
-- param: dtFrom date 2026-01-01 first event date, UTC (inclusive)
-- param: dtTo date 2026-01-01 last event date, UTC (inclusive)
-- param: limit int 100 most rows to return
-- default: limit 100
-- idempotent: yes, read-only
-- Health probes (/healthz, /livez, /readyz, /version) are expected; anything else allowed is a finding.
SELECT
  account,
  cluster,
  source_ip,
  verb,
  request_uri,
  response_code,
  authz_decision,
  count(*) AS requests,
  min(time) AS first_seen,
  max(time) AS last_seen
FROM audit_events
CROSS JOIN UNNEST(source_ips) AS t (source_ip)
WHERE dt BETWEEN {{dtFrom}} AND {{dtTo}}
  AND stage = 'ResponseComplete'
  AND (username = 'system:anonymous' OR contains(user_groups, 'system:unauthenticated'))
GROUP BY account, cluster, source_ip, verb, request_uri, response_code, authz_decision
ORDER BY requests DESC, source_ip
LIMIT {{limit}}
