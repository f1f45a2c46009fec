package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookledger/hookledger/internal/kafkalog"
	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/provider/signalwire"
	"github.com/hookledger/hookledger/schema"
	"github.com/hookledger/hookledger/storage"
)

// TestReplayRebuildsHistoryFromTheRawTopic: after the normalised tables
// are emptied, replay restores every message from the raw topic, records
// in the format before v2 included, and replaying twice adds no duplicate
// events.
func TestReplayRebuildsHistoryFromTheRawTopic(t *testing.T) {
	h := startHarness(t)
	u := h.ingest + "/hooks/sw-main"
	const sid = "SMreplay00000000000000000000000001"
	for _, status := range []string{"queued", "sent", "delivered"} {
		body := swStatusForm(sid, status)
		req := formRequest(http.MethodPost, u, body)
		req.Header.Set(signalwire.HeaderSignature, signalwire.SignSchemeA(swKey, u, []byte(body)))
		if status, _ := do(t, req); status != http.StatusOK {
			t.Fatalf("callback: %d", status)
		}
	}
	ctx := context.Background()
	events := func() int {
		msgs, err := h.store.Messages(ctx, storage.Scope{All: true}, sid, storage.Owner{})
		if err != nil {
			return 0
		}
		return len(msgs[0].Events)
	}
	testinfra.Eventually(t, 30*time.Second, "three events stored", func() bool { return events() == 3 })
	h.app.Stop() // the processor must not refill the tables behind replay's back
	if err := h.store.TruncateNormalised(ctx); err != nil {
		t.Fatal(err)
	}
	if n := events(); n != 0 {
		t.Fatalf("%d events after truncate", n)
	}
	const v1SID = "SMreplayv1000000000000000000000001"
	publishV1(t, h.brokers, h.cfg.Kafka.RawTopic, swStatusForm(v1SID, "delivered"))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for i := 0; i < 2; i++ {
		if err := replayInto(ctx, h.brokers, h.cfg.Kafka.RawTopic, h.store, 100, log); err != nil {
			t.Fatal(err)
		}
	}
	if n := events(); n != 3 {
		t.Fatalf("after replaying twice: %d events, want 3", n)
	}
	if msgs, err := h.store.Messages(ctx, storage.Scope{All: true}, v1SID, storage.Owner{}); err != nil || len(msgs[0].Events) != 1 {
		t.Fatalf("v1 record not replayed: %v %+v", err, msgs)
	}
}

// publishV1 appends an accepted SignalWire callback to topic as hookledger
// wrote records before format v2: the whole record as JSON.
func publishV1(t *testing.T, brokers []string, topic, body string) {
	t.Helper()
	rec := &schema.Record{
		Version: 1, ID: uuid.Must(uuid.NewV7()), ReceivedAt: time.Now().UTC(), Source: "sw-main", Provider: "signalwire",
		Tenant: "acme", Method: http.MethodPost, URL: "https://hooks.example.com/hooks/sw-main",
		Headers: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
		Verdict: schema.VerdictAccepted, KeyID: "sha256:000000000000", Body: []byte(body), BodyBytes: len(body),
	}
	value, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	prod := kafkalog.NewProducer(brokers)
	defer prod.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := prod.Publish(ctx, kafkalog.Message{Topic: topic, Key: rec.ID[:], Value: value, Headers: map[string]string{
		schema.HeaderContentType: schema.RecordContentTypeV1, schema.HeaderVerdict: string(rec.Verdict),
	}}); err != nil {
		t.Fatal(err)
	}
}
