-- Message lists and statistics that stay fast as the history grows
-- (issue 7): two tables fed from message_events by materialized views,
-- which replace messages_current (dropped by 0008 once 0007 has filled
-- them).
--
-- messages_state is a message's current state, one row per (tenant,
-- provider, message_id) after merges, as messages_current was, but held in
-- plain columns instead of aggregate-function states: each is a min or max
-- (of a tuple, for the argmax ones), which a duplicate event cannot change,
-- and which reads at the speed of ordinary columns. Readers still
-- aggregate (GROUP BY the sorting key), as a message's rows may sit in
-- several parts until a merge. Small granules make looking up a few
-- hundred messages by id read a few hundred small granules.
--
-- Ranking (docs/vocabularies.md#ranking): current is the max of (status_rank, occurred_at,
-- received_at, status, error_code), so the best rank wins, ties go to the
-- later provider time, then the later receive time (an exact tie of all
-- three, which no provider produces, goes to the larger status and error
-- code, where argMax kept whichever row it met first).
--
-- Source and addresses: the max of (occurred_at, received_at, value) over
-- the events carrying one; an event without an address counts as the
-- oldest possible (1900-01-01, the first storable time) with the empty
-- value, so the empty value wins only when no event has one.
CREATE TABLE IF NOT EXISTS {db}.messages_state
(
    tenant           LowCardinality(String),
    provider         LowCardinality(String),
    message_id       String,
    first_event_at   SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_received_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    delivered_at     SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    current          SimpleAggregateFunction(max, Tuple(UInt8, DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), String, String)),
    source_latest    SimpleAggregateFunction(max, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), String)),
    to_latest        SimpleAggregateFunction(max, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), String)),
    from_latest      SimpleAggregateFunction(max, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), String))
)
ENGINE = AggregatingMergeTree
ORDER BY (tenant, provider, message_id)
SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.messages_state_mv TO {db}.messages_state AS
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
FROM {db}.message_events
GROUP BY tenant, provider, message_id;

-- message_times is every message event's provider time, in time order: a
-- list newest first by first event reads it backwards from its cursor to
-- find the few messages that can be on the page, then reads only their
-- state (Store.ListMessages). A message's first event is the oldest of its
-- rows here, so every message whose first event lies in the span read is
-- among the rows read. Duplicate rows (redeliveries) only repeat a
-- candidate. Each row's status and rank let a list by status pass over
-- messages that cannot have it (a higher rank seen, or, on a first page,
-- no event with that status); the set index finds at once that no event
-- has a status.
CREATE TABLE IF NOT EXISTS {db}.message_times
(
    occurred_at DateTime64(3, 'UTC'),
    tenant      LowCardinality(String),
    provider    LowCardinality(String),
    message_id  String,
    status      LowCardinality(String),
    status_rank UInt8,
    received_at DateTime64(3, 'UTC'),
    INDEX idx_status status TYPE set(0) GRANULARITY 1
)
ENGINE = MergeTree
ORDER BY (occurred_at, tenant, provider, message_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.message_times_mv TO {db}.message_times AS
SELECT occurred_at, tenant, provider, message_id, status, status_rank, received_at
FROM {db}.message_events;

-- message_events_by_id is message_events again, sorted by message id first
-- and in granules of 1024 rows, for GET /v1/messages/{id}: message_events'
-- sorting key starts with the tenant, which a read by id does not know,
-- and its granules of 8192 rows made a timeline read tens of thousands of
-- rows per part. Same columns and the same identity (the sorting key holds
-- the same four columns), so FINAL keeps the same version of each event:
-- the view inserts every row in the order message_events receives it.
CREATE TABLE IF NOT EXISTS {db}.message_events_by_id
(
    dedup_key       String,
    event_id        UUID,
    tenant          LowCardinality(String),
    source          LowCardinality(String),
    provider        LowCardinality(String),
    message_id      String,
    status          LowCardinality(String),
    status_rank     UInt8,
    provider_status LowCardinality(String),
    occurred_at     DateTime64(3, 'UTC'),
    received_at     DateTime64(3, 'UTC'),
    `to`            String,
    `from`          String,
    error_code      String,
    error_detail    String
)
ENGINE = ReplacingMergeTree
ORDER BY (message_id, tenant, provider, dedup_key)
SETTINGS index_granularity = 1024;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.message_events_by_id_mv TO {db}.message_events_by_id AS
SELECT dedup_key, event_id, tenant, source, provider, message_id, status, status_rank, provider_status,
    occurred_at, received_at, `to`, `from`, error_code, error_detail
FROM {db}.message_events;
