-- name: list-unparsed-events
-- kind: query
-- description: Events kept verbatim because they could not be parsed, by stream type and reason.
-- param: dtFrom date 2026-01-01 first event date, UTC (inclusive)
-- param: dtTo date 2026-01-01 last event date, UTC (inclusive)
-- idempotent: yes, read-only
SELECT
  account,
  cluster,
  log_type,
  parse_status,
  COALESCE(parse_error, '') AS parse_error,
  count(*) AS events,
  min(substr(COALESCE(message, ''), 1, 200)) AS sample_message
FROM unparsed_logs
WHERE dt BETWEEN {{dtFrom}} AND {{dtTo}}
GROUP BY account, cluster, log_type, parse_status, COALESCE(parse_error, '')
ORDER BY events DESC, log_type
