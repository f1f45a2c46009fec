package app

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookledger/hookledger/internal/kafkalog"
)

// registerKafkaMetrics exposes the group-commit producer's counters and,
// on the embedded broker with sync_writes, the durability barrier's: the
// ratio of records to produce requests (and to fsync rounds) is how many
// callbacks share one broker round trip (and one fsync).
func registerKafkaMetrics(reg prometheus.Registerer, p *kafkalog.Producer, syncer kafkalog.LogSyncer) {
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hookledger_kafka_produce_requests_total",
			Help: "Produce requests acknowledged by Kafka (group-commit rounds, one per partition).",
		}, func() float64 { return float64(p.Stats().Rounds) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hookledger_kafka_produced_records_total",
			Help: "Records acknowledged by Kafka.",
		}, func() float64 { return float64(p.Stats().Records) }),
	)
	ds, ok := syncer.(*kafkalog.DiskSyncer)
	if !ok {
		return
	}
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hookledger_kafka_sync_rounds_total",
			Help: "Flushes of one partition by the embedded broker's durability barrier (sync_writes).",
		}, func() float64 { return float64(ds.Stats().Rounds) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hookledger_kafka_fsyncs_total",
			Help: "fsync calls of the embedded broker's durability barrier, files and directories.",
		}, func() float64 { return float64(ds.Stats().Fsyncs) }),
	)
}
