-- name: find-rbac-changes
-- kind: query
-- description: Changes to roles, cluster roles and their bindings, with the role a binding grants.
-- param: dtFrom date 2026-01-01 first event date, UTC (inclusive)
-- param: dtTo date 2026-01-01 last event date, UTC (inclusive)
-- idempotent: yes, read-only
-- role_ref is read from the request body, which EKS logs for RBAC objects (RequestResponse level).
SELECT
  time,
  account,
  cluster,
  username,
  verb,
  resource,
  namespace,
  name,
  response_code,
  json_extract_string(request_object, '$.roleRef.name') AS role_ref
FROM audit_events
WHERE dt BETWEEN {{dtFrom}} AND {{dtTo}}
  AND stage = 'ResponseComplete'
  AND api_group = 'rbac.authorization.k8s.io'
  AND resource IN ('roles', 'rolebindings', 'clusterroles', 'clusterrolebindings')
  AND verb IN ('create', 'update', 'patch', 'delete', 'deletecollection')
ORDER BY time DESC
