package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/hookledger/hookledger/schema"
)

// StatsInterval is the width of a statistics bucket.
type StatsInterval string

// Bucket widths. Buckets start at UTC hour and UTC midnight boundaries.
const (
	IntervalHour StatsInterval = "hour"
	IntervalDay  StatsInterval = "day"
)

// bucketStart returns the SQL that truncates first_at to the start of its
// bucket. Only these fixed expressions reach the SQL.
func (i StatsInterval) bucketStart() (string, bool) {
	switch i {
	case IntervalHour:
		return "toStartOfHour(first_at, 'UTC')", true
	case IntervalDay:
		return "toStartOfDay(first_at, 'UTC')", true
	}
	return "", false
}

// StatsGroup is what buckets are keyed by besides time.
type StatsGroup string

// Bucket keys.
const (
	GroupByProvider StatsGroup = "provider"
	GroupBySource   StatsGroup = "source"
)

// column returns the column a grouping reads. Only these fixed identifiers
// reach the SQL.
func (g StatsGroup) column() (string, bool) {
	switch g {
	case GroupByProvider:
		return "provider", true
	case GroupBySource:
		return "source", true
	}
	return "", false
}

// StatsQuery selects the messages to summarise and how to bucket them.
type StatsQuery struct {
	Since, Until *time.Time // bound the first event time as in Page; nil = unbounded; Until exclusive
	Interval     StatsInterval
	GroupBy      StatsGroup
}

// StatsBucket summarises the messages whose first event falls in
// [Start, Start+interval) and that share Key (docs/query-api.md#get-v1statsmessages).
//
// Counts holds every status of the vocabulary (0 when none) and counts
// each message once, by its current status.
//
// A message that was read was delivered: "read" (which outranks
// "delivered") counts as delivered in DeliveryRate, and its delivered event
// in the percentiles. So DeliveryRate = (delivered + read) ÷ (delivered +
// read + undelivered + failed + expired + rejected), nil (JSON null) when
// that denominator is 0; messages still queued, sent or unknown are not
// counted either way.
//
// P50 and P95 are nearest-rank percentiles, in whole seconds rounded to
// the nearest, of the time from a message's first event to its first
// "delivered" event, over the messages counted as delivered that have one;
// nil (JSON null) when there are none.
type StatsBucket struct {
	Start        time.Time         `json:"start"`
	Key          string            `json:"key"`
	Counts       map[string]uint64 `json:"counts"`
	DeliveryRate *float64          `json:"delivery_rate"`
	P50          *int64            `json:"p50_seconds_to_delivered"`
	P95          *int64            `json:"p95_seconds_to_delivered"`
}

// MessageStatuses returns the message status vocabulary (docs/vocabularies.md#message-statuses) in rank
// order.
func MessageStatuses() []string {
	return []string{
		schema.MessageUnknown, schema.MessageQueued, schema.MessageSent,
		schema.MessageDelivered, schema.MessageUndelivered, schema.MessageFailed,
		schema.MessageExpired, schema.MessageRejected, schema.MessageRead,
	}
}

// CallStatuses returns the call status vocabulary (docs/vocabularies.md#call-statuses) in rank order.
func CallStatuses() []string {
	return []string{
		schema.CallInitiated, schema.CallRinging, schema.CallAnswered,
		schema.CallCompleted, schema.CallBusy, schema.CallNoAnswer,
		schema.CallCancelled, schema.CallRejected, schema.CallFailed,
	}
}

// MessageStats buckets the messages the scope sees by the provider time of
// their first event and q.GroupBy, oldest bucket first, then by key. Only
// buckets that hold a message are returned.
func (s *Store) MessageStats(ctx context.Context, scope Scope, q StatsQuery) ([]StatsBucket, error) {
	start, ok := q.Interval.bucketStart()
	if !ok {
		return nil, fmt.Errorf("storage: unknown stats interval %q", q.Interval)
	}
	key, ok := q.GroupBy.column()
	if !ok {
		return nil, fmt.Errorf("storage: unknown stats grouping %q", q.GroupBy)
	}
	var w where
	timeRange(&w, "first_at", q.Since, q.Until)
	delivered := quoteList([]string{schema.MessageDelivered, schema.MessageRead})
	// Whole seconds, rounded half up: first_at <= first_delivered_at, as the
	// first event is the earliest of all, the delivered one included.
	secondsToDelivered := "if(status IN " + delivered + " AND first_delivered_at IS NOT NULL," +
		" intDiv(toUnixTimestamp64Milli(assumeNotNull(first_delivered_at)) - toUnixTimestamp64Milli(first_at) + 500, 1000)," +
		" NULL)"
	// quantileExactWeighted with unit weights is the exact nearest-rank
	// percentile; its memory grows with distinct values, not messages.
	// NULLs (messages not delivered) are skipped, and an all-NULL bucket
	// yields NULL.
	stmt := "SELECT " + start + " AS start, " + key + " AS bucket_key," +
		" sumMap(map(CAST(status, 'String'), toUInt64(1))) AS counts," +
		" quantileExactWeighted(0.5)(seconds_to_delivered, 1) AS p50," +
		" quantileExactWeighted(0.95)(seconds_to_delivered, 1) AS p95" +
		" FROM (SELECT first_at, provider, source, status, " + secondsToDelivered + " AS seconds_to_delivered" +
		" FROM (" + s.statsStates(scope) + ")" + w.String() + ")" +
		" GROUP BY start, bucket_key ORDER BY start, bucket_key" +
		// Per message, messages_state is read in its sorting key's order and
		// each message folded as soon as its rows have passed, so the
		// memory the query needs is the buckets', not the messages'.
		" SETTINGS optimize_aggregation_in_order = 1"
	type statsRow struct {
		Start  time.Time         `json:"start"`
		Key    string            `json:"bucket_key"`
		Counts map[string]uint64 `json:"counts"`
		P50    *int64            `json:"p50"`
		P95    *int64            `json:"p95"`
	}
	rows, err := selectAll[statsRow](ctx, s.conn, stmt)
	if err != nil {
		return nil, fmt.Errorf("storage: message stats: %w", err)
	}
	out := make([]StatsBucket, len(rows))
	for i, r := range rows {
		counts := map[string]uint64{}
		for _, st := range MessageStatuses() {
			counts[st] = 0
		}
		for st, n := range r.Counts {
			counts[st] += n
		}
		out[i] = StatsBucket{Start: r.Start.UTC(), Key: r.Key, Counts: counts, DeliveryRate: deliveryRate(counts), P50: r.P50, P95: r.P95}
	}
	return out, nil
}

// statsStates is messageStates narrowed to what statistics read (first
// event, current status, latest source, first delivery), so that the
// addresses and error codes of every message are not read.
func (s *Store) statsStates(scope Scope) string {
	return "SELECT tenant, provider, message_id," +
		" min(first_event_at) AS first_at," +
		" tupleElement(max(current), 4) AS status," +
		" tupleElement(max(source_latest), 3) AS source," +
		" min(delivered_at) AS first_delivered_at" +
		" FROM " + s.table("messages_state") + where{scope.condition()}.String() +
		" GROUP BY tenant, provider, message_id"
}

// deliveryRate is delivered ÷ finished messages (see StatsBucket), nil
// when no message has finished.
func deliveryRate(counts map[string]uint64) *float64 {
	delivered := counts[schema.MessageDelivered] + counts[schema.MessageRead]
	finished := delivered
	for _, st := range schema.MessageFinalFailures {
		finished += counts[st]
	}
	if finished == 0 {
		return nil
	}
	rate := float64(delivered) / float64(finished)
	return &rate
}
