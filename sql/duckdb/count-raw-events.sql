-- name: count-raw-events
-- kind: query
-- description: Events delivered to raw/ per stream type, arrival hour and parse status (completeness check against curated).
-- param: dtFrom date 2026-01-01 first arrival date, UTC (inclusive)
-- param: dtTo date 2026-01-01 last arrival date, UTC (inclusive)
-- idempotent: yes, read-only
-- Needs the hours registered by add-raw-partitions; dt and hour here are arrival time, not event time.
SELECT
  log_type,
  dt,
  hour,
  parse_status,
  count(*) AS events,
  count(DISTINCT event_id) AS distinct_event_ids
FROM raw_events
WHERE dt BETWEEN {{dtFrom}} AND {{dtTo}}
GROUP BY log_type, dt, hour, parse_status
ORDER BY log_type, dt, hour, parse_status
