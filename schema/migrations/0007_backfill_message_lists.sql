-- Fills messages_state, message_times and message_events_by_id (0006) from the events stored
-- before their views existed, and calls_current as 0003 does. It is also
-- how Store.RebuildCurrentState refills the current-state tables after
-- truncating them (message_events_by_id it does not truncate: the copy
-- below inserts each event's current version last), so it must aggregate
-- exactly as the views do.
--
-- Running it twice, or while the views are also inserting, is harmless:
-- every aggregate is a min or max, which duplicates cannot change, and a
-- repeated message_times row only repeats a candidate. On upgrade it adds
-- calls_current's rows once more, which merges fold away.
-- FINAL reads one row per logical event (the version a replay left).

INSERT INTO {db}.messages_state (tenant, provider, message_id, first_event_at, last_received_at, delivered_at,
    current, source_latest, to_latest, from_latest)
SELECT
    tenant,
    provider,
    message_id,
    min(occurred_at) AS first_event_at,
    max(received_at) AS last_received_at,
    minOrNullIf(occurred_at, status = 'delivered') AS delivered_at,
    max((status_rank, occurred_at, received_at, CAST(status, 'String'), error_code)) AS current,
    max((occurred_at, received_at, CAST(source, 'String'))) AS source_latest,
    max(if(`to` = '', (toDateTime64('1900-01-01 00:00:00', 3, 'UTC'), toDateTime64('1900-01-01 00:00:00', 3, 'UTC'), ''), (occurred_at, received_at, `to`))) AS to_latest,
    max(if(`from` = '', (toDateTime64('1900-01-01 00:00:00', 3, 'UTC'), toDateTime64('1900-01-01 00:00:00', 3, 'UTC'), ''), (occurred_at, received_at, `from`))) AS from_latest
FROM {db}.message_events FINAL
GROUP BY tenant, provider, message_id;

INSERT INTO {db}.message_times (occurred_at, tenant, provider, message_id, status, status_rank, received_at)
SELECT occurred_at, tenant, provider, message_id, status, status_rank, received_at
FROM {db}.message_events FINAL;

INSERT INTO {db}.message_events_by_id (dedup_key, event_id, tenant, source, provider, message_id, status, status_rank,
    provider_status, occurred_at, received_at, `to`, `from`, error_code, error_detail)
SELECT dedup_key, event_id, tenant, source, provider, message_id, status, status_rank, provider_status,
    occurred_at, received_at, `to`, `from`, error_code, error_detail
FROM {db}.message_events FINAL;

INSERT INTO {db}.calls_current (tenant, provider, call_id, first_event_at, last_received_at, duration_seconds,
    current_state, source_state, to_state, from_state, direction_state, conversation_state)
SELECT
    tenant,
    provider,
    call_id,
    min(occurred_at) AS first_event_at,
    max(received_at) AS last_received_at,
    max(duration_seconds) AS duration_seconds,
    argMaxIfState((CAST(status, 'String'), occurred_at), (status_rank, occurred_at, received_at), status != '') AS current_state,
    argMaxState(CAST(source, 'String'), (occurred_at, received_at)) AS source_state,
    argMaxIfState(`to`, (occurred_at, received_at), `to` != '') AS to_state,
    argMaxIfState(`from`, (occurred_at, received_at), `from` != '') AS from_state,
    argMaxIfState(CAST(direction, 'String'), (occurred_at, received_at), direction != '') AS direction_state,
    argMaxIfState(conversation_id, (occurred_at, received_at), conversation_id != '') AS conversation_state
FROM {db}.call_events FINAL
WHERE call_id != ''
GROUP BY tenant, provider, call_id;
