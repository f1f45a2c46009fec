-- Every request ingest received, both verdicts: the audit trail.
-- ReplacingMergeTree + the insert-dedup window make redelivery harmless:
-- the same record always yields the same sorting key.
CREATE TABLE IF NOT EXISTS {db}.callbacks
(
    event_id       UUID,
    received_at    DateTime64(3, 'UTC'),
    tenant         LowCardinality(String),
    source         LowCardinality(String),
    provider       LowCardinality(String),
    verdict        LowCardinality(String),
    reason         LowCardinality(String),
    detail         String CODEC(ZSTD(3)),
    key_id         String,
    method         LowCardinality(String),
    url            String CODEC(ZSTD(3)),
    remote_addr    String,
    headers        Map(String, Array(String)) CODEC(ZSTD(3)),
    body_base64    String CODEC(ZSTD(3)),
    body_bytes     UInt32,
    body_truncated Bool,
    INDEX idx_event_id event_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (tenant, received_at, event_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- One row per logical status report about an outbound message.
CREATE TABLE IF NOT EXISTS {db}.message_events
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
    error_detail    String,
    INDEX idx_occurred occurred_at TYPE minmax GRANULARITY 4
)
ENGINE = ReplacingMergeTree
ORDER BY (tenant, message_id, provider, dedup_key)
SETTINGS non_replicated_deduplication_window = 1000;

-- Inbound messages.
CREATE TABLE IF NOT EXISTS {db}.replies
(
    dedup_key   String,
    event_id    UUID,
    tenant      LowCardinality(String),
    source      LowCardinality(String),
    provider    LowCardinality(String),
    reply_id    String,
    message_id  String,
    `from`      String,
    `to`        String,
    text        String,
    occurred_at DateTime64(3, 'UTC'),
    received_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (tenant, provider, dedup_key)
SETTINGS non_replicated_deduplication_window = 1000;

-- Every event of every call, status changes and others.
CREATE TABLE IF NOT EXISTS {db}.call_events
(
    dedup_key        String,
    event_id         UUID,
    tenant           LowCardinality(String),
    source           LowCardinality(String),
    provider         LowCardinality(String),
    call_id          String,
    conversation_id  String,
    status           LowCardinality(String),
    status_rank      UInt8,
    provider_status  LowCardinality(String),
    occurred_at      DateTime64(3, 'UTC'),
    received_at      DateTime64(3, 'UTC'),
    `to`             String,
    `from`           String,
    direction        LowCardinality(String),
    duration_seconds UInt32,
    detail           String
)
ENGINE = ReplacingMergeTree
ORDER BY (tenant, call_id, provider, dedup_key)
SETTINGS non_replicated_deduplication_window = 1000;
