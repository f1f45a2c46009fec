package app

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/provider/signalwire"
	"github.com/hookledger/hookledger/storage"
)

// TestQueryAPIOverThePipeline sends SignalWire message, call and inbound
// callbacks, out of order, through ingest, Kafka and the processor, and
// reads them back through every list of the query API: the current-state
// tables are fed by the real inserts, not by test fixtures.
func TestQueryAPIOverThePipeline(t *testing.T) {
	h := startHarness(t)
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	stamp := func(d time.Duration) string { return t0.Add(d).Format(time.RFC1123Z) }
	send := func(fields url.Values) {
		t.Helper()
		u, body := h.ingest+"/hooks/sw-main", fields.Encode()
		req := formRequest(http.MethodPost, u, body)
		req.Header.Set(signalwire.HeaderSignature, signalwire.SignSchemeA(swKey, u, []byte(body)))
		if status, answer := do(t, req); status != http.StatusOK {
			t.Fatalf("callback %v: %d %s", fields, status, answer)
		}
	}
	msg := func(sid, status string, at time.Duration) url.Values {
		return url.Values{"MessageSid": {sid}, "MessageStatus": {status}, "From": {"+15550001111"}, "To": {"+15550002222"}, "Timestamp": {stamp(at)}}
	}
	// SMq1 is delivered 7 s after it was queued; the delivery report arrives first.
	send(msg("SMq1", "delivered", 7*time.Second))
	send(msg("SMq1", "queued", 0))
	send(msg("SMq2", "failed", 30*time.Second))
	callFields := func(status string, at time.Duration) url.Values {
		return url.Values{"CallSid": {"CAq1"}, "CallStatus": {status}, "From": {"+15550003333"}, "To": {"+15550004444"},
			"Direction": {"inbound"}, "Timestamp": {stamp(at)}}
	}
	completed := callFields("completed", 50*time.Second)
	completed.Set("CallDuration", "42")
	send(completed)
	send(callFields("ringing", 5*time.Second))
	recording := callFields("in-progress", 20*time.Second)
	recording.Set("RecordingSid", "REq1")
	send(recording)
	send(url.Values{"MessageSid": {"SMreply1"}, "Body": {"STOP"}, "From": {"+15550002222"}, "To": {"+15550001111"}, "Timestamp": {stamp(time.Minute)}})

	type page[T any] struct {
		Items      []T    `json:"items"`
		NextCursor string `json:"next_cursor"`
	}
	var delivered page[storage.Message]
	testinfra.Eventually(t, 30*time.Second, "SMq1 delivered in /v1/messages", func() bool {
		return h.get("/v1/messages?status=delivered&provider=signalwire", &delivered) == http.StatusOK &&
			len(delivered.Items) == 1
	})
	if m := delivered.Items[0]; m.MessageID != "SMq1" || m.Source != "sw-main" || m.Tenant != "acme" || !m.StatusAt.Equal(t0.Add(7*time.Second)) || m.To != "+15550002222" {
		t.Errorf("delivered message = %+v", m)
	}

	var call storage.Call
	testinfra.Eventually(t, 30*time.Second, "CAq1's three events", func() bool {
		return h.get("/v1/calls/CAq1", &call) == http.StatusOK && len(call.Events) == 3
	})
	if call.Status != "completed" || call.DurationSeconds != 42 || call.Direction != "inbound" || call.Events[1].ProviderStatus != "record" || call.Events[1].Status != "" {
		t.Errorf("call = %+v", call)
	}
	// The list reads the current-state table, which the batches of the
	// call's events reach on their own schedule: wait for it as for the
	// timeline.
	var calls page[storage.Call]
	testinfra.Eventually(t, 30*time.Second, "CAq1 completed in /v1/calls", func() bool {
		return h.get("/v1/calls?status=completed&source=sw-main", &calls) == http.StatusOK && len(calls.Items) == 1
	})
	if calls.Items[0].CallID != "CAq1" {
		t.Errorf("/v1/calls = %+v", calls)
	}

	var replies page[storage.Reply]
	testinfra.Eventually(t, 30*time.Second, "SMreply1 in /v1/replies", func() bool {
		return h.get("/v1/replies?from=%2B15550002222", &replies) == http.StatusOK && len(replies.Items) == 1
	})
	if r := replies.Items[0]; r.ReplyID != "SMreply1" || r.Text != "STOP" || !r.OccurredAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("reply = %+v", r)
	}

	var stats struct{ Buckets []storage.StatsBucket }
	testinfra.Eventually(t, 30*time.Second, "both messages in /v1/stats/messages", func() bool {
		return h.get("/v1/stats/messages?since=2026-11-22T00:00:00Z&until=2026-11-23T00:00:00Z", &stats) == http.StatusOK &&
			len(stats.Buckets) == 1 && stats.Buckets[0].Counts["failed"] == 1 && stats.Buckets[0].Counts["delivered"] == 1
	})
	if b := stats.Buckets[0]; b.Key != "signalwire" || !b.Start.Equal(t0) || b.DeliveryRate == nil || *b.DeliveryRate != 0.5 ||
		b.P50 == nil || *b.P50 != 7 || b.P95 == nil || *b.P95 != 7 {
		t.Errorf("stats bucket = %+v", b)
	}

	// The globex-only token sees none of acme's history.
	var none page[storage.Message]
	if h.getAs("globex-token", "/v1/messages", &none) != http.StatusOK || len(none.Items) != 0 || none.NextCursor != "" {
		t.Errorf("globex sees %+v", none)
	}
}
