-- name: find-object-changes
-- kind: query
-- description: Who created, changed or deleted one Kubernetes object, newest first.
-- param: dtFrom date 2026-01-01 first event date, UTC (inclusive)
-- param: dtTo date 2026-01-01 last event date, UTC (inclusive)
-- param: resource string configmaps resource, plural (pods, secrets, deployments, …)
-- param: namespace string default namespace; empty for cluster-scoped objects
-- param: name string app-config object name
-- idempotent: yes, read-only
-- Counts only ResponseComplete so each request appears once; deletecollection is matched by namespace only.
SELECT
  time,
  account,
  cluster,
  username,
  verb,
  subresource,
  response_code,
  authz_decision,
  array_join(source_ips, ', ') AS source_ips,
  user_agent,
  audit_id
FROM audit_events
WHERE dt BETWEEN {{dtFrom}} AND {{dtTo}}
  AND stage = 'ResponseComplete'
  AND verb IN ('create', 'update', 'patch', 'delete', 'deletecollection')
  AND resource = {{resource}}
  AND COALESCE(namespace, '') = {{namespace}}
  AND (name = {{name}} OR verb = 'deletecollection')
ORDER BY time DESC
