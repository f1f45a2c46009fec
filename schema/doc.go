// Package schema owns the contracts between hookledger's tiers: the Kafka
// record format written by ingest and read by the processor, the fixed
// vocabularies (verdicts, rejection reasons, message and call statuses), the
// normalised rows the processor stores, and the ClickHouse DDL as embedded,
// versioned SQL migrations.
//
// Everything here is versioned or append-only: a record written by an older
// ingest must stay readable by a newer processor.
package schema
