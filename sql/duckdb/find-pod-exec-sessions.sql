-- name: find-pod-exec-sessions
-- kind: query
-- description: Interactive access into pods (exec, attach, port-forward): who, which pod, when, allowed or not.
-- param: dtFrom date 2026-01-01 first event date, UTC (inclusive)
-- param: dtTo date 2026-01-01 last event date, UTC (inclusive)
-- idempotent: yes, read-only
-- One row per request (auditID): a live session has ResponseStarted but no ResponseComplete yet.
SELECT
  min(time) AS started,
  account,
  cluster,
  username,
  namespace,
  name AS pod,
  subresource,
  max(response_code) AS response_code,
  min(array_to_string(source_ips, ', ')) AS source_ips,
  min(request_uri) AS request_uri,
  audit_id
FROM audit_events
WHERE dt BETWEEN {{dtFrom}} AND {{dtTo}}
  AND resource = 'pods'
  AND subresource IN ('exec', 'attach', 'portforward')
  AND stage IN ('ResponseStarted', 'ResponseComplete')
GROUP BY account, cluster, audit_id, username, namespace, name, subresource
ORDER BY started DESC
