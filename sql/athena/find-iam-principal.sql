-- name: find-iam-principal
-- kind: query
-- description: The IAM principal(s) behind a Kubernetes username (authenticator grants joined with audit activity).
-- param: dtFrom date 2026-01-01 first event date, UTC (inclusive)
-- param: dtTo date 2026-01-01 last event date, UTC (inclusive)
-- param: username string alice Kubernetes username as the API server saw it
-- idempotent: yes, read-only
WITH grants AS (
  SELECT
    account,
    cluster,
    arn,
    count(*) AS logins,
    min(time) AS first_login,
    max(time) AS last_login
  FROM authenticator_logs
  WHERE dt BETWEEN {{dtFrom}} AND {{dtTo}}
    AND msg = 'access granted'
    AND username = {{username}}
  GROUP BY account, cluster, arn
),
calls AS (
  SELECT
    account,
    cluster,
    count(*) AS requests,
    max(time) AS last_request
  FROM audit_events
  WHERE dt BETWEEN {{dtFrom}} AND {{dtTo}}
    AND stage = 'ResponseComplete'
    AND username = {{username}}
  GROUP BY account, cluster
)
SELECT
  g.account,
  g.cluster,
  g.arn,
  g.logins,
  g.first_login,
  g.last_login,
  COALESCE(c.requests, 0) AS requests,
  c.last_request
FROM grants AS g
LEFT JOIN calls AS c ON c.account = g.account AND c.cluster = g.cluster
ORDER BY g.last_login DESC
