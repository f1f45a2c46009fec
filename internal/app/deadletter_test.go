package app

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/provider/signalwire"
	"github.com/hookledger/hookledger/schema"
	"github.com/hookledger/hookledger/storage"
)

// TestDeadLetteredCallbackSaysSo: issue 6 #19. A genuine callback the
// processor cannot use (its MessageSid is not UTF-8, so it cannot be
// stored exactly) is accepted by ingest and dead-lettered by the
// processor; its record in GET /v1/callbacks/{id} says so and why,
// instead of only `verdict: accepted`, and still does after replay.
func TestDeadLetteredCallbackSaysSo(t *testing.T) {
	h := startHarness(t)
	u := h.ingest + "/hooks/sw-main"
	send := func(sid string) string {
		body := swStatusForm(sid, "delivered")
		req := formRequest(http.MethodPost, u, body)
		req.Header.Set(signalwire.HeaderSignature, signalwire.SignSchemeA(swKey, u, []byte(body)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("callback %q: %d", sid, resp.StatusCode)
		}
		return resp.Header.Get("Hookledger-Event-Id")
	}
	deadID, goodID := send("SM\xff\xfe"), send("SMgood0000000000000000000000000001")

	type callback struct {
		Verdict         string     `json:"verdict"`
		DeadLettered    bool       `json:"dead_lettered"`
		DeadLetterError string     `json:"dead_letter_error"`
		DeadLetteredAt  *time.Time `json:"dead_lettered_at"`
	}
	get := func(id string) callback {
		var cb callback
		if status := h.get("/v1/callbacks/"+id, &cb); status != http.StatusOK {
			t.Fatalf("GET /v1/callbacks/%s: %d", id, status)
		}
		return cb
	}
	testinfra.Eventually(t, 60*time.Second, "dead letter marked", func() bool {
		var cb callback
		return h.get("/v1/callbacks/"+deadID, &cb) == http.StatusOK && cb.DeadLettered
	})
	cb := get(deadID)
	if cb.Verdict != string(schema.VerdictAccepted) || !strings.Contains(cb.DeadLetterError, "UTF-8") || cb.DeadLetteredAt == nil {
		t.Errorf("dead-lettered callback: %+v", cb)
	}
	testinfra.Eventually(t, 60*time.Second, "good callback stored", func() bool {
		return h.get("/v1/messages/SMgood0000000000000000000000000001", nil) == http.StatusOK
	})
	if cb := get(goodID); cb.DeadLettered || cb.DeadLetterError != "" {
		t.Errorf("usable callback marked: %+v", cb)
	}

	// Replay (twice, as an operator might) keeps the mark.
	if err := replayInto(context.Background(), h.brokers, h.cfg.Kafka.RawTopic, h.store, 100, discardLog()); err != nil {
		t.Fatal(err)
	}
	if err := replayInto(context.Background(), h.brokers, h.cfg.Kafka.RawTopic, h.store, 100, discardLog()); err != nil {
		t.Fatal(err)
	}
	if cb := get(deadID); !cb.DeadLettered || !strings.Contains(cb.DeadLetterError, "UTF-8") {
		t.Errorf("after replay: %+v", cb)
	}
	// With the marks lost (a ClickHouse rebuilt from Kafka), replay alone
	// writes them again.
	h.app.Stop()
	ctx := context.Background()
	if err := h.store.Conn().Exec(ctx, "TRUNCATE TABLE "+h.store.Database()+".dead_letters"); err != nil {
		t.Fatal(err)
	}
	if err := replayInto(ctx, h.brokers, h.cfg.Kafka.RawTopic, h.store, 100, discardLog()); err != nil {
		t.Fatal(err)
	}
	stored, err := h.store.Callback(ctx, storage.Scope{All: true}, deadID)
	if err != nil || !stored.DeadLettered || !strings.Contains(stored.DeadLetterError, "UTF-8") {
		t.Errorf("after losing the marks and replaying: %+v, %v", stored, err)
	}
}
