-- name: find-secret-reads
-- kind: query
-- description: Secrets read (get, list, watch) by identities that are not system: or eks: service identities.
-- param: dtFrom date 2026-01-01 first event date, UTC (inclusive)
-- param: dtTo date 2026-01-01 last event date, UTC (inclusive)
-- idempotent: yes, read-only
SELECT
  account,
  cluster,
  username,
  namespace,
  COALESCE(name, '') AS name,
  verb,
  count(*) AS reads,
  count_if(response_code < 300) AS allowed,
  min(time) AS first_seen,
  max(time) AS last_seen
FROM audit_events
WHERE dt BETWEEN {{dtFrom}} AND {{dtTo}}
  AND stage = 'ResponseComplete'
  AND resource = 'secrets'
  AND verb IN ('get', 'list', 'watch')
  AND username NOT LIKE 'system:%'
  AND username NOT LIKE 'eks:%'
GROUP BY account, cluster, username, namespace, COALESCE(name, ''), verb
ORDER BY reads DESC, username
