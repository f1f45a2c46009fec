-- Conversation-level events (Vonage recordings carry only
-- conversation_uuid) are stored with an empty call_id: they join the
-- timeline of the calls in their conversation (Store.Calls) and must not
-- aggregate into a call of their own. ClickHouse cannot add a WHERE to a
-- view in place, so the view is replaced; an event inserted between the
-- two statements would miss calls_current until `hookledger replay`
-- rebuilds it, so migrate before the processors start (the compose and
-- Kubernetes migrate jobs do).
DROP VIEW IF EXISTS {db}.calls_current_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.calls_current_mv TO {db}.calls_current AS
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
FROM {db}.call_events
WHERE call_id != ''
GROUP BY tenant, provider, call_id;
