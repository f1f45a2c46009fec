package app

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookledger/hookledger/internal/kafkalog"
	"github.com/hookledger/hookledger/storage"
)

// Outcomes of a config reload, the outcome label of
// hookledger_config_reloads_total.
const (
	reloadApplied = "applied" // the new sources, tokens and reloadable keys run
	reloadFailed  = "failed"  // the file did not load or build; the running config stays
)

// appMetrics are the metrics of the wiring between the tiers and the
// engines: what the Kafka producer, the embedded broker's durability
// barrier, the consumer groups and ClickHouse inserts take, and config
// reloads. Every label value is a configured name (topic, group, table) or
// a partition number, never request content.
type appMetrics struct {
	publish *prometheus.HistogramVec
	sync    prometheus.Histogram
	lag     *prometheus.GaugeVec
	insert  *prometheus.HistogramVec
	reloads *prometheus.CounterVec
}

func newAppMetrics(reg prometheus.Registerer) *appMetrics {
	m := &appMetrics{
		publish: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hookledger_kafka_publish_duration_seconds",
			Help:    "Time until Kafka acknowledged a publish (one or more records, acks=all, the embedded broker's fsync included), by topic.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"topic"}),
		sync: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hookledger_kafka_embedded_sync_duration_seconds",
			Help:    "Time a produce round of the embedded broker waited for its partition's fsync barrier (kafka.sync_writes).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hookledger_kafka_consumer_lag_records",
			Help: "Records not yet committed by a consumer group, by group, topic and partition; updated at every offset check (5 s).",
		}, []string{"group", "topic", "partition"}),
		insert: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hookledger_clickhouse_insert_duration_seconds",
			Help:    "Time of one ClickHouse insert (one block), by table; failed inserts included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"table"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookledger_config_reloads_total",
			Help: "Config reloads (SIGHUP or a changed file), by outcome (applied, failed).",
		}, []string{"outcome"}),
	}
	m.reloads.WithLabelValues(reloadApplied)
	m.reloads.WithLabelValues(reloadFailed)
	reg.MustRegister(m.publish, m.sync, m.lag, m.insert, m.reloads)
	return m
}

// publisher is what ingest, the forwarder and the dead-letter path write
// through.
type publisher interface {
	Publish(ctx context.Context, msgs ...kafkalog.Message) error
}

// timedPublisher times every Publish of p by its first message's topic
// (every caller publishes to one topic at a time).
type timedPublisher struct {
	p publisher
	m *appMetrics
}

func (t timedPublisher) Publish(ctx context.Context, msgs ...kafkalog.Message) error {
	start := time.Now()
	err := t.p.Publish(ctx, msgs...)
	if len(msgs) > 0 {
		t.m.publish.WithLabelValues(msgs[0].Topic).Observe(time.Since(start).Seconds())
	}
	return err
}

// timedSyncer times the embedded broker's durability barrier.
type timedSyncer struct {
	s kafkalog.LogSyncer
	m *appMetrics
}

func (t timedSyncer) SyncPartition(ctx context.Context, topic string, partition int) error {
	start := time.Now()
	err := t.s.SyncPartition(ctx, topic, partition)
	t.m.sync.Observe(time.Since(start).Seconds())
	return err
}

// observeLag is a consumer's kafkalog.ConsumerOptions.OnLag.
func (m *appMetrics) observeLag(l kafkalog.PartitionLag) {
	m.lag.WithLabelValues(l.Group, l.Topic, strconv.Itoa(l.Partition)).Set(float64(l.Lag))
}

// timedConn times the inserts of a storage.Conn by table.
type timedConn struct {
	storage.Conn
	m *appMetrics
}

func (t timedConn) Insert(ctx context.Context, table string, rows []any) error {
	start := time.Now()
	err := t.Conn.Insert(ctx, table, rows)
	name := table
	if _, t, ok := strings.Cut(table, "."); ok {
		name = t // "db.table": the database is one per deployment
	}
	t.m.insert.WithLabelValues(name).Observe(time.Since(start).Seconds())
	return err
}

// timedStore is store writing through a timedConn, for the processor: the
// query API keeps the store itself.
func timedStore(store *storage.Store, m *appMetrics) *storage.Store {
	return storage.NewStore(timedConn{Conn: store.Conn(), m: m}, store.Database())
}
