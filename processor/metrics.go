package processor

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	stored *prometheus.CounterVec
	dead   prometheus.Counter
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
	}
	reg.MustRegister(m.stored, m.dead)
	return m
}
