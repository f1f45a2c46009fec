-- Verified callbacks the processor could not use (normalisation refused
-- them; they went to the dead-letter topic), by event id, so
-- GET /v1/callbacks/{id} can say so and why. One row per event id:
-- redelivery and replay write the same row again, and the latest error
-- wins (ReplacingMergeTree on dead_at). Nothing deletes a row: a later
-- build that normalises the record adds its events beside the mark.
CREATE TABLE IF NOT EXISTS {db}.dead_letters
(
    event_id    UUID,
    tenant      LowCardinality(String),
    source      LowCardinality(String),
    provider    LowCardinality(String),
    received_at DateTime64(3, 'UTC'),
    dead_at     DateTime64(3, 'UTC'),
    unusable    Bool,
    error       String CODEC(ZSTD(3))
)
ENGINE = ReplacingMergeTree(dead_at)
PARTITION BY toYYYYMM(received_at)
ORDER BY (tenant, event_id);
