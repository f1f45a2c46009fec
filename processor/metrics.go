package processor

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/schema"
)

// Causes of a dead letter, the cause label of
// hookledger_processor_dead_letters_total.
const (
	CauseUndecodable = "undecodable" // not a record this build can decode (format, version, metadata)
	CauseUnusable    = "unusable"    // decoded, but nothing can ever be stored from it (provider.ErrUnusable)
	CauseNormalise   = "normalise"   // the provider's normaliser refused the payload
)

// Consumers whose records the stored-delay histogram times, its consumer
// label.
const (
	delayAudit   = "audit"
	delayHistory = "history"
)

type metrics struct {
	stored        *prometheus.CounterVec
	dead          *prometheus.CounterVec
	offsetResets  *prometheus.CounterVec
	delay         *prometheus.HistogramVec
	messageEvents *prometheus.CounterVec
}

// newMetrics registers the processor's metrics. Label values come from
// fixed vocabularies (tables, causes, providers of this build, normalised
// statuses), never from record content, so cardinality is bounded; every
// known combination is created at once so rates start at zero.
func newMetrics(reg prometheus.Registerer, providers []string) *metrics {
	m := &metrics{
		stored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookledger_processor_rows_stored_total",
			Help: "Rows inserted into ClickHouse, by table (redeliveries included).",
		}, []string{"table"}),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookledger_processor_dead_letters_total",
			Help: "Records sent to the dead-letter topic, by cause (undecodable, unusable, normalise).",
		}, []string{"cause"}),
		offsetResets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookledger_processor_offset_resets_total",
			Help: "Partitions re-read from their log start because the broker lost records the group had read, by cause (committed_beyond_end, log_moved_backwards).",
		}, []string{"topic", "cause"}),
		delay: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hookledger_processor_stored_delay_seconds",
			Help:    "Time from a callback's receipt at ingest (its received_at) until its rows were inserted, by consumer (audit: the callbacks table; history: message, reply and call events).",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 20), // 5 ms to ~45 min
		}, []string{"consumer"}),
		messageEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookledger_processor_message_events_total",
			Help: "Normalised message status events stored, by provider and normalised status (redeliveries included); delivered against the final failures is the delivery rate.",
		}, []string{"provider", "status"}),
	}
	for _, t := range []string{"callbacks", "message_events", "replies", "call_events"} {
		m.stored.WithLabelValues(t)
	}
	for _, c := range []string{CauseUndecodable, CauseUnusable, CauseNormalise} {
		m.dead.WithLabelValues(c)
	}
	for _, c := range []string{delayAudit, delayHistory} {
		m.delay.WithLabelValues(c)
	}
	for _, p := range providers {
		for _, s := range append([]string{schema.MessageDelivered}, schema.MessageFinalFailures...) {
			m.messageEvents.WithLabelValues(p, s)
		}
	}
	reg.MustRegister(m.stored, m.dead, m.offsetResets, m.delay, m.messageEvents)
	return m
}

// deadCause classifies why a record was set aside.
func deadCause(err error) string {
	switch {
	case errors.Is(err, provider.ErrUnusable):
		return CauseUnusable
	case errors.As(err, new(undecodableError)):
		return CauseUndecodable
	default:
		return CauseNormalise
	}
}

// undecodableError marks a record that could not be decoded; its text is
// the decoder's, unchanged (it goes into the dead letter's error header).
type undecodableError struct{ err error }

func (e undecodableError) Error() string { return e.err.Error() }
func (e undecodableError) Unwrap() error { return e.err }

// observeDelay records, for each receipt time, how long ago it was.
func (m *metrics) observeDelay(consumer string, now time.Time, received ...time.Time) {
	h := m.delay.WithLabelValues(consumer)
	for _, r := range received {
		h.Observe(max(now.Sub(r), 0).Seconds())
	}
}

// countHistory counts what one history batch stored.
func (m *metrics) countHistory(n schema.Normalised) {
	m.stored.WithLabelValues("message_events").Add(float64(len(n.Messages)))
	m.stored.WithLabelValues("replies").Add(float64(len(n.Replies)))
	m.stored.WithLabelValues("call_events").Add(float64(len(n.Calls)))
	for _, e := range n.Messages {
		if _, ok := schema.MessageStatusRank(e.Status); ok {
			m.messageEvents.WithLabelValues(e.Provider, e.Status).Inc()
		}
	}
}
