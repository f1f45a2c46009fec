package ingest

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	requests     *prometheus.CounterVec
	auditDropped *prometheus.CounterVec
	publish      prometheus.Histogram
	unavailable  prometheus.Counter
	shed         *prometheus.CounterVec
	bodyBytes    prometheus.Gauge
	auditBytes   prometheus.Gauge
	verify       *prometheus.HistogramVec
}

// Outcomes of a verification, the outcome label of
// hookledger_ingest_verify_duration_seconds.
const (
	verifyAccepted = "accepted" // the signature (and token) checked out
	verifyRejected = "rejected" // refused with a reason (401)
	verifyError    = "error"    // the verifier could not decide (503)
)

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookledger_ingest_requests_total",
			Help: "Callbacks received, by source, verdict and rejection reason.",
		}, []string{"source", "verdict", "reason"}),
		auditDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookledger_ingest_audit_dropped_total",
			Help: "Rejection audit records not appended to Kafka, by cause (rate_limited, queue_full, queue_bytes, publish_failed).",
		}, []string{"cause"}),
		publish: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hookledger_ingest_publish_seconds",
			Help:    "Time until Kafka acknowledged an accepted callback.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		unavailable: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookledger_ingest_unavailable_total",
			Help: "Callbacks answered 503 because they could not be stored or processed now (Kafka, verifier, body memory).",
		}),
		shed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookledger_ingest_shed_total",
			Help: "Callbacks answered 503 before their body was read, by cause (body_memory: ingest.max_body_memory in use; large_body_busy: no large-body slot within 2s).",
		}, []string{"cause"}),
		bodyBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hookledger_ingest_body_bytes_in_flight",
			Help: "Bytes of request bodies held by requests being read, verified or stored.",
		}),
		auditBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hookledger_ingest_audit_queue_bytes",
			Help: "Bytes of rejection audit records waiting to be written.",
		}),
		verify: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hookledger_ingest_verify_duration_seconds",
			Help:    "Time spent verifying a callback's signature, by provider and outcome (accepted, rejected, error).",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 16), // 50 µs to ~1.6 s
		}, []string{"provider", "outcome"}),
	}
	// Known causes start at zero, so rates and alerts see the first one.
	for _, c := range []string{"rate_limited", "queue_full", "queue_bytes", "publish_failed", "stopped"} {
		m.auditDropped.WithLabelValues(c)
	}
	for _, c := range []string{"body_memory", "large_body_busy"} {
		m.shed.WithLabelValues(c)
	}
	reg.MustRegister(m.requests, m.auditDropped, m.publish, m.unavailable, m.shed, m.bodyBytes, m.auditBytes, m.verify)
	return m
}
