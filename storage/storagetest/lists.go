package storagetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookledger/hookledger/schema"
	"github.com/hookledger/hookledger/storage"
)

// Conformance tests of the lists and statistics (docs/query-api.md#lists-and-pagination), which read the
// current-state tables the materialized views of migration 0002 keep.

var all = storage.Scope{All: true}

// insert stores each Normalised in a block of its own, in order, as the
// processor would across batches: out-of-order arrival means out-of-order
// blocks.
func insert(t *testing.T, s *storage.Store, batches ...schema.Normalised) {
	t.Helper()
	for _, n := range batches {
		if err := s.InsertNormalised(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
}

func messages(evs ...schema.MessageEvent) schema.Normalised {
	return schema.Normalised{Messages: evs}
}

// at is a provider or receive time relative to base.
func at(d time.Duration) time.Time { return base.Add(d) }

// withSource returns ev with another source and addresses.
func withSource(ev schema.MessageEvent, source, to, from string) schema.MessageEvent {
	ev.Source, ev.To, ev.From = source, to, from
	return ev
}

func listMessages(t *testing.T, s *storage.Store, scope storage.Scope, f storage.MessageFilter, p storage.Page) []storage.Message {
	t.Helper()
	items, _, err := s.ListMessages(context.Background(), scope, f, p)
	if err != nil {
		t.Fatal(err)
	}
	return items
}

func messageKeys(items []storage.Message) []string {
	out := make([]string, len(items))
	for i, m := range items {
		out[i] = m.Tenant + "/" + m.Provider + "/" + m.MessageID
	}
	return out
}

func statusesOf(items []storage.Message) map[string]string {
	out := map[string]string{}
	for _, m := range items {
		out[m.MessageID] = m.Status
	}
	return out
}

// testMessageListRanking: the list's current status follows
// docs/vocabularies.md#ranking whatever the arrival order, agrees with the single read, and the
// status filter sees the current status only.
func testMessageListRanking(t *testing.T, s *storage.Store) {
	ctx := context.Background()
	const sec = time.Second
	insert(t, s,
		// A: delivered arrives first; the older sent and queued later.
		messages(msgEvent("acme", "signalwire", "A", "delivered", 3*sec, 4*sec)),
		messages(msgEvent("acme", "signalwire", "A", "sent", 2*sec, 5*sec)),
		messages(msgEvent("acme", "signalwire", "A", "queued", 1*sec, 6*sec)),
		// B: two final statuses; the later provider time wins, though it
		// arrived first.
		messages(msgEvent("acme", "signalwire", "B", "failed", 9*sec, 10*sec)),
		messages(msgEvent("acme", "signalwire", "B", "delivered", 8*sec, 11*sec)),
		// C: same rank and provider time; the later receive time wins.
		messages(msgEvent("acme", "signalwire", "C", "expired", 5*sec, 20*sec), msgEvent("acme", "signalwire", "C", "rejected", 5*sec, 21*sec)),
		// D: read outranks delivered even with an older provider time.
		messages(msgEvent("acme", "vonage", "D", "read", 2*sec, 3*sec)),
		messages(msgEvent("acme", "vonage", "D", "delivered", 7*sec, 8*sec)),
		// E: never moves back from sent to queued.
		messages(msgEvent("acme", "vonage", "E", "sent", 1*sec, 2*sec)),
		messages(msgEvent("acme", "vonage", "E", "queued", 9*sec, 10*sec)),
	)
	items := listMessages(t, s, all, storage.MessageFilter{}, storage.Page{})
	want := map[string]string{"A": "delivered", "B": "failed", "C": "rejected", "D": "read", "E": "sent"}
	if got := statusesOf(items); !mapsEqual(got, want) {
		t.Fatalf("current statuses = %v, want %v", got, want)
	}
	for _, m := range items {
		single, err := s.Messages(ctx, all, m.MessageID, m.Owner())
		if err != nil {
			t.Fatal(err)
		}
		one := single[0]
		if m.Status != one.Status || !m.StatusAt.Equal(one.StatusAt) || m.To != one.To || m.From != one.From ||
			m.Source != one.Source || m.Tenant != one.Tenant || m.ErrorCode != one.ErrorCode {
			t.Errorf("list item %+v disagrees with single read %+v", m, one)
		}
		if len(m.Events) != 0 {
			t.Errorf("list item %s carries events", m.MessageID)
		}
	}
	if a := items[slices.IndexFunc(items, func(m storage.Message) bool { return m.MessageID == "A" })]; !a.StatusAt.Equal(at(3 * sec)) {
		t.Errorf("A status_at = %v, want the delivered event's provider time", a.StatusAt)
	}
	// A passed through "sent"; only E is sent now.
	if got := messageKeys(listMessages(t, s, all, storage.MessageFilter{Status: "sent"}, storage.Page{})); !slices.Equal(got, []string{"acme/vonage/E"}) {
		t.Errorf("status=sent lists %v, want only E", got)
	}
	if got := listMessages(t, s, all, storage.MessageFilter{Status: "queued"}, storage.Page{}); len(got) != 0 {
		t.Errorf("status=queued lists %v; no message is queued now", messageKeys(got))
	}
}

// testMessageListFilters: every filter, the first-event time range and
// newest-first order.
func testMessageListFilters(t *testing.T, s *storage.Store) {
	const sec, min = time.Second, time.Minute
	insert(t, s,
		messages(
			withSource(msgEvent("acme", "signalwire", "M1", "queued", 1*min, 1*min), "sw-a", "+1000", "+2000"),
			withSource(msgEvent("acme", "signalwire", "M1", "delivered", 1*min+5*sec, 1*min+6*sec), "sw-a", "", ""),
			withSource(msgEvent("acme", "signalwire", "M2", "sent", 2*min, 2*min), "sw-b", "+1001", "+2000"),
			withSource(msgEvent("acme", "vonage", "M3", "failed", 3*min, 3*min), "vg", "+1000", "+2001"),
			// M4's first event is before 2m, its last within [2m, 4m).
			withSource(msgEvent("acme", "vonage", "M4", "queued", 30*sec, 30*sec), "vg", "+1002", "+2002"),
			withSource(msgEvent("acme", "vonage", "M4", "delivered", 3*min, 3*min), "vg", "", ""),
		),
	)
	cases := []struct {
		name string
		f    storage.MessageFilter
		p    storage.Page
		want []string
	}{
		{"everything, newest first", storage.MessageFilter{}, storage.Page{}, []string{"M3", "M2", "M1", "M4"}},
		{"provider", storage.MessageFilter{Provider: "vonage"}, storage.Page{}, []string{"M3", "M4"}},
		{"source", storage.MessageFilter{Source: "sw-b"}, storage.Page{}, []string{"M2"}},
		{"to (kept from an earlier event)", storage.MessageFilter{To: "+1000"}, storage.Page{}, []string{"M3", "M1"}},
		{"from", storage.MessageFilter{From: "+2000"}, storage.Page{}, []string{"M2", "M1"}},
		{"status and provider", storage.MessageFilter{Status: "delivered", Provider: "vonage"}, storage.Page{}, []string{"M4"}},
		{"since/until bound the first event", storage.MessageFilter{}, storage.Page{Since: ptr(at(2 * min)), Until: ptr(at(4 * min))}, []string{"M3", "M2"}},
		{"until is exclusive", storage.MessageFilter{}, storage.Page{Until: ptr(at(2 * min))}, []string{"M1", "M4"}},
		{"since is inclusive", storage.MessageFilter{}, storage.Page{Since: ptr(at(3 * min))}, []string{"M3"}},
		{"no match", storage.MessageFilter{Source: "nope' OR '1'='1"}, storage.Page{}, nil},
		// A given time is a bound however far off, the zero time.Time too.
		{"until the zero time", storage.MessageFilter{}, storage.Page{Until: ptr(time.Time{})}, nil},
		{"since the zero time", storage.MessageFilter{}, storage.Page{Since: ptr(time.Time{})}, []string{"M3", "M2", "M1", "M4"}},
		{"until year 1899", storage.MessageFilter{}, storage.Page{Until: ptr(time.Date(1899, 12, 31, 0, 0, 0, 0, time.UTC))}, nil},
		{"since year 9999", storage.MessageFilter{}, storage.Page{Since: ptr(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))}, nil},
		{"until year 9999", storage.MessageFilter{}, storage.Page{Until: ptr(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))}, []string{"M3", "M2", "M1", "M4"}},
	}
	for _, c := range cases {
		var got []string
		for _, m := range listMessages(t, s, all, c.f, c.p) {
			got = append(got, m.MessageID)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
	m1 := listMessages(t, s, all, storage.MessageFilter{Source: "sw-a"}, storage.Page{})
	if len(m1) != 1 || m1[0].To != "+1000" || m1[0].From != "+2000" || m1[0].Status != "delivered" {
		t.Errorf("M1 = %+v; want addresses from its queued event and status delivered", m1)
	}
}

// testMessageListScope: a token sees its tenants' messages only, filters
// included.
func testMessageListScope(t *testing.T, s *storage.Store) {
	insert(t, s, messages(
		msgEvent("acme", "signalwire", "S1", "sent", 0, 0),
		msgEvent("globex", "signalwire", "S2", "sent", time.Second, time.Second),
	))
	for _, c := range []struct {
		scope storage.Scope
		want  []string
	}{
		{storage.Scope{Tenants: []string{"acme"}}, []string{"acme/signalwire/S1"}},
		{storage.Scope{Tenants: []string{"globex", "initech"}}, []string{"globex/signalwire/S2"}},
		{storage.Scope{Tenants: []string{"initech"}}, []string{}},
		{storage.Scope{}, []string{}},
		{all, []string{"globex/signalwire/S2", "acme/signalwire/S1"}},
	} {
		got := messageKeys(listMessages(t, s, c.scope, storage.MessageFilter{Status: "sent"}, storage.Page{}))
		if !slices.Equal(got, c.want) {
			t.Errorf("scope %+v: %v, want %v", c.scope, got, c.want)
		}
	}
}

// pageAll follows next cursors from the first page to the last.
func pageAll[T any](t *testing.T, limit int, list func(storage.Page) ([]T, *storage.Cursor, error)) (items []T, pages int) {
	t.Helper()
	p := storage.Page{Limit: limit}
	for {
		page, next, err := list(p)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page) > limit {
			t.Fatalf("page of %d items, limit %d", len(page), limit)
		}
		items = append(items, page...)
		if next == nil {
			return items, pages
		}
		if len(page) != limit {
			t.Fatalf("a page of %d items, short of the limit %d, has a next cursor", len(page), limit)
		}
		// The cursor travels through the API as JSON.
		b, err := json.Marshal(next)
		if err != nil {
			t.Fatal(err)
		}
		p.After = new(storage.Cursor)
		if err := json.Unmarshal(b, p.After); err != nil {
			t.Fatal(err)
		}
		if pages > 100 {
			t.Fatal("pagination does not end")
		}
	}
}

// testMessageListPagination: pages of every size cover the list exactly
// once, in order, where many items share a first-event time and an id
// recurs across providers and tenants.
func testMessageListPagination(t *testing.T, s *storage.Store) {
	ctx := context.Background()
	var evs []schema.MessageEvent
	for i := range 7 {
		id := fmt.Sprintf("P%d", i)
		evs = append(evs, msgEvent("acme", "signalwire", id, "sent", time.Minute, time.Minute))
		if i%2 == 0 {
			evs = append(evs, msgEvent("acme", "vonage", id, "sent", time.Minute, time.Minute))
			evs = append(evs, msgEvent("globex", "vonage", id, "queued", time.Minute, time.Minute))
		}
	}
	evs = append(evs, msgEvent("acme", "signalwire", "early", "sent", 0, 0), msgEvent("acme", "signalwire", "late", "sent", time.Hour, time.Hour))
	insert(t, s, messages(evs...))
	full := messageKeys(listMessages(t, s, all, storage.MessageFilter{}, storage.Page{Limit: storage.MaxLimit}))
	if len(full) != 7+4+4+2 || full[0] != "acme/signalwire/late" || full[len(full)-1] != "acme/signalwire/early" {
		t.Fatalf("full list = %v", full)
	}
	for _, limit := range []int{1, 2, 3, 16, 17, 18} {
		items, pages := pageAll(t, limit, func(p storage.Page) ([]storage.Message, *storage.Cursor, error) {
			return s.ListMessages(ctx, all, storage.MessageFilter{}, p)
		})
		if got := messageKeys(items); !slices.Equal(got, full) {
			t.Errorf("limit %d: pages give %v, want %v", limit, got, full)
		}
		if wantPages := (len(full) + limit - 1) / limit; pages != wantPages {
			t.Errorf("limit %d: %d pages for %d items", limit, pages, len(full))
		}
	}
	// A filtered list pages the same way.
	items, _ := pageAll(t, 2, func(p storage.Page) ([]storage.Message, *storage.Cursor, error) {
		return s.ListMessages(ctx, storage.Scope{Tenants: []string{"acme"}}, storage.MessageFilter{Provider: "vonage"}, p)
	})
	if got := messageKeys(items); !slices.Equal(got, []string{"acme/vonage/P6", "acme/vonage/P4", "acme/vonage/P2", "acme/vonage/P0"}) {
		t.Errorf("filtered pages = %v", got)
	}
}

// testCurrentStateIdempotent: redelivered and retried events change
// neither the lists nor the statistics.
func testCurrentStateIdempotent(t *testing.T, s *storage.Store) {
	ctx := context.Background()
	queued := msgEvent("acme", "signalwire", "R1", "queued", 0, time.Second)
	delivered := msgEvent("acme", "signalwire", "R1", "delivered", 4*time.Second, 5*time.Second)
	retry := delivered
	retry.EventID, retry.ReceivedAt = uuid.Must(uuid.NewV7()), at(time.Minute)
	batch := messages(queued, delivered)
	insert(t, s, batch, batch, messages(retry), batch)
	items := listMessages(t, s, all, storage.MessageFilter{}, storage.Page{})
	if len(items) != 1 || items[0].Status != "delivered" || !items[0].StatusAt.Equal(at(4*time.Second)) {
		t.Fatalf("after redelivery: %+v", items)
	}
	buckets, err := s.MessageStats(ctx, all, storage.StatsQuery{Interval: storage.IntervalHour, GroupBy: storage.GroupByProvider})
	if err != nil {
		t.Fatal(err)
	}
	if len(buckets) != 1 || buckets[0].Counts["delivered"] != 1 || total(buckets[0].Counts) != 1 || derefInt(buckets[0].P50) != 4 {
		t.Fatalf("stats after redelivery: %+v", buckets)
	}
}

// testCurrentStateRebuild: RebuildCurrentState recomputes the lists from
// the events as they are now, dropping versions a replay replaced; a
// truncate empties the lists.
func testCurrentStateRebuild(t *testing.T, s *storage.Store) {
	ctx := context.Background()
	ev := msgEvent("acme", "signalwire", "RB", "delivered", 2*time.Second, 2*time.Second)
	insert(t, s, messages(msgEvent("acme", "signalwire", "RB", "queued", 0, 0)), messages(ev),
		schema.Normalised{Calls: []schema.CallEvent{callEvent("acme", "signalwire", "CR", "completed", "", 0, 0)}})
	// A corrected mapping replays the same provider event as "sent".
	corrected := ev
	corrected.Status, corrected.StatusRank, corrected.EventID = "sent", 2, uuid.Must(uuid.NewV7())
	insert(t, s, messages(corrected))
	if got := listMessages(t, s, all, storage.MessageFilter{}, storage.Page{}); len(got) != 1 || got[0].Status != "delivered" {
		t.Fatalf("before rebuild: %+v (the views only add)", got)
	}
	if err := s.RebuildCurrentState(ctx); err != nil {
		t.Fatal(err)
	}
	if got := listMessages(t, s, all, storage.MessageFilter{}, storage.Page{}); len(got) != 1 || got[0].Status != "sent" {
		t.Errorf("after rebuild: %+v, want sent", got)
	}
	if calls, _, err := s.ListCalls(ctx, all, storage.CallFilter{}, storage.Page{}); err != nil || len(calls) != 1 || calls[0].Status != "completed" {
		t.Errorf("calls after rebuild: %+v %v", calls, err)
	}
	if err := s.TruncateNormalised(ctx); err != nil {
		t.Fatal(err)
	}
	if got := listMessages(t, s, all, storage.MessageFilter{}, storage.Page{}); len(got) != 0 {
		t.Errorf("after truncate: %+v", got)
	}
	if calls, _, err := s.ListCalls(ctx, all, storage.CallFilter{}, storage.Page{}); err != nil || len(calls) != 0 {
		t.Errorf("calls after truncate: %+v %v", calls, err)
	}
}

// testCurrentStateBackfill: upgrading a database whose events predate the
// current-state tables fills them from those events.
func testCurrentStateBackfill(t *testing.T, s *storage.Store) {
	ctx := context.Background()
	// Back to the schema of migration 0001 only.
	for _, stmt := range []string{
		"DROP VIEW IF EXISTS %s.messages_current_mv", "DROP VIEW IF EXISTS %s.calls_current_mv",
		"DROP TABLE IF EXISTS %s.messages_current", "DROP TABLE IF EXISTS %s.calls_current",
		"DROP VIEW IF EXISTS %s.messages_state_mv", "DROP VIEW IF EXISTS %s.message_times_mv",
		"DROP TABLE IF EXISTS %s.messages_state", "DROP TABLE IF EXISTS %s.message_times",
		"DROP VIEW IF EXISTS %s.message_events_by_id_mv", "DROP TABLE IF EXISTS %s.message_events_by_id",
		"TRUNCATE TABLE %s.schema_migrations",
	} {
		if err := s.Conn().Exec(ctx, fmt.Sprintf(stmt, s.Database())); err != nil {
			t.Fatal(err)
		}
	}
	insert(t, s,
		messages(msgEvent("acme", "signalwire", "OLD", "delivered", 2*time.Second, 2*time.Second)),
		messages(msgEvent("acme", "signalwire", "OLD", "queued", 0, 3*time.Second)),
		calls(callEvent("acme", "vonage", "OLDCALL", "answered", "", 0, 0)),
	)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	got := listMessages(t, s, all, storage.MessageFilter{Status: "delivered"}, storage.Page{})
	if len(got) != 1 || got[0].MessageID != "OLD" {
		t.Errorf("after upgrade: %+v", got)
	}
	if read, err := s.Messages(ctx, all, "OLD", storage.Owner{}); err != nil || len(read) != 1 || len(read[0].Events) != 2 {
		t.Errorf("read after upgrade: %+v %v", read, err)
	}
	// And the views feed them from now on.
	insert(t, s, calls(callEvent("acme", "vonage", "OLDCALL", "completed", "", time.Minute, time.Minute)))
	if list, _, err := s.ListCalls(ctx, all, storage.CallFilter{}, storage.Page{}); err != nil || len(list) != 1 || list[0].Status != "completed" {
		t.Errorf("calls after upgrade: %+v %v", list, err)
	}
}

func callEvent(tenant, provider, id, status, kind string, occurred, received time.Duration) schema.CallEvent {
	rank, _ := schema.CallStatusRank(status)
	providerStatus := status
	if status == "" {
		providerStatus = kind
	}
	return schema.CallEvent{
		DedupKey: provider + ":" + id + ":" + providerStatus, EventID: uuid.Must(uuid.NewV7()), Tenant: tenant,
		Source: "src", Provider: provider, CallID: id, Status: status, StatusRank: rank, ProviderStatus: providerStatus,
		OccurredAt: at(occurred), ReceivedAt: at(received), To: "+15550001", From: "+15550002", Direction: "outbound-api",
	}
}

func calls(evs ...schema.CallEvent) schema.Normalised { return schema.Normalised{Calls: evs} }

// testCallRanking: a call's status follows the call ranking whatever the
// arrival order; non-status events stay in the timeline without setting
// it; the list agrees with the single read.
func testCallRanking(t *testing.T, s *storage.Store) {
	ctx := context.Background()
	const sec = time.Second
	completed := callEvent("acme", "signalwire", "CA1", "completed", "", 40*sec, 41*sec)
	completed.DurationSeconds, completed.Detail = 30, "SipResponseCode=200"
	record := callEvent("acme", "signalwire", "CA1", "", "record", 50*sec, 51*sec)
	record.Detail = "RecordingSid=RE1"
	insert(t, s,
		calls(completed),
		calls(callEvent("acme", "signalwire", "CA1", "answered", "", 10*sec, 42*sec)),
		calls(callEvent("acme", "signalwire", "CA1", "ringing", "", 5*sec, 43*sec), callEvent("acme", "signalwire", "CA1", "initiated", "", 1*sec, 44*sec)),
		calls(record),
		// CA2 has only a non-status event so far.
		calls(callEvent("acme", "vonage", "CA2", "", "input", 60*sec, 60*sec)),
	)
	got, err := s.Calls(ctx, all, "CA1", storage.Owner{})
	if err != nil || len(got) != 1 {
		t.Fatalf("Calls = %+v, %v", got, err)
	}
	c := got[0]
	if c.Status != "completed" || c.StatusAt == nil || !c.StatusAt.Equal(at(40*sec)) || c.DurationSeconds != 30 {
		t.Errorf("call = %+v, want completed at 40s lasting 30s", c)
	}
	var timeline []string
	for _, e := range c.Events {
		timeline = append(timeline, e.Status+"/"+e.ProviderStatus)
	}
	if want := []string{"initiated/initiated", "ringing/ringing", "answered/answered", "completed/completed", "/record"}; !slices.Equal(timeline, want) {
		t.Errorf("timeline = %v, want %v", timeline, want)
	}
	if last := c.Events[len(c.Events)-1]; last.Detail != "RecordingSid=RE1" {
		t.Errorf("record event = %+v", last)
	}
	list, _, err := s.ListCalls(ctx, all, storage.CallFilter{}, storage.Page{})
	if err != nil || len(list) != 2 {
		t.Fatalf("ListCalls = %+v, %v", list, err)
	}
	ca2, ca1 := list[0], list[1]
	if ca1.CallID != "CA1" || ca1.Status != c.Status || !ca1.StatusAt.Equal(*c.StatusAt) || ca1.DurationSeconds != 30 ||
		ca1.Direction != "outbound-api" || ca1.To != c.To || ca1.Source != c.Source || len(ca1.Events) != 0 {
		t.Errorf("list item %+v disagrees with single read %+v", ca1, c)
	}
	if ca2.CallID != "CA2" || ca2.Status != "" || ca2.StatusAt != nil {
		t.Errorf("call without status events = %+v, want empty status and no status_at", ca2)
	}
	if single, err := s.Calls(ctx, all, "CA2", storage.Owner{Provider: "vonage"}); err != nil || single[0].Status != "" || single[0].StatusAt != nil {
		t.Errorf("single read of CA2 = %+v, %v", single, err)
	}
}

// testConversationEvents: an event that names only its conversation (a
// Vonage recording) joins the timeline of every call of that conversation,
// in provider-time order, sets no status and is never listed as a call.
func testConversationEvents(t *testing.T, s *storage.Store) {
	ctx := context.Background()
	const sec = time.Second
	leg := func(id, status string, occurred time.Duration) schema.CallEvent {
		ev := callEvent("acme", "vonage", id, status, "", occurred, occurred)
		ev.ConversationID = "CON-1"
		return ev
	}
	recording := callEvent("acme", "vonage", "", "", "record", 30*sec, 90*sec)
	recording.ConversationID, recording.DedupKey, recording.Detail = "CON-1", "vonage:call:CON-1|record|30", `{"recording_url":"u"}`
	elsewhere := callEvent("acme", "vonage", "", "", "record", 31*sec, 91*sec)
	elsewhere.ConversationID, elsewhere.DedupKey = "CON-2", "vonage:call:CON-2|record|31"
	otherTenant := callEvent("globex", "vonage", "", "", "record", 32*sec, 92*sec)
	otherTenant.ConversationID, otherTenant.DedupKey = "CON-1", "vonage:call:CON-1|record|32"
	insert(t, s,
		calls(leg("LEG-A", "answered", 10*sec), leg("LEG-A", "completed", 60*sec)),
		calls(leg("LEG-B", "answered", 12*sec)),
		calls(recording, elsewhere, otherTenant),
	)
	for _, id := range []string{"LEG-A", "LEG-B"} {
		got, err := s.Calls(ctx, storage.Scope{Tenants: []string{"acme"}}, id, storage.Owner{})
		if err != nil || len(got) != 1 {
			t.Fatalf("Calls(%s) = %+v, %v", id, got, err)
		}
		var timeline []string
		for _, e := range got[0].Events {
			timeline = append(timeline, e.Status+"/"+e.ProviderStatus)
		}
		want := []string{"answered/answered", "/record", "completed/completed"}
		if id == "LEG-B" {
			want = []string{"answered/answered", "/record"}
		}
		if !slices.Equal(timeline, want) {
			t.Errorf("%s timeline = %v, want %v (the conversation's recording in time order, no other's)", id, timeline, want)
		}
		if wantStatus := map[string]string{"LEG-A": "completed", "LEG-B": "answered"}[id]; got[0].Status != wantStatus {
			t.Errorf("%s status = %q, want %q: a recording sets no status", id, got[0].Status, wantStatus)
		}
	}
	list, _, err := s.ListCalls(ctx, all, storage.CallFilter{}, storage.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range list {
		ids = append(ids, c.CallID)
	}
	if slices.Sort(ids); !slices.Equal(ids, []string{"LEG-A", "LEG-B"}) {
		t.Errorf("listed calls %q, want only the two legs", ids)
	}
	if _, err := s.Calls(ctx, all, "", storage.Owner{}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the empty call id reads as a call: %v", err)
	}
}

// testCallListFilters: filters, scope, time range, ambiguity and not-found.
func testCallListFilters(t *testing.T, s *storage.Store) {
	ctx := context.Background()
	const min = time.Minute
	other := callEvent("acme", "vonage", "C2", "busy", "", 2*min, 2*min)
	other.Source = "vg"
	insert(t, s, calls(
		callEvent("acme", "signalwire", "C1", "ringing", "", 1*min, 1*min),
		other,
		callEvent("acme", "signalwire", "C3", "answered", "", 3*min, 3*min),
		callEvent("globex", "signalwire", "C4", "answered", "", 4*min, 4*min),
		callEvent("acme", "signalwire", "DUP", "initiated", "", 5*min, 5*min),
		callEvent("acme", "vonage", "DUP", "completed", "", 5*min, 5*min),
	))
	acme := storage.Scope{Tenants: []string{"acme"}}
	cases := []struct {
		name  string
		scope storage.Scope
		f     storage.CallFilter
		p     storage.Page
		want  []string
	}{
		{"acme, newest first", acme, storage.CallFilter{}, storage.Page{}, []string{"vonage/DUP", "signalwire/DUP", "signalwire/C3", "vonage/C2", "signalwire/C1"}},
		{"all tenants", all, storage.CallFilter{Status: "answered"}, storage.Page{}, []string{"signalwire/C4", "signalwire/C3"}},
		{"status", acme, storage.CallFilter{Status: "busy"}, storage.Page{}, []string{"vonage/C2"}},
		{"provider", acme, storage.CallFilter{Provider: "signalwire"}, storage.Page{}, []string{"signalwire/DUP", "signalwire/C3", "signalwire/C1"}},
		{"source", acme, storage.CallFilter{Source: "vg"}, storage.Page{}, []string{"vonage/C2"}},
		{"time range", acme, storage.CallFilter{}, storage.Page{Since: ptr(at(2 * min)), Until: ptr(at(5 * min))}, []string{"signalwire/C3", "vonage/C2"}},
		{"scope hides globex", acme, storage.CallFilter{Provider: "signalwire", Status: "answered"}, storage.Page{}, []string{"signalwire/C3"}},
	}
	for _, c := range cases {
		list, _, err := s.ListCalls(ctx, c.scope, c.f, c.p)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, call := range list {
			got = append(got, call.Provider+"/"+call.CallID)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	items, _ := pageAll(t, 2, func(p storage.Page) ([]storage.Call, *storage.Cursor, error) {
		return s.ListCalls(ctx, all, storage.CallFilter{}, p)
	})
	if len(items) != 6 {
		t.Errorf("pages hold %d calls, want 6", len(items))
	}
	if got, err := s.Calls(ctx, all, "DUP", storage.Owner{}); err != nil || len(got) != 2 || got[0].Provider != "signalwire" || got[1].Provider != "vonage" {
		t.Errorf("ambiguous call: %+v %v", got, err)
	}
	if _, err := s.Calls(ctx, acme, "C4", storage.Owner{}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("acme sees globex's call: %v", err)
	}
	if _, err := s.Calls(ctx, all, "C1' OR 1=1 --", storage.Owner{}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("quoted id: %v", err)
	}
}

func reply(tenant, provider, id, messageID, from, to string, occurred time.Duration) schema.Reply {
	return schema.Reply{
		DedupKey: provider + ":reply:" + id, EventID: uuid.Must(uuid.NewV7()), Tenant: tenant, Source: "src",
		Provider: provider, ReplyID: id, MessageID: messageID, From: from, To: to, Text: "STOP 'now'\n",
		OccurredAt: at(occurred), ReceivedAt: at(occurred + time.Second),
	}
}

// testReplyList: filters, scope, dedup, order and pagination over equal
// provider times.
func testReplyList(t *testing.T, s *storage.Store) {
	ctx := context.Background()
	const min = time.Minute
	replies := []schema.Reply{
		reply("acme", "messagemedia", "r1", "m1", "+100", "+200", 1*min),
		reply("acme", "messagemedia", "r2", "", "+101", "+200", 2*min),
		reply("acme", "signalwire", "r3", "m1", "+100", "+201", 2*min),
		reply("acme", "vonage", "r4", "", "+100", "+200", 2*min),
		reply("globex", "vonage", "r5", "", "+100", "+200", 3*min),
	}
	insert(t, s, schema.Normalised{Replies: replies}, schema.Normalised{Replies: replies[:2]})
	list := func(scope storage.Scope, f storage.ReplyFilter, p storage.Page) []string {
		t.Helper()
		items, _, err := s.Replies(ctx, scope, f, p)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range items {
			ids = append(ids, r.ReplyID)
		}
		return ids
	}
	acme := storage.Scope{Tenants: []string{"acme"}}
	for _, c := range []struct {
		name  string
		scope storage.Scope
		f     storage.ReplyFilter
		p     storage.Page
		want  []string
	}{
		{"all, newest first, one per logical reply", all, storage.ReplyFilter{}, storage.Page{}, []string{"r5", "r4", "r3", "r2", "r1"}},
		{"scope", acme, storage.ReplyFilter{}, storage.Page{}, []string{"r4", "r3", "r2", "r1"}},
		{"message_id", acme, storage.ReplyFilter{MessageID: "m1"}, storage.Page{}, []string{"r3", "r1"}},
		{"from", acme, storage.ReplyFilter{From: "+100"}, storage.Page{}, []string{"r4", "r3", "r1"}},
		{"to", all, storage.ReplyFilter{To: "+201"}, storage.Page{}, []string{"r3"}},
		{"time range", all, storage.ReplyFilter{}, storage.Page{Since: ptr(at(2 * min)), Until: ptr(at(3 * min))}, []string{"r4", "r3", "r2"}},
	} {
		if got := list(c.scope, c.f, c.p); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	items, _ := pageAll(t, 1, func(p storage.Page) ([]storage.Reply, *storage.Cursor, error) {
		return s.Replies(ctx, all, storage.ReplyFilter{}, p)
	})
	var ids []string
	for _, r := range items {
		ids = append(ids, r.ReplyID)
	}
	if !slices.Equal(ids, []string{"r5", "r4", "r3", "r2", "r1"}) {
		t.Errorf("pages of one: %v", ids)
	}
	if r := items[len(items)-1]; r.Text != "STOP 'now'\n" || r.MessageID != "m1" || r.From != "+100" || r.Source != "src" ||
		!r.OccurredAt.Equal(at(min)) || !r.ReceivedAt.Equal(at(min+time.Second)) {
		t.Errorf("reply round trip: %+v", r)
	}
}

// testMessageStats: buckets by first event, counts by current status,
// delivery rate (null when nothing finished), nearest-rank percentiles,
// both groupings and intervals, the time range and the scope.
func testMessageStats(t *testing.T, s *storage.Store) {
	ctx := context.Background()
	const sec, min = time.Second, time.Minute
	var b []schema.MessageEvent
	add := func(provider, source, id, status string, occurred time.Duration) {
		ev := msgEvent("acme", provider, id, status, occurred, occurred)
		ev.Source = source
		b = append(b, ev)
	}
	// signalwire, hour 10: 20 delivered k seconds after their first event.
	for k := 1; k <= 20; k++ {
		id := fmt.Sprintf("D%d", k)
		add("signalwire", "sw-a", id, "queued", min)
		add("signalwire", "sw-a", id, "delivered", min+time.Duration(k)*sec)
	}
	// One read: delivered after 30s, then read. It counts as delivered.
	add("signalwire", "sw-a", "READ", "queued", 3*min)
	add("signalwire", "sw-a", "READ", "delivered", 3*min+30*sec)
	add("signalwire", "sw-a", "READ", "read", 3*min+60*sec)
	add("signalwire", "sw-b", "F1", "queued", 2*min)
	add("signalwire", "sw-b", "F1", "failed", 2*min+5*sec)
	add("signalwire", "sw-b", "F2", "failed", 2*min)
	add("signalwire", "sw-a", "U1", "undelivered", 4*min)
	add("signalwire", "sw-a", "Q1", "queued", 5*min) // in flight: in no rate
	// signalwire, hour 11: only in flight, so no rate and no percentiles.
	add("signalwire", "sw-a", "S11", "sent", 70*min)
	// vonage: first events in hour 10, delivered in hour 11; 6.4s and 19.5s.
	add("vonage", "vg", "V1", "queued", 60*min-1*sec)
	add("vonage", "vg", "V1", "delivered", 60*min+5400*time.Millisecond)
	insert(t, s, messages(b...))
	// V2's delivery arrives before its first event.
	insert(t, s, messages(withSource(msgEvent("acme", "vonage", "V2", "delivered", 60*min+9500*time.Millisecond, 61*min), "vg", "", "")))
	insert(t, s, messages(withSource(msgEvent("acme", "vonage", "V2", "queued", 60*min-10*sec, 62*min), "vg", "", "")))
	// Another tenant, invisible to acme's scope.
	insert(t, s, messages(msgEvent("globex", "vonage", "G1", "failed", min, min)))

	acme := storage.Scope{Tenants: []string{"acme"}}
	hour10, hour11 := base, base.Add(time.Hour)
	stats := func(scope storage.Scope, q storage.StatsQuery) []storage.StatsBucket {
		t.Helper()
		out, err := s.MessageStats(ctx, scope, q)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	got := stats(acme, storage.StatsQuery{Interval: storage.IntervalHour, GroupBy: storage.GroupByProvider})
	want := []bucketWant{
		{hour10, "signalwire", map[string]uint64{"delivered": 20, "read": 1, "failed": 2, "undelivered": 1, "queued": 1}, ptr(21.0 / 24), ptr[int64](11), ptr[int64](20)},
		{hour10, "vonage", map[string]uint64{"delivered": 2}, ptr(1.0), ptr[int64](6), ptr[int64](20)},
		{hour11, "signalwire", map[string]uint64{"sent": 1}, nil, nil, nil},
	}
	checkBuckets(t, "hour/provider", got, want)

	got = stats(acme, storage.StatsQuery{Interval: storage.IntervalDay, GroupBy: storage.GroupBySource})
	day := base.Truncate(24 * time.Hour)
	want = []bucketWant{
		{day, "sw-a", map[string]uint64{"delivered": 20, "read": 1, "undelivered": 1, "queued": 1, "sent": 1}, ptr(21.0 / 22), ptr[int64](11), ptr[int64](20)},
		{day, "sw-b", map[string]uint64{"failed": 2}, ptr(0.0), nil, nil},
		{day, "vg", map[string]uint64{"delivered": 2}, ptr(1.0), ptr[int64](6), ptr[int64](20)},
	}
	checkBuckets(t, "day/source", got, want)

	// Since 11:00 leaves out V1 and V2, delivered after 11:00 but first
	// seen before.
	got = stats(acme, storage.StatsQuery{Since: ptr(hour11), Interval: storage.IntervalHour, GroupBy: storage.GroupByProvider})
	checkBuckets(t, "since 11:00", got, []bucketWant{{hour11, "signalwire", map[string]uint64{"sent": 1}, nil, nil, nil}})
	got = stats(all, storage.StatsQuery{Until: ptr(hour10.Add(2 * min)), Interval: storage.IntervalHour, GroupBy: storage.GroupByProvider})
	checkBuckets(t, "all tenants until 10:02", got, []bucketWant{
		{hour10, "signalwire", map[string]uint64{"delivered": 20}, ptr(1.0), ptr[int64](10), ptr[int64](19)},
		{hour10, "vonage", map[string]uint64{"failed": 1}, ptr(0.0), nil, nil},
	})
	if got := stats(storage.Scope{Tenants: []string{"initech"}}, storage.StatsQuery{Interval: storage.IntervalDay, GroupBy: storage.GroupByProvider}); len(got) != 0 {
		t.Errorf("empty scope: %+v", got)
	}
	if _, err := s.MessageStats(ctx, all, storage.StatsQuery{Interval: "week", GroupBy: storage.GroupByProvider}); err == nil {
		t.Error("unknown interval accepted")
	}
}

type bucketWant struct {
	start    time.Time
	key      string
	counts   map[string]uint64 // non-zero counts; every other status must be 0
	rate     *float64
	p50, p95 *int64
}

func checkBuckets(t *testing.T, name string, got []storage.StatsBucket, want []bucketWant) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d buckets %+v, want %d", name, len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if !g.Start.Equal(w.start) || g.Key != w.key {
			t.Errorf("%s: bucket %d is %v/%s, want %v/%s", name, i, g.Start, g.Key, w.start, w.key)
			continue
		}
		for _, st := range storage.MessageStatuses() {
			if n, ok := g.Counts[st]; !ok || n != w.counts[st] {
				t.Errorf("%s: %s/%s count of %s = %d (present %v), want %d", name, w.start.Format(time.RFC3339), w.key, st, n, ok, w.counts[st])
			}
		}
		if !floatPtrEqual(g.DeliveryRate, w.rate) {
			t.Errorf("%s: %s delivery rate = %v, want %v", name, w.key, fmtPtr(g.DeliveryRate), fmtPtr(w.rate))
		}
		if !intPtrEqual(g.P50, w.p50) || !intPtrEqual(g.P95, w.p95) {
			t.Errorf("%s: %s p50/p95 = %v/%v, want %v/%v", name, w.key, fmtPtr(g.P50), fmtPtr(g.P95), fmtPtr(w.p50), fmtPtr(w.p95))
		}
	}
}

func ptr[T any](v T) *T { return &v }

func fmtPtr[T any](p *T) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}

func floatPtrEqual(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	d := *a - *b
	return d < 1e-9 && d > -1e-9
}

func intPtrEqual(a, b *int64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func derefInt(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}

func total(counts map[string]uint64) uint64 {
	var n uint64
	for _, c := range counts {
		n += c
	}
	return n
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
