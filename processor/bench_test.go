package processor_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookledger/hookledger/internal/config"
	"github.com/hookledger/hookledger/internal/kafkalog"
	"github.com/hookledger/hookledger/internal/loadgen"
	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/internal/testinfra/chdbtest"
	"github.com/hookledger/hookledger/processor"
	"github.com/hookledger/hookledger/provider/providers"
	"github.com/hookledger/hookledger/schema"
	"github.com/hookledger/hookledger/storage"
)

// benchRecords is how many records each benchmark iteration moves.
const (
	benchRecords = 10_000
	benchBatch   = 1000 // the processor's default batch_size
)

// BenchmarkProcessor measures the processor's throughput from a pre-filled
// topic into the embedded ClickHouse, next to a plain insert of the same
// rows into the same engine in the same run: the ratio is what fetching,
// decoding, normalising and committing cost on top of ClickHouse itself.
//
//	go test -run '^$' -bench BenchmarkProcessor -benchtime 1x ./processor
//
// Records are the benchmark's own realistic callbacks (every provider and
// scheme, ~600-byte bodies) as ingest writes them. Only the public entry
// points are used (New, HandleVerified, HandleRaw, NormaliseRecord), so a
// rework of the processor's insides keeps the benchmark.
func BenchmarkProcessor(b *testing.B) {
	brokers := testinfra.KafkaBrokers(b)
	_, verified, dead := testinfra.Topics(b)
	if err := kafkalog.EnsureTopics(context.Background(), brokers, []kafkalog.TopicSpec{
		{Name: verified, Partitions: 1, ReplicationFactor: 1}, {Name: dead, Partitions: 1, ReplicationFactor: 1},
	}); err != nil {
		b.Fatal(err)
	}
	records := benchRecordsOf(b, benchRecords)
	producer := kafkalog.NewProducer(brokers)
	defer producer.Close()
	encoded := make([]kafkalog.Message, len(records))
	for i := 0; i < len(records); i += benchBatch {
		msgs := make([]kafkalog.Message, 0, benchBatch)
		for j := i; j < min(i+benchBatch, len(records)); j++ {
			v, h, err := schema.EncodeRecord(records[j])
			if err != nil {
				b.Fatal(err)
			}
			encoded[j] = kafkalog.Message{Topic: verified, Key: []byte(records[j].ID.String()), Value: v, Headers: h}
			msgs = append(msgs, encoded[j])
		}
		if err := producer.Publish(context.Background(), msgs...); err != nil {
			b.Fatal(err)
		}
	}
	reg := providers.All()
	log := slog.New(slog.DiscardHandler)
	for _, bc := range []struct {
		name   string
		handle func(*processor.Processor) kafkalog.Handler
		// rows turns a batch into its insert, untimed.
		rows func(batch []*schema.Record) (insert, error)
	}{
		{"history", func(p *processor.Processor) kafkalog.Handler { return p.HandleVerified },
			func(batch []*schema.Record) (insert, error) {
				var all schema.Normalised
				for _, rec := range batch {
					n, err := processor.NormaliseRecord(reg, rec)
					if err != nil {
						return nil, err
					}
					all.Add(n)
				}
				return func(ctx context.Context, s *storage.Store) error { return s.InsertNormalised(ctx, all) }, nil
			}},
		{"audit", func(p *processor.Processor) kafkalog.Handler { return p.HandleRaw },
			func(batch []*schema.Record) (insert, error) {
				return func(ctx context.Context, s *storage.Store) error { return s.InsertCallbacks(ctx, batch) }, nil
			}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			inserts := prepareInserts(b, encoded, bc.rows)
			// The plain inserts run before and after the processor (each
			// into a fresh database), so engine warm-up and background
			// merges weigh on both sides alike.
			var procTime, insertTime time.Duration
			for i := 0; i < b.N; i++ {
				insertTime += insertAll(b, chdbtest.Store(b), inserts)
				b.StopTimer()
				proc := processor.New(chdbtest.Store(b), reg, producer, dead, log, nil)
				b.StartTimer()
				procTime += consumeAll(b, brokers, verified, bc.handle(proc), len(records))
				insertTime += insertAll(b, chdbtest.Store(b), inserts)
			}
			procRate := float64(b.N*len(records)) / procTime.Seconds()
			insertRate := float64(2*b.N*len(records)) / insertTime.Seconds()
			b.ReportMetric(procRate, "processor-events/s")
			b.ReportMetric(insertRate, "insert-events/s")
			b.ReportMetric(procRate/insertRate, "ratio")
		})
	}
}

// consumeAll runs a consumer of a fresh group over the topic until want
// records were handled and returns the time from the first batch handed
// to handle until the last one was stored (the group join before it is
// left out: it measures kfake, not the processor).
func consumeAll(b *testing.B, brokers []string, topic string, handle kafkalog.Handler, want int) time.Duration {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := kafkalog.NewConsumer(kafkalog.ConsumerOptions{
		Brokers: brokers, Topic: topic, Group: "bench-" + uuid.NewString(), ClientID: "bench",
		BatchSize: benchBatch, FlushInterval: 200 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
	})
	var mu sync.Mutex
	var first, last time.Time
	seen := 0
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = c.Run(ctx, func(ctx context.Context, batch []kafkalog.Fetched) error {
			mu.Lock()
			if first.IsZero() {
				first = time.Now()
			}
			mu.Unlock()
			if err := handle(ctx, batch); err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			seen += len(batch)
			last = time.Now()
			if seen >= want {
				close(done)
			}
			return nil
		})
	})
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("consumed %d of %d records", seen, want)
	}
	cancel()
	wg.Wait()
	_ = c.Close()
	return last.Sub(first)
}

// insert stores one prepared batch.
type insert func(context.Context, *storage.Store) error

// prepareInserts decodes the records again (the processor's input is the
// same bytes) and prepares their inserts in batches of benchBatch.
func prepareInserts(b *testing.B, msgs []kafkalog.Message, rows func([]*schema.Record) (insert, error)) []insert {
	var out []insert
	for i := 0; i < len(msgs); i += benchBatch {
		batch := make([]*schema.Record, 0, benchBatch)
		for _, m := range msgs[i:min(i+benchBatch, len(msgs))] {
			rec, err := schema.DecodeRecord(m.Value, m.Headers)
			if err != nil {
				b.Fatal(err)
			}
			batch = append(batch, rec)
		}
		ins, err := rows(batch)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, ins)
	}
	return out
}

// insertAll runs the inserts one after another and returns their time.
func insertAll(b *testing.B, s *storage.Store, inserts []insert) time.Duration {
	start := time.Now()
	for _, ins := range inserts {
		if err := ins(context.Background(), s); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}

// benchRecordsOf returns n accepted records, round-robin over every
// loadgen scenario, as ingest would have written them.
func benchRecordsOf(b *testing.B, n int) []*schema.Record {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
query: {tokens: [{name: ops, token: t, tenants: ["*"]}]}
sources:
  - {id: sw-main, provider: signalwire, tenant: acme, signalwire: {signing_keys: [PSKbench]}}
  - {id: vonage-main, provider: vonage, tenant: acme, vonage: {signature_secrets: [s], sms_signature_method: md5hash}}
  - {id: mm-main, provider: messagemedia, tenant: acme, messagemedia: {keys: [{key_id: k1, public_key: %s}]}}
`, base64.StdEncoding.EncodeToString(der))), func(string) (string, bool) { return "", false })
	if err != nil {
		b.Fatal(err)
	}
	target, err := loadgen.NewTarget(cfg, loadgen.TargetOptions{
		MessageMediaKeyPEM: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}),
	})
	if err != nil {
		b.Fatal(err)
	}
	scenarios := loadgen.Scenarios(target, "be4c4000", 600)
	out := make([]*schema.Record, n)
	now := time.Now().UTC()
	for i := range out {
		sc := scenarios[i%len(scenarios)]
		r, err := sc.Build(uint64(i), now)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = &schema.Record{ID: uuid.Must(uuid.NewV7()), ReceivedAt: now, Source: sc.Source,
			Provider: sc.Provider, Tenant: "acme", Method: r.Method, URL: "https://hooks.example.com" + r.Path,
			RemoteAddr: "192.0.2.10", Headers: http.Header(r.Header), Verdict: schema.VerdictAccepted,
			KeyID: "bench", Body: r.Body, BodyBytes: len(r.Body)}
	}
	return out
}
