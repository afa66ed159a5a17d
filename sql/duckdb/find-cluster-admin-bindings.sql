-- name: find-cluster-admin-bindings
-- kind: query
-- description: Bindings created or replaced that grant the cluster-admin role, with their subjects.
-- param: dtFrom date 2026-01-01 first event date, UTC (inclusive)
-- param: dtTo date 2026-01-01 last event date, UTC (inclusive)
-- idempotent: yes, read-only
-- A JSON/merge patch that only edits subjects carries no roleRef: find-rbac-changes lists those.
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
  CAST(json_extract(request_object, '$.subjects') AS VARCHAR) AS subjects
FROM audit_events
WHERE dt BETWEEN {{dtFrom}} AND {{dtTo}}
  AND stage = 'ResponseComplete'
  AND api_group = 'rbac.authorization.k8s.io'
  AND resource IN ('clusterrolebindings', 'rolebindings')
  AND verb IN ('create', 'update', 'patch')
  AND response_code BETWEEN 200 AND 299
  AND json_extract_string(request_object, '$.roleRef.name') = 'cluster-admin'
ORDER BY time DESC
