-- name: list-authenticator-denials
-- kind: query
-- description: aws-iam-authenticator denials by IAM principal and reason (unmapped ARNs, bad tokens).
-- param: dtFrom date 2026-01-01 first event date, UTC (inclusive)
-- param: dtTo date 2026-01-01 last event date, UTC (inclusive)
-- idempotent: yes, read-only
SELECT
  account,
  cluster,
  COALESCE(arn, '') AS arn,
  COALESCE(error, '') AS error,
  count(*) AS denials,
  min(time) AS first_seen,
  max(time) AS last_seen
FROM authenticator_logs
WHERE dt BETWEEN {{dtFrom}} AND {{dtTo}}
  AND msg = 'access denied'
GROUP BY account, cluster, COALESCE(arn, ''), COALESCE(error, '')
ORDER BY denials DESC, arn
