-- Fills messages_current and calls_current (0002) from the events stored
-- before their materialized views existed. It is also how
-- Store.RebuildCurrentState refills them after truncating them, so it must
-- aggregate exactly as the views in 0002 do.
--
-- Running it twice, or while the views are also inserting, is harmless:
-- every aggregate is min, max or argMax, which duplicates cannot change.
-- FINAL reads one row per logical event (the version a replay left).

INSERT INTO {db}.messages_current (tenant, provider, message_id, first_event_at, last_received_at, delivered_at,
    current_state, source_state, to_state, from_state)
SELECT
    tenant,
    provider,
    message_id,
    min(occurred_at) AS first_event_at,
    max(received_at) AS last_received_at,
    minOrNullIf(occurred_at, status = 'delivered') AS delivered_at,
    argMaxState((CAST(status, 'String'), occurred_at, error_code), (status_rank, occurred_at, received_at)) AS current_state,
    argMaxState(CAST(source, 'String'), (occurred_at, received_at)) AS source_state,
    argMaxIfState(`to`, (occurred_at, received_at), `to` != '') AS to_state,
    argMaxIfState(`from`, (occurred_at, received_at), `from` != '') AS from_state
FROM {db}.message_events FINAL
GROUP BY tenant, provider, message_id;

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
