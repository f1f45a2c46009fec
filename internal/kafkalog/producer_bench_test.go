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
// the embedded broker, one partition per topic (the embedded default), as
// ingest publishes: one record per callback (raw) or two (raw and
// verified, hookledger before the forwarder). Durability modes:
//
//   - barrier: the default with sync_writes, kfake writes to the page
//     cache and the DiskSyncer fsyncs outside the broker loop before a
//     publisher is answered;
//   - inloop: kfake's own SyncWrites, which fsyncs inside its request
//     loop (hookledger before the DiskSyncer);
//   - pagecache: sync_writes false.
//
// "writer" is the kafka.Writer configuration hookledger used before group
// commit, on the in-loop broker. fsyncs/callback counts what the mode
// really issued (inloop: a segment and an index per produce request).
//
//	go test -run '^$' -bench Publish -benchtime 3s ./internal/kafkalog/
func BenchmarkPublish(b *testing.B) {
	value := make([]byte, 600)
	for _, bc := range []struct {
		name    string
		records int
		mode    string
		writer  bool
		cohort  float64
	}{
		{"barrier/1-record", 1, "barrier", false, 0},
		{"barrier-cohort0.5/1-record", 1, "barrier", false, 0.5},
		{"barrier/2-records", 2, "barrier", false, 0},
		{"inloop/1-record", 1, "inloop", false, 0},
		{"inloop-cohort0.5/1-record", 1, "inloop", false, 0.5},
		{"inloop/2-records", 2, "inloop", false, 0},
		{"inloop-cohort0.5/2-records", 2, "inloop", false, 0.5},
		{"pagecache/1-record", 1, "pagecache", false, 0},
		{"pagecache-cohort0.5/1-record", 1, "pagecache", false, 0.5},
		{"writer-inloop/1-record", 1, "inloop", true, 0},
		{"writer-inloop/2-records", 2, "inloop", true, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			br := newBrokerSync(b, bc.mode == "inloop")
			topics := []string{br.topic("raw", 1), br.topic("verified", 1)}
			var opts []ProducerOption
			if bc.mode == "barrier" {
				opts = append(opts, WithLogSyncer(br.emb.Syncer()))
			}
			publish, stats, closeFn := groupCommit(br.brokers(), bc.cohort, opts...)
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
			st := stats()
			if st.Rounds > 0 {
				b.ReportMetric(float64(b.N)/float64(st.Rounds)*float64(bc.records), "callbacks/round")
			}
			switch bc.mode {
			case "inloop":
				b.ReportMetric(2*float64(st.Rounds)/float64(b.N), "fsyncs/callback")
			case "barrier":
				ss := br.emb.syncer.Stats()
				b.ReportMetric(float64(ss.Fsyncs)/float64(b.N), "fsyncs/callback")
				b.ReportMetric(float64(b.N*bc.records)/float64(max(1, ss.Rounds)), "records/flush")
			}
		})
	}
}

type publishFunc func(context.Context, ...Message) error

func groupCommit(brokers []string, cohort float64, opts ...ProducerOption) (publishFunc, func() ProducerStats, func()) {
	p := NewProducer(brokers, opts...)
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
