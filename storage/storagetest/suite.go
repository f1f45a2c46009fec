// Package storagetest is the conformance suite every storage driver runs:
// the same Store behaviour (migrations, idempotent inserts, ranking, tenant
// scoping, byte-exact bodies) against each real engine.
package storagetest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookledger/hookledger/schema"
	"github.com/hookledger/hookledger/storage"
)

// NewStore returns a migrated Store on a database of its own for one test.
type NewStore func(t *testing.T) *storage.Store

// Run runs the suite.
func Run(t *testing.T, newStore NewStore) {
	tests := map[string]func(*testing.T, *storage.Store){
		"MigrateIsIdempotent":                testMigrateIsIdempotent,
		"CallbackRoundTripsBodyExactly":      testCallbackRoundTrip,
		"CallbackRedeliveryIsHarmless":       testCallbackRedelivery,
		"LargeBatchArrivesWhole":             testLargeBatch,
		"MessageStatusNeverMovesBack":        testMessageRanking,
		"MessageEventsDeduplicate":           testMessageDedup,
		"MessageScopedByTenant":              testMessageScope,
		"MessageAmbiguousAcrossProviders":    testMessageAmbiguous,
		"MessageListRanksOutOfOrderArrivals": testMessageListRanking,
		"MessageListFilters":                 testMessageListFilters,
		"MessageListScopedByTenant":          testMessageListScope,
		"MessageListPagination":              testMessageListPagination,
		"CurrentStateIgnoresRedelivery":      testCurrentStateIdempotent,
		"CurrentStateRebuildAndTruncate":     testCurrentStateRebuild,
		"CurrentStateBackfilledOnUpgrade":    testCurrentStateBackfill,
		"CallStatusRanking":                  testCallRanking,
		"ConversationLevelCallEvents":        testConversationEvents,
		"CallListFiltersAndAmbiguity":        testCallListFilters,
		"ReplyList":                          testReplyList,
		"MessageStats":                       testMessageStats,
		"SingleReadsKeepTenantsApart":        testSingleReadsKeepTenantsApart,
		"DeadLetterMarksTheCallback":         testDeadLetterMarksTheCallback,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, newStore(t))
		})
	}
}

var base = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func rawRecord(tenant string, body []byte) *schema.Record {
	id, _ := uuid.NewV7()
	return &schema.Record{
		Version: schema.RecordVersion, ID: id, ReceivedAt: base.Add(1500 * time.Millisecond),
		Source: "sw-main", Provider: "signalwire", Tenant: tenant, Method: "POST",
		URL: "https://hooks.example.com/hooks/sw-main?x=%41", RemoteAddr: "203.0.113.9:4711",
		Headers: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "X-Multi": {"a", "b"}},
		Verdict: schema.VerdictRejected, Reason: schema.ReasonBadSignature, Detail: "tried 2 URLs",
		Body: body, BodyBytes: len(body),
	}
}

func testMigrateIsIdempotent(t *testing.T, s *storage.Store) {
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("migrate #%d: %v", i+2, err)
		}
	}
	if err := s.ApplyRetention(ctx, 30*24*time.Hour); err != nil {
		t.Fatalf("retention: %v", err)
	}
	if err := s.ApplyRetention(ctx, 0); err != nil {
		t.Fatalf("remove retention: %v", err)
	}
}

func testCallbackRoundTrip(t *testing.T, s *storage.Store) {
	ctx := context.Background()
	body := []byte("MessageSid=SM1&Body=caf\xc3\xa9+\x00\xff'\\\n")
	rec := rawRecord("acme", body)
	if err := s.InsertCallbacks(ctx, []*schema.Record{rec}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Callback(ctx, storage.Scope{All: true}, rec.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	if want := base64(body); got.BodyBase64 != want {
		t.Errorf("body = %q, want %q", got.BodyBase64, want)
	}
	if got.Reason != "bad_signature" || got.Verdict != "rejected" || got.URL != rec.URL || got.Detail != rec.Detail {
		t.Errorf("callback = %+v", got)
	}
	if len(got.Headers["X-Multi"]) != 2 || !got.ReceivedAt.Equal(rec.ReceivedAt) {
		t.Errorf("headers/time lost: %+v", got)
	}
	if got.Truncated || got.BodyBytes != uint32(len(body)) {
		t.Errorf("whole body reported as truncated=%v body_bytes=%d", got.Truncated, got.BodyBytes)
	}
	// A 413's audit record keeps a prefix of a larger body, and says so.
	big := rawRecord("acme", body[:6])
	big.Reason, big.BodyBytes, big.BodyTruncated = schema.ReasonBodyTooLarge, 5_000_000, true
	if err := s.InsertCallbacks(ctx, []*schema.Record{big}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Callback(ctx, storage.Scope{All: true}, big.ID.String()); err != nil || !got.Truncated || got.BodyBytes != 5_000_000 {
		t.Errorf("truncated callback = %+v, %v; want body_truncated and body_bytes 5000000", got, err)
	}
	if _, err := s.Callback(ctx, storage.Scope{Tenants: []string{"other"}}, rec.ID.String()); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("other tenant sees callback: %v", err)
	}
	if _, err := s.Callback(ctx, storage.Scope{All: true}, "not-a-uuid"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("bad id: %v", err)
	}
}

func testCallbackRedelivery(t *testing.T, s *storage.Store) {
	ctx := context.Background()
	recs := []*schema.Record{rawRecord("acme", []byte("a")), rawRecord("acme", []byte("b"))}
	for i := 0; i < 3; i++ {
		if err := s.InsertCallbacks(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.InsertCallbacks(ctx, recs[:1]); err != nil { // a different block with a known row
		t.Fatal(err)
	}
	n := countRows(t, s, "SELECT count() AS n FROM "+s.Database()+".callbacks FINAL")
	if n != 2 {
		t.Fatalf("callbacks after redelivery = %d, want 2", n)
	}
}

// testLargeBatch inserts one batch of a few thousand callbacks, over a
// megabyte, whose values hold every byte a text or binary encoding could
// trip on (NUL, blank lines, quotes, a statement after a blank line), and
// reads every row back exactly. chDB cuts data sent inline in a query at
// its first blank line, which binary rows hold by chance.
func testLargeBatch(t *testing.T, s *storage.Store) {
	ctx := context.Background()
	const n = 3000
	recs := make([]*schema.Record, n)
	for i := range recs {
		body := []byte(fmt.Sprintf("MessageSid=SM%d&Body=\x00\n\n;INSERT INTO x VALUES (1)\n\n'\"\\%s", i, strings.Repeat("\xff\x00", 150)))
		recs[i] = rawRecord("acme", body)
		recs[i].Detail = fmt.Sprintf("row %d\n\nSELECT 1;\n\n\x00", i)
		recs[i].Headers = http.Header{"X-Row": {strconv.Itoa(i), "\n\n"}, "Content-Type": {"text/plain"}}
	}
	if err := s.InsertCallbacks(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if got := countRows(t, s, "SELECT count() AS n FROM "+s.Database()+".callbacks"); got != n {
		t.Fatalf("rows stored = %d, want %d", got, n)
	}
	for _, i := range []int{0, n / 2, n - 1} {
		got, err := s.Callback(ctx, storage.Scope{All: true}, recs[i].ID.String())
		if err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		if got.BodyBase64 != base64(recs[i].Body) || got.Detail != recs[i].Detail ||
			!slices.Equal(got.Headers["X-Row"], recs[i].Headers["X-Row"]) {
			t.Errorf("row %d read back as %+v", i, got)
		}
	}
}

func msgEvent(tenant, provider, id, status string, occurred, received time.Duration) schema.MessageEvent {
	rank, _ := schema.MessageStatusRank(status)
	eid, _ := uuid.NewV7()
	return schema.MessageEvent{
		DedupKey: provider + ":" + id + ":" + status, EventID: eid, Tenant: tenant, Source: "src",
		Provider: provider, MessageID: id, Status: status, StatusRank: rank, ProviderStatus: status,
		OccurredAt: base.Add(occurred), ReceivedAt: base.Add(received), To: "+15550001", From: "+15550002",
	}
}

func testMessageRanking(t *testing.T, s *storage.Store) {
	ctx := context.Background()
	// Arrival order: delivered first, then the older sent and queued.
	for _, ev := range []schema.MessageEvent{
		msgEvent("acme", "signalwire", "SM1", "delivered", 3*time.Second, 4*time.Second),
		msgEvent("acme", "signalwire", "SM1", "sent", 2*time.Second, 5*time.Second),
		msgEvent("acme", "signalwire", "SM1", "queued", 1*time.Second, 6*time.Second),
	} {
		if err := s.InsertNormalised(ctx, schema.Normalised{Messages: []schema.MessageEvent{ev}}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Messages(ctx, storage.Scope{All: true}, "SM1", storage.Owner{})
	if err != nil || len(got) != 1 {
		t.Fatalf("messages = %v, %v", got, err)
	}
	m := got[0]
	if m.Status != "delivered" || !m.StatusAt.Equal(base.Add(3*time.Second)) {
		t.Errorf("current status = %s at %v, want delivered", m.Status, m.StatusAt)
	}
	var statuses []string
	for _, e := range m.Events {
		statuses = append(statuses, e.Status)
	}
	if len(statuses) != 3 || statuses[0] != "queued" || statuses[2] != "delivered" {
		t.Errorf("events not oldest first: %v", statuses)
	}
}

func testMessageDedup(t *testing.T, s *storage.Store) {
	ctx := context.Background()
	ev := msgEvent("acme", "signalwire", "SM2", "sent", 0, time.Second)
	retry := ev
	retry.EventID, retry.ReceivedAt = uuid.Must(uuid.NewV7()), base.Add(9*time.Second)
	for _, e := range []schema.MessageEvent{ev, ev, retry} {
		if err := s.InsertNormalised(ctx, schema.Normalised{Messages: []schema.MessageEvent{e}}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Messages(ctx, storage.Scope{All: true}, "SM2", storage.Owner{Provider: "signalwire"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got[0].Events) != 1 {
		t.Fatalf("events = %d, want 1 logical event", len(got[0].Events))
	}
}

func testMessageScope(t *testing.T, s *storage.Store) {
	ctx := context.Background()
	if err := s.InsertNormalised(ctx, schema.Normalised{Messages: []schema.MessageEvent{msgEvent("acme", "vonage", "M3", "sent", 0, 0)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Messages(ctx, storage.Scope{Tenants: []string{"globex"}}, "M3", storage.Owner{}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("tenant globex sees acme's message: %v", err)
	}
	if got, err := s.Messages(ctx, storage.Scope{Tenants: []string{"globex", "acme"}}, "M3", storage.Owner{}); err != nil || got[0].Tenant != "acme" {
		t.Errorf("tenant acme: %v %v", got, err)
	}
	if _, err := s.Messages(ctx, storage.Scope{All: true}, "M3' OR 1=1 --", storage.Owner{}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("quoted id: %v", err)
	}
}

func testMessageAmbiguous(t *testing.T, s *storage.Store) {
	ctx := context.Background()
	n := schema.Normalised{Messages: []schema.MessageEvent{
		msgEvent("acme", "vonage", "X1", "sent", 0, 0), msgEvent("acme", "signalwire", "X1", "queued", 0, 0),
	}}
	if err := s.InsertNormalised(ctx, n); err != nil {
		t.Fatal(err)
	}
	got, err := s.Messages(ctx, storage.Scope{All: true}, "X1", storage.Owner{})
	if err != nil || len(got) != 2 || got[0].Provider != "signalwire" || got[1].Provider != "vonage" {
		t.Fatalf("ambiguous id: %+v %v", got, err)
	}
	got, err = s.Messages(ctx, storage.Scope{All: true}, "X1", storage.Owner{Provider: "vonage"})
	if err != nil || len(got) != 1 || got[0].Status != "sent" {
		t.Fatalf("provider filter: %+v %v", got, err)
	}
}
