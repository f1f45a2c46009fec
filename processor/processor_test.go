package processor

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hookledger/hookledger/internal/kafkalog"
	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/internal/testinfra/chdbtest"
	"github.com/hookledger/hookledger/provider/providers"
	"github.com/hookledger/hookledger/schema"
	"github.com/hookledger/hookledger/storage"
)

func TestMain(m *testing.M) { chdbtest.Main(m) }

func swRec(sid, status string) *schema.Record {
	return &schema.Record{
		ID: uuid.Must(uuid.NewV7()), ReceivedAt: time.Now().UTC(), Source: "sw-main", Provider: "signalwire",
		Tenant: "acme", Method: http.MethodPost, URL: "https://hooks.example.com/hooks/sw-main",
		Headers: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
		Verdict: schema.VerdictAccepted, KeyID: "sha256:000000000000",
		Body: []byte("MessageSid=" + sid + "&MessageStatus=" + status + "&From=%2B15550001111&To=%2B15550002222"),
	}
}

// encode is rec as ingest writes it now (v2).
func encode(rec *schema.Record) kafkalog.Message {
	v, h, err := schema.EncodeRecord(rec)
	if err != nil {
		panic(err)
	}
	return kafkalog.Message{Value: v, Headers: h}
}

// encodeV1 is rec as hookledger wrote it before record format v2: the
// whole record as JSON in the value.
func encodeV1(rec *schema.Record) kafkalog.Message {
	rec.Version = 1
	v, err := json.Marshal(rec)
	if err != nil {
		panic(err)
	}
	return kafkalog.Message{Value: v, Headers: map[string]string{
		schema.HeaderContentType: schema.RecordContentTypeV1, schema.HeaderVerdict: string(rec.Verdict),
	}}
}

func swRecord(sid, status string) kafkalog.Message { return encode(swRec(sid, status)) }

func unknownProviderRecord() kafkalog.Message {
	rec := swRec("SMx", "sent")
	rec.Provider = "carrier-pigeon"
	return encode(rec)
}

// consume runs a processor consumer until ctx ends.
func consume(ctx context.Context, t *testing.T, brokers []string, topic, group string, handle kafkalog.Handler) *sync.WaitGroup {
	c := kafkalog.NewConsumer(kafkalog.ConsumerOptions{
		Brokers: brokers, Group: group, Topic: topic, ClientID: group, BatchSize: 100, FlushInterval: 50 * time.Millisecond,
	})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = c.Run(ctx, handle)
		_ = c.Close()
	}()
	return &wg
}

func topicLen(t *testing.T, brokers []string, topic string) (n int, headers []map[string]string) {
	_ = kafkalog.Scan(context.Background(), brokers, topic, func(f kafkalog.Fetched) error {
		n++
		headers = append(headers, f.Headers)
		return nil
	})
	return n, headers
}

// TestUnusableRecordsGoToDeadLettersWithoutStalling: garbage and records of
// an unknown provider sit between good ones in one partition; the good ones
// are stored, the bad ones dead-lettered with their error, and the group's
// offsets move past all of them.
func TestUnusableRecordsGoToDeadLettersWithoutStalling(t *testing.T) {
	brokers := testinfra.KafkaBrokers(t)
	_, verified, dead := testinfra.Topics(t)
	if err := kafkalog.EnsureTopics(context.Background(), brokers, []kafkalog.TopicSpec{
		{Name: verified, Partitions: 1, ReplicationFactor: 1}, {Name: dead, Partitions: 1, ReplicationFactor: 1},
	}); err != nil {
		t.Fatal(err)
	}
	store := chdbtest.Store(t)
	prod := kafkalog.NewProducer(brokers)
	defer prod.Close()
	ctx := context.Background()
	for _, m := range []kafkalog.Message{
		swRecord("SM1", "sent"), {Value: []byte("not a record")}, unknownProviderRecord(),
		swRecord("SM2", "delivered"), encodeV1(swRec("SM3", "delivered")),
	} {
		m.Topic, m.Key = verified, []byte("same-partition")
		if err := prod.Publish(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	p := New(store, providers.All(), prod, dead, nil, reg)
	runCtx, cancel := context.WithCancel(ctx)
	wg := consume(runCtx, t, brokers, verified, verified+".g", p.HandleVerified)
	for _, sid := range []string{"SM1", "SM2", "SM3"} {
		testinfra.Eventually(t, 60*time.Second, sid+" stored", func() bool {
			_, err := store.Messages(ctx, storage.Scope{All: true}, sid, storage.Owner{})
			return err == nil
		})
	}
	testinfra.Eventually(t, 60*time.Second, "dead letters", func() bool { n, _ := topicLen(t, brokers, dead); return n == 2 })
	cancel()
	wg.Wait()
	_, headers := topicLen(t, brokers, dead)
	for _, h := range headers {
		if h["hookledger-error"] == "" || h["hookledger-origin-topic"] != verified {
			t.Errorf("dead letter headers %v", h)
		}
	}
	if headers[1]["hookledger-unusable"] != "true" {
		t.Errorf("unknown provider not marked unusable: %v", headers[1])
	}
	// Counted by cause; the two delivered reports count towards the
	// delivery rate, the sent one does not appear among final statuses.
	for _, c := range []struct {
		metric string
		labels []string
		want   float64
	}{
		{"dead", []string{CauseUndecodable}, 1},
		{"dead", []string{CauseUnusable}, 1},
		{"dead", []string{CauseNormalise}, 0},
		{"events", []string{"signalwire", "delivered"}, 2},
		{"events", []string{"signalwire", "sent"}, 1},
		{"events", []string{"signalwire", "failed"}, 0},
	} {
		vec := p.metrics.dead
		if c.metric == "events" {
			vec = p.metrics.messageEvents
		}
		if got := testutil.ToFloat64(vec.WithLabelValues(c.labels...)); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.metric, c.labels, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(p.metrics.delay, "hookledger_processor_stored_delay_seconds"); n != 2 {
		t.Errorf("stored delay histogram has %d series, want audit and history", n)
	}
	// A dead letter keeps the record's own headers: it stays decodable.
	var deadRec *schema.Record
	_ = kafkalog.Scan(ctx, brokers, dead, func(f kafkalog.Fetched) error {
		if f.Offset == 1 {
			deadRec, _ = schema.DecodeRecord(f.Value, f.Headers)
		}
		return nil
	})
	if deadRec == nil || deadRec.Provider != "carrier-pigeon" {
		t.Errorf("dead letter of a v2 record does not decode: %+v", deadRec)
	}
	// The same group resumes after everything: nothing is handled again.
	handled := make(chan int, 10)
	ctx2, cancel2 := context.WithTimeout(ctx, 3*time.Second)
	defer cancel2()
	consume(ctx2, t, brokers, verified, verified+".g", func(_ context.Context, b []kafkalog.Fetched) error {
		handled <- len(b)
		return nil
	}).Wait()
	if len(handled) != 0 {
		t.Fatalf("records redelivered after commit: %d batches", len(handled))
	}
}

// TestStorageFailureIsRetriedNotCommitted: with its database gone the
// store fails for real; the batch is retried, not skipped, and lands once
// the database is back.
func TestStorageFailureIsRetriedNotCommitted(t *testing.T) {
	brokers := testinfra.KafkaBrokers(t)
	raw, _, dead := testinfra.Topics(t)
	if err := kafkalog.EnsureTopics(context.Background(), brokers, []kafkalog.TopicSpec{{Name: raw, Partitions: 1, ReplicationFactor: 1}}); err != nil {
		t.Fatal(err)
	}
	store := chdbtest.Store(t)
	ctx := context.Background()
	if err := store.Conn().Exec(ctx, "DROP DATABASE "+store.Database()); err != nil {
		t.Fatal(err)
	}
	prod := kafkalog.NewProducer(brokers)
	defer prod.Close()
	m := swRecord("SM9", "sent")
	m.Topic = raw
	if err := prod.Publish(ctx, m); err != nil {
		t.Fatal(err)
	}
	p := New(store, providers.All(), prod, dead, nil, nil)
	var mu sync.Mutex
	var failures int
	runCtx, cancel := context.WithCancel(ctx)
	wg := consume(runCtx, t, brokers, raw, raw+".g", func(ctx context.Context, b []kafkalog.Fetched) error {
		err := p.HandleRaw(ctx, b)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failures++
		}
		return err
	})
	testinfra.Eventually(t, 60*time.Second, "a failed insert", func() bool { mu.Lock(); defer mu.Unlock(); return failures > 0 })
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	testinfra.Eventually(t, 60*time.Second, "the retried batch stored", func() bool {
		var n int
		err := store.Conn().Select(ctx, "SELECT count() AS n FROM "+store.Database()+".callbacks", func(row []byte) error {
			var r struct{ N int }
			if jerr := jsonUnmarshal(row, &r); jerr != nil {
				return jerr
			}
			n = r.N
			return nil
		})
		return err == nil && n == 1
	})
	cancel()
	wg.Wait()
}
