package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/provider/signalwire"
	"github.com/hookledger/hookledger/storage"
)

// TestReplayRebuildsHistoryFromTheRawTopic: after the normalised tables
// are emptied, replay restores every message from the raw topic, and
// replaying twice adds no duplicate events.
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
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for i := 0; i < 2; i++ {
		if err := replayInto(ctx, h.brokers, h.cfg.Kafka.RawTopic, h.store, 100, log); err != nil {
			t.Fatal(err)
		}
	}
	if n := events(); n != 3 {
		t.Fatalf("after replaying twice: %d events, want 3", n)
	}
}
