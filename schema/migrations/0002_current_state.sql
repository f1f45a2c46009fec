-- Current state of every message and call, kept up to date by materialized
-- views as events are inserted, so the query API's lists and statistics
-- read one (merged) row per message instead of every event.
--
-- Why this is safe on top of ReplacingMergeTree event tables, where a
-- logical event may be stored more than once until a merge (a provider
-- retry, a Kafka redelivery, a replay): every column below is an aggregate
-- that a duplicate row cannot change (min, max, argMax). The rows of one
-- message may sit in several parts until a merge, so readers always
-- aggregate again with the -Merge combinators (GROUP BY the sorting key);
-- they never read these tables' columns raw.
--
-- Ranking (docs/vocabularies.md#ranking): the current status is argMax over the key
-- (status_rank, occurred_at, received_at): highest rank, ties to the later
-- provider time, then the later receive time. Arrival order plays no part,
-- so a late "sent" never hides an earlier "delivered".
--
-- last_received_at is what retention (Store.ApplyRetention) expires rows
-- by, the same clock as the event tables'.

CREATE TABLE IF NOT EXISTS {db}.messages_current
(
    tenant           LowCardinality(String),
    provider         LowCardinality(String),
    message_id       String,
    -- The message's first event (provider time): its position in lists and
    -- its statistics bucket.
    first_event_at   SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_received_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    -- Provider time of the earliest "delivered" event; NULL until there is one.
    delivered_at     SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    -- (status, status_at, error_code) of the best-ranked event.
    current_state    AggregateFunction(argMax, Tuple(String, DateTime64(3, 'UTC'), String), Tuple(UInt8, DateTime64(3, 'UTC'), DateTime64(3, 'UTC'))),
    -- Source and addresses: from the latest event (provider time, then
    -- receive time) that carries one, as the single-message read does.
    source_state     AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'))),
    to_state         AggregateFunction(argMaxIf, String, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC')), UInt8),
    from_state       AggregateFunction(argMaxIf, String, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC')), UInt8)
)
ENGINE = AggregatingMergeTree
ORDER BY (tenant, provider, message_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.messages_current_mv TO {db}.messages_current AS
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
FROM {db}.message_events
GROUP BY tenant, provider, message_id;

-- Calls: the same, except that only status events (status != '') compete
-- for the current status; recordings, input, transfers and the like have
-- rank 0, stay in the timeline and never set it. A call with no status
-- event yet has the empty status.
CREATE TABLE IF NOT EXISTS {db}.calls_current
(
    tenant             LowCardinality(String),
    provider           LowCardinality(String),
    call_id            String,
    first_event_at     SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_received_at   SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    -- The longest duration any event reported (the final one carries it).
    duration_seconds   SimpleAggregateFunction(max, UInt32),
    -- (status, status_at) of the best-ranked status event.
    current_state      AggregateFunction(argMaxIf, Tuple(String, DateTime64(3, 'UTC')), Tuple(UInt8, DateTime64(3, 'UTC'), DateTime64(3, 'UTC')), UInt8),
    source_state       AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'))),
    to_state           AggregateFunction(argMaxIf, String, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC')), UInt8),
    from_state         AggregateFunction(argMaxIf, String, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC')), UInt8),
    direction_state    AggregateFunction(argMaxIf, String, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC')), UInt8),
    conversation_state AggregateFunction(argMaxIf, String, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC')), UInt8)
)
ENGINE = AggregatingMergeTree
ORDER BY (tenant, provider, call_id);

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
GROUP BY tenant, provider, call_id;

-- /v1/replies?message_id= looks replies up by the message they answer.
ALTER TABLE {db}.replies ADD INDEX IF NOT EXISTS idx_message_id message_id TYPE bloom_filter GRANULARITY 4;
