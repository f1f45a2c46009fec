package processor

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	stored       *prometheus.CounterVec
	dead         prometheus.Counter
	offsetResets *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		stored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookledger_processor_rows_stored_total",
			Help: "Rows inserted into ClickHouse, by table (redeliveries included).",
		}, []string{"table"}),
		dead: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookledger_processor_dead_letters_total",
			Help: "Records sent to the dead-letter topic.",
		}),
		offsetResets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookledger_processor_offset_resets_total",
			Help: "Partitions re-read from their log start because the broker lost records the group had read, by cause (committed_beyond_end, log_moved_backwards).",
		}, []string{"topic", "cause"}),
	}
	reg.MustRegister(m.stored, m.dead, m.offsetResets)
	return m
}
