package processor

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookledger/hookledger/internal/config"
	"github.com/hookledger/hookledger/internal/kafkalog"
	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/internal/testinfra/chdbtest"
	"github.com/hookledger/hookledger/provider/providers"
	"github.com/hookledger/hookledger/schema"
	"github.com/hookledger/hookledger/storage"
)

var (
	benchRecords    = flag.Int("bench.records", 50_000, "records BenchmarkThroughput pre-fills its topic with")
	benchPartitions = flag.Int("bench.partitions", 1, "partitions of BenchmarkThroughput's topic")
	benchBatch      = flag.Int("bench.batch", config.Defaults().Processor.BatchSize, "BenchmarkThroughput's batch size (processor.batch_size)")
	benchPipeline   = flag.Int("bench.pipeline", StorePipeline, "batches in flight (kafkalog.ConsumerOptions.Pipeline)")
)

// BenchmarkThroughput measures the processor from a pre-filled topic into
// the embedded ClickHouse, through the real consumer loop, next to a plain
// insert of the same rows (already decoded and normalised, in batches of
// the same size) into the same engine in the same run. "ratio" is
// processor-events/s over insert-events/s: what fetching, decoding,
// normalising and committing cost on top of ClickHouse itself.
//
//	go test -run '^$' -bench BenchmarkThroughput -benchtime 1x ./processor \
//	    [-args -bench.records 200000 -bench.partitions 2]
//
// Records are realistic accepted callbacks of every provider (SignalWire
// message and call status forms, Vonage Messages API and Voice JSON,
// MessageMedia delivery reports and replies), with unique ids, as ingest
// writes them.
func BenchmarkThroughput(b *testing.B) {
	brokers := testinfra.KafkaBrokers(b)
	raw, _, dead := testinfra.Topics(b)
	if err := kafkalog.EnsureTopics(context.Background(), brokers, []kafkalog.TopicSpec{
		{Name: raw, Partitions: *benchPartitions, ReplicationFactor: 1}, {Name: dead, Partitions: 1, ReplicationFactor: 1},
	}); err != nil {
		b.Fatal(err)
	}
	records := benchRecordSet(*benchRecords)
	producer := kafkalog.NewProducer(brokers)
	defer producer.Close()
	fetched := fillTopic(b, producer, raw, records)
	reg := providers.All()
	log := slog.New(slog.DiscardHandler)

	for _, bc := range []struct {
		name   string
		handle func(*Processor) kafkalog.Handler
		insert func(ctx context.Context, s *storage.Store, recs []*schema.Record) (func() error, error)
	}{
		{"history", func(p *Processor) kafkalog.Handler { return p.HandleVerified },
			func(ctx context.Context, s *storage.Store, recs []*schema.Record) (func() error, error) {
				var all schema.Normalised
				for _, rec := range recs {
					n, err := NormaliseRecord(reg, rec)
					if err != nil {
						return nil, err
					}
					all.Add(n)
				}
				return func() error { return s.InsertNormalised(ctx, all) }, nil
			}},
		{"audit", func(p *Processor) kafkalog.Handler { return p.HandleRaw },
			func(ctx context.Context, s *storage.Store, recs []*schema.Record) (func() error, error) {
				return func() error { return s.InsertCallbacks(ctx, recs) }, nil
			}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var procTime, insertTime, procCPU, insertCPU time.Duration
			for range b.N {
				b.StopTimer()
				procStore, insertStore := chdbtest.Store(b), chdbtest.Store(b)
				proc := New(procStore, reg, producer, dead, log, nil)
				b.StartTimer()
				cpu := processCPU()
				procTime += consumeAll(b, brokers, raw, bc.handle(proc), len(records))
				procCPU += processCPU() - cpu
				wall, cpu := insertAll(b, insertStore, fetched, bc.insert)
				insertTime += wall
				insertCPU += cpu
			}
			n := float64(b.N * len(records))
			procRate, insertRate := n/procTime.Seconds(), n/insertTime.Seconds()
			b.ReportMetric(procRate, "events/s")
			b.ReportMetric(insertRate, "insert-events/s")
			b.ReportMetric(procRate/insertRate, "ratio")
			// CPU time of the whole process (chDB's threads included) per
			// event: steadier than rates on a shared machine.
			b.ReportMetric(float64(procCPU.Microseconds())/n, "cpu-µs/event")
			b.ReportMetric(float64(insertCPU.Microseconds())/n, "insert-cpu-µs/event")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// processCPU is the CPU time the process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fillTopic appends the records to topic, as ingest writes them, and
// returns them as a consumer fetches them.
func fillTopic(b *testing.B, producer *kafkalog.Producer, topic string, records []*schema.Record) []kafkalog.Fetched {
	fetched := make([]kafkalog.Fetched, len(records))
	const chunk = 5000
	for i := 0; i < len(records); i += chunk {
		msgs := make([]kafkalog.Message, 0, chunk)
		for j := i; j < min(i+chunk, len(records)); j++ {
			v, h, err := schema.EncodeRecord(records[j])
			if err != nil {
				b.Fatal(err)
			}
			fetched[j] = kafkalog.Fetched{Topic: topic, Value: v, Headers: h}
			msgs = append(msgs, kafkalog.Message{Topic: topic, Key: []byte(records[j].ID.String()), Value: v, Headers: h})
		}
		if err := producer.Publish(context.Background(), msgs...); err != nil {
			b.Fatal(err)
		}
	}
	return fetched
}

// consumeAll runs the processor's consumer loop over topic in a fresh
// group until want records were handled, and returns the time from the
// first batch handed over until the last one was stored (the group join
// before it measures the broker, not the processor).
func consumeAll(b *testing.B, brokers []string, topic string, handle kafkalog.Handler, want int) time.Duration {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := kafkalog.NewConsumer(kafkalog.ConsumerOptions{
		Brokers: brokers, Topic: topic, Group: "bench-" + uuid.NewString(), ClientID: "bench",
		BatchSize: *benchBatch, FlushInterval: config.Defaults().Processor.FlushInterval, Pipeline: *benchPipeline,
		Logger: slog.New(slog.DiscardHandler),
	})
	var (
		mu          sync.Mutex
		first, last time.Time
		seen        atomic.Int64
		done        = make(chan struct{})
		once        sync.Once
		wg          sync.WaitGroup
	)
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
			last = time.Now()
			mu.Unlock()
			if seen.Add(int64(len(batch))) >= int64(want) {
				once.Do(func() { close(done) })
			}
			return nil
		})
	})
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("consumed %d of %d records", seen.Load(), want)
	}
	cancel()
	wg.Wait()
	_ = c.Close()
	mu.Lock()
	defer mu.Unlock()
	return last.Sub(first)
}

// insertAll decodes and normalises the records (outside the timing) and
// inserts them in batches of -bench.batch, one after the other. It returns
// the wall and process CPU time of the inserts alone.
func insertAll(b *testing.B, s *storage.Store, fetched []kafkalog.Fetched,
	prepare func(context.Context, *storage.Store, []*schema.Record) (func() error, error)) (wall, cpu time.Duration) {
	batch := *benchBatch
	for i := 0; i < len(fetched); i += batch {
		recs := make([]*schema.Record, 0, batch)
		for _, f := range fetched[i:min(i+batch, len(fetched))] {
			rec, err := schema.DecodeRecord(f.Value, f.Headers)
			if err != nil {
				b.Fatal(err)
			}
			recs = append(recs, rec)
		}
		insert, err := prepare(context.Background(), s, recs)
		if err != nil {
			b.Fatal(err)
		}
		start, startCPU := time.Now(), processCPU()
		if err := insert(); err != nil {
			b.Fatal(err)
		}
		wall += time.Since(start)
		cpu += processCPU() - startCPU
	}
	return wall, cpu
}

// benchRecordSet returns n accepted records, round-robin over the
// providers' common callbacks, each about its real size (300-700 bytes).
func benchRecordSet(n int) []*schema.Record {
	now := time.Now().UTC()
	out := make([]*schema.Record, n)
	for i := range out {
		out[i] = benchRecord(i, now)
	}
	return out
}

func benchRecord(i int, now time.Time) *schema.Record {
	rec := &schema.Record{
		ID: uuid.Must(uuid.NewV7()), ReceivedAt: now, Tenant: "acme", Method: http.MethodPost,
		RemoteAddr: "192.0.2.10:41234", Verdict: schema.VerdictAccepted,
		Headers: http.Header{"User-Agent": {"bench/1.0"}, "Accept": {"*/*"}},
	}
	statuses := []string{"queued", "sent", "delivered", "delivered", "undelivered"}
	status := statuses[i%len(statuses)]
	ts := now.Add(-time.Second).Format("2006-01-02T15:04:05.000Z")
	var body string
	switch i % 6 {
	case 0, 1: // SignalWire message status (form, scheme A)
		rec.Source, rec.Provider = "sw-main", "signalwire"
		rec.URL = "https://hooks.example.com/hooks/sw-main"
		rec.Headers.Set("Content-Type", "application/x-www-form-urlencoded")
		rec.Headers.Set("X-Signalwire-Signature", "5Qh0dwVHyOj5nqEsGCTbqfC3mDg=")
		body = url.Values{
			"MessageSid": {fmt.Sprintf("SM%032x", i)}, "MessageStatus": {status},
			"AccountSid": {"446e9986-0848-4d46-a617-48793c5f5e07"}, "From": {"+15550001111"}, "To": {"+15550002222"},
			"ApiVersion": {"2010-04-01"}, "SmsSid": {fmt.Sprintf("SM%032x", i)}, "SmsStatus": {status},
		}.Encode()
	case 2: // SignalWire call status (form)
		rec.Source, rec.Provider = "sw-main", "signalwire"
		rec.URL = "https://hooks.example.com/hooks/sw-main"
		rec.Headers.Set("Content-Type", "application/x-www-form-urlencoded")
		rec.Headers.Set("X-Signalwire-Signature", "5Qh0dwVHyOj5nqEsGCTbqfC3mDg=")
		body = url.Values{
			"CallSid": {fmt.Sprintf("CA%032x", i)}, "CallStatus": {"completed"}, "CallDuration": {"13"},
			"AccountSid": {"446e9986-0848-4d46-a617-48793c5f5e07"}, "From": {"+15550001111"}, "To": {"+15550002222"},
			"Direction": {"outbound-api"}, "ApiVersion": {"2010-04-01"}, "Timestamp": {now.Format(time.RFC1123Z)},
		}.Encode()
	case 3: // Vonage Messages API status (JSON)
		rec.Source, rec.Provider = "vonage-main", "vonage"
		rec.URL = "https://hooks.example.com/hooks/vonage-main"
		rec.Headers.Set("Content-Type", "application/json")
		rec.Headers.Set("Authorization", "[redacted hmac:0123456789ab] Bearer")
		body = fmt.Sprintf(`{"message_uuid":"%08x-bbbb-4ccc-8ddd-0123456789ab","to":"447700900000","from":"447700900001",`+
			`"timestamp":"%s","status":"%s","channel":"sms","usage":{"currency":"EUR","price":"0.0333"}}`, i, ts, status)
	case 4: // Vonage Voice event (JSON)
		rec.Source, rec.Provider = "vonage-main", "vonage"
		rec.URL = "https://hooks.example.com/hooks/vonage-main/event"
		rec.Headers.Set("Content-Type", "application/json")
		rec.Headers.Set("Authorization", "[redacted hmac:0123456789ab] Bearer")
		body = fmt.Sprintf(`{"from":"447700900000","to":"447700900001","uuid":"%08x-4a51-4f6b-86e1-46edebcf9356",`+
			`"conversation_uuid":"CON-f972836a-550f-45fa-956c-12a2ab5b7d22","status":"answered","direction":"outbound",`+
			`"timestamp":"%s"}`, i, ts)
	default: // MessageMedia delivery report (JSON)
		rec.Source, rec.Provider = "mm-main", "messagemedia"
		rec.URL = "https://hooks.example.com/hooks/mm-main"
		rec.Headers.Set("Content-Type", "application/json")
		rec.Headers.Set("X-Messagemedia-Signature", "dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZQ==")
		rec.Headers.Set("Date", now.Format(http.TimeFormat))
		body = fmt.Sprintf(`{"callback_url":"https://hooks.example.com/hooks/mm-main",`+
			`"delivery_report_id":"%08x-6e27-4945-9cdb-18644b4de043","source_number":"+61491570157",`+
			`"date_received":"%s","status":"delivered","delay":0,"billing_units":1,`+
			`"submitted_date":"%s","original_text":"Your code is 1234",`+
			`"message_id":"%08x-fa2e-4cec-827a-e1df9b5509f7",`+
			`"vendor_account_id":{"vendor_id":"MessageMedia","account_id":"DeveloperPortal7000"},`+
			`"error_code":"","metadata":{"key1":"value1"}}`, i, ts, ts, i)
	}
	rec.Body, rec.BodyBytes, rec.KeyID = []byte(body), len(body), "sha256:0123456789ab"
	return rec
}
