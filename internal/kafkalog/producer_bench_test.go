package kafkalog

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// BenchmarkPublish: 32 concurrent publishers of 600-byte records against
// the embedded broker with SyncWrites, one partition per topic (the
// embedded default), as ingest publishes: one record per callback (raw) or
// two (raw and verified, hookledger before the forwarder). "writer" is the
// kafka.Writer configuration hookledger used before group commit.
//
//	go test -run '^$' -bench Publish -benchtime 3s ./internal/kafkalog/
func BenchmarkPublish(b *testing.B) {
	value := make([]byte, 600)
	for _, bc := range []struct {
		name    string
		records int
		writer  bool
		cohort  float64
	}{
		{"groupcommit/1-record", 1, false, 0},
		{"groupcommit-cohort0.25/1-record", 1, false, 0.25},
		{"groupcommit-cohort0.5/1-record", 1, false, 0.5},
		{"groupcommit-cohort1/1-record", 1, false, 1},
		{"groupcommit/2-records", 2, false, 0},
		{"groupcommit-cohort0.5/2-records", 2, false, 0.5},
		{"writer/1-record", 1, true, 0},
		{"writer/2-records", 2, true, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			br := newBroker(b)
			topics := []string{br.topic("raw", 1), br.topic("verified", 1)}
			publish, stats, closeFn := groupCommit(br.brokers(), bc.cohort)
			if bc.writer {
				publish, stats, closeFn = legacyWriter(br.brokers())
			}
			defer closeFn()
			b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				n := 0
				for pb.Next() {
					n++
					key := []byte(fmt.Sprintf("%p-%d", pb, n))
					msgs := make([]Message, bc.records)
					for i := range msgs {
						msgs[i] = Message{Topic: topics[i], Key: key, Value: value}
					}
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					if err := publish(ctx, msgs...); err != nil {
						b.Error(err)
					}
					cancel()
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "callbacks/s")
			if st := stats(); st.Rounds > 0 {
				// Each produce request appends one batch to one partition:
				// kfake fsyncs its segment and its index (2 fsyncs).
				b.ReportMetric(float64(b.N)/float64(st.Rounds)*float64(bc.records), "callbacks/round")
				b.ReportMetric(2*float64(st.Rounds)/float64(b.N), "fsyncs/callback")
			}
		})
	}
}

type publishFunc func(context.Context, ...Message) error

func groupCommit(brokers []string, cohort float64) (publishFunc, func() ProducerStats, func()) {
	p := NewProducer(brokers)
	p.cohortWait = cohort
	return p.Publish, p.Stats, func() { p.Close() }
}

func legacyWriter(brokers []string) (publishFunc, func() ProducerStats, func()) {
	w := &kafka.Writer{
		Addr: kafka.TCP(brokers...), Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll,
		BatchTimeout: 2 * time.Millisecond, BatchSize: 500,
	}
	publish := func(ctx context.Context, msgs ...Message) error {
		km := make([]kafka.Message, len(msgs))
		for i, m := range msgs {
			km[i] = kafka.Message{Topic: m.Topic, Key: m.Key, Value: m.Value}
		}
		return w.WriteMessages(ctx, km...)
	}
	stats := func() ProducerStats {
		s := w.Stats()
		return ProducerStats{Rounds: s.Writes, Records: s.Messages}
	}
	return publish, stats, func() { w.Close() }
}
