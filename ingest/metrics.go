package ingest

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	requests     *prometheus.CounterVec
	auditDropped *prometheus.CounterVec
	publish      prometheus.Histogram
	unavailable  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookledger_ingest_requests_total",
			Help: "Callbacks received, by source, verdict and rejection reason.",
		}, []string{"source", "verdict", "reason"}),
		auditDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookledger_ingest_audit_dropped_total",
			Help: "Rejection audit records not appended to Kafka, by cause (rate_limited, queue_full, publish_failed).",
		}, []string{"cause"}),
		publish: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hookledger_ingest_publish_seconds",
			Help:    "Time until Kafka acknowledged an accepted callback.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		unavailable: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookledger_ingest_unavailable_total",
			Help: "Callbacks answered 503 because Kafka did not acknowledge in time.",
		}),
	}
	reg.MustRegister(m.requests, m.auditDropped, m.publish, m.unavailable)
	return m
}
