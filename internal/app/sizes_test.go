package app

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookledger/hookledger/internal/config"
	"github.com/hookledger/hookledger/internal/kafkalog"
	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/internal/testinfra/chdbtest"
	"github.com/hookledger/hookledger/provider/signalwire"
	"github.com/hookledger/hookledger/schema"
	"github.com/hookledger/hookledger/storage"
)

// swFormOfSize is a SignalWire status callback whose form body is exactly
// n bytes (a long Body parameter fills it).
func swFormOfSize(sid string, n int) string {
	head := url.Values{"MessageSid": {sid}, "MessageStatus": {"delivered"}, "From": {"+15550001111"}, "To": {"+15550002222"}}.Encode() + "&Body="
	return head + strings.Repeat("x", n-len(head))
}

// TestCallbacksUpToMaxBodyBytesAreStored: issue 6 #3. Every body ingest
// accepts (up to max_body_bytes, here the default 1 MiB) fits in a Kafka
// record: genuine callbacks just under and exactly at 1 MiB are answered
// 200 and stored (they were answered 503 forever: with its metadata the
// record outgrew the broker's default 1 MiB), a forged one of 1 MiB is
// audited with its bounded body, and a genuine one whose headers make its
// record too large for any topic is answered 413, not 503, and audited
// with a body prefix.
func TestCallbacksUpToMaxBodyBytesAreStored(t *testing.T) {
	h := startHarness(t)
	hookURL := h.ingest + "/hooks/sw-main"
	for _, tc := range []struct {
		name        string
		bodyBytes   int
		key         string
		bigHeaders  int // bytes of an extra header
		wantStatus  int
		wantVerdict schema.Verdict
		wantStored  int // body bytes the audit record keeps
	}{
		{"genuine, just under max_body_bytes", 1_048_000, swKey, 0, http.StatusOK, schema.VerdictAccepted, 1_048_000},
		{"genuine, exactly max_body_bytes", 1 << 20, swKey, 0, http.StatusOK, schema.VerdictAccepted, 1 << 20},
		{"forged, exactly max_body_bytes", 1 << 20, "PSKforged", 0, http.StatusUnauthorized, schema.VerdictRejected, h.cfg.Ingest.Audit.RejectedBodyBytes},
		{"genuine, headers too large for a record", 1 << 20, swKey, 400 << 10, http.StatusRequestEntityTooLarge, schema.VerdictRejected, h.cfg.Ingest.Audit.BodyPrefixBytes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sid := "SMlarge" + strings.NewReplacer(" ", "", ",", "").Replace(tc.name)
			body := swFormOfSize(sid, tc.bodyBytes)
			req := formRequest(http.MethodPost, hookURL, body)
			req.Header.Set(signalwire.HeaderSignature, signalwire.SignSchemeA(tc.key, hookURL, []byte(body)))
			if tc.bigHeaders > 0 {
				req.Header.Set("X-Padding", strings.Repeat("p", tc.bigHeaders))
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			id := resp.Header.Get("Hookledger-Event-Id")
			var cb *storage.Callback
			testinfra.Eventually(t, 60*time.Second, "audit record", func() bool {
				cb, err = h.store.Callback(context.Background(), storage.Scope{All: true}, id)
				return err == nil && cb != nil
			})
			if cb.Verdict != string(tc.wantVerdict) || int(cb.BodyBytes) != tc.bodyBytes {
				t.Errorf("audit record: verdict %s, body_bytes %d", cb.Verdict, cb.BodyBytes)
			}
			if stored := len(cb.BodyBase64) / 4 * 3; stored < tc.wantStored-2 || stored > tc.wantStored+2 {
				t.Errorf("audit record keeps %d body bytes, want %d", stored, tc.wantStored)
			}
			if tc.wantStatus == http.StatusRequestEntityTooLarge && (cb.Reason != string(schema.ReasonBodyTooLarge) || !cb.Truncated) {
				t.Errorf("413 audited as reason %q, truncated %v", cb.Reason, cb.Truncated)
			}
			if tc.wantStatus == http.StatusOK {
				testinfra.Eventually(t, 60*time.Second, "message stored", func() bool {
					return h.get("/v1/messages/"+sid, nil) == http.StatusOK
				})
			}
		})
	}
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestTopicTooSmallForMaxBodyBytes: on a cluster the topics belong to the
// operator. A topic whose max.message.bytes cannot take the record of a
// max_body_bytes body fails the start with an error naming both keys
// instead of answering such callbacks 503 forever.
func TestTopicTooSmallForMaxBodyBytes(t *testing.T) {
	brokers := testinfra.KafkaBrokers(t)
	cfg := testConfig(t, brokers)
	if err := kafkalog.EnsureTopics(context.Background(), brokers, []kafkalog.TopicSpec{
		{Name: cfg.Kafka.VerifiedTopic, Partitions: 1, ReplicationFactor: 1, MaxMessageBytes: 1048588},
	}); err != nil {
		t.Fatal(err)
	}
	a := New(cfg, Tiers{Ingest: true, Process: true}, discardLog(), WithStore(chdbtest.Store(t)))
	err := a.Start(context.Background())
	if err == nil {
		a.Stop()
		t.Fatal("started with a topic that cannot take max_body_bytes")
	}
	var fe *config.FieldError
	if !errors.As(err, &fe) || fe.Field != "ingest.max_body_bytes" || !strings.Contains(err.Error(), "kafka.verified_topic") ||
		!strings.Contains(err.Error(), "max.message.bytes=1048588") {
		t.Fatalf("error %v does not name ingest.max_body_bytes, kafka.verified_topic and the topic's limit", err)
	}
	if strings.Contains(err.Error(), "kafka.raw_topic") {
		t.Errorf("error names the raw topic, which hookledger created large enough: %v", err)
	}

	// Lowered to what the topic takes, the same config starts.
	cfg.Ingest.MaxBodyBytes = 512 << 10
	a = New(cfg, Tiers{Ingest: true, Process: true}, discardLog(), WithStore(chdbtest.Store(t)))
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.Stop()
}

// TestEmbeddedTopicsFollowMaxBodyBytes: the embedded broker is
// hookledger's own, so topics created under a smaller max_body_bytes are
// raised when it grows, and a callback of the new size is stored.
func TestEmbeddedTopicsFollowMaxBodyBytes(t *testing.T) {
	cfg := testConfig(t, nil)
	cfg.Ingest.MaxBodyBytes = 10_000
	store := chdbtest.Store(t)
	a := startEmbedded(t, cfg, store)
	a.Stop()

	cfg.Ingest.MaxBodyBytes = 1 << 20
	a = startEmbedded(t, cfg, store)
	defer a.Stop()
	hookURL := "http://" + a.Addr("ingest") + "/hooks/sw-main"
	body := swFormOfSize("SMembeddedLarge", 1<<20)
	req := formRequest(http.MethodPost, hookURL, body)
	req.Header.Set(signalwire.HeaderSignature, signalwire.SignSchemeA(swKey, hookURL, []byte(body)))
	if status, b := do(t, req); status != http.StatusOK {
		t.Fatalf("1 MiB callback after raising max_body_bytes: %d %s", status, b)
	}
	testinfra.Eventually(t, 60*time.Second, "stored", func() bool {
		n := 0
		_ = store.Conn().Select(context.Background(), "SELECT count() AS n FROM "+store.Database()+".message_events WHERE message_id = 'SMembeddedLarge'",
			func(row []byte) error {
				var r struct{ N int }
				err := json.Unmarshal(row, &r)
				n = r.N
				return err
			})
		return n == 1
	})
}
