package query

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/hookledger/hookledger/internal/config"
	"github.com/hookledger/hookledger/internal/observe"
	"github.com/hookledger/hookledger/internal/testinfra/chdbtest"
	"github.com/hookledger/hookledger/schema"
	"github.com/hookledger/hookledger/storage"
)

func TestMain(m *testing.M) { chdbtest.Main(m) }

const (
	opsToken    = "ops-token"
	globexToken = "globex-token"
)

// api is the query API on a fresh database of the shared chDB engine,
// called in-process.
type api struct {
	t     *testing.T
	e     *echo.Echo
	store *storage.Store
}

func newAPI(t *testing.T) *api {
	t.Helper()
	tokens, err := BuildTokens([]config.Token{
		{Name: "ops", Token: opsToken, Tenants: []string{"*"}},
		{Name: "globex", Token: globexToken, Tenants: []string{"globex"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	a := &api{t: t, e: echo.New(), store: chdbtest.Store(t)}
	a.e.HTTPErrorHandler = observe.JSONErrorHandler // as internal/app serves it
	sources := []config.Source{{ID: "src", Tenant: "acme"}, {ID: "vg", Tenant: "acme"}, {ID: "globex-src", Tenant: "globex"}}
	catalog := NewCatalog([]string{"vonage", "messagemedia", "signalwire"}, sources)
	New(a.store, tokens, catalog, slog.New(slog.DiscardHandler)).Register(a.e)
	return a
}

func (a *api) insert(n schema.Normalised) {
	a.t.Helper()
	if err := a.store.InsertNormalised(context.Background(), n); err != nil {
		a.t.Fatal(err)
	}
}

// get calls path with authorization (none when "") and returns the status
// and the body decoded with json.Number, so integers can be told apart.
func (a *api) get(authorization, path string) (int, map[string]any) {
	a.t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	rec := httptest.NewRecorder()
	a.e.ServeHTTP(rec, req)
	if ct := rec.Header().Get(echo.HeaderContentType); !strings.HasPrefix(ct, "application/json") {
		a.t.Fatalf("GET %s: content type %q", path, ct)
	}
	var body map[string]any
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		a.t.Fatalf("GET %s: %v: %s", path, err, rec.Body)
	}
	return rec.Code, body
}

func (a *api) ops(path string) (int, map[string]any) { return a.get("Bearer "+opsToken, path) }

var base = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func message(tenant, provider, id, status string, occurred time.Duration) schema.MessageEvent {
	rank, _ := schema.MessageStatusRank(status)
	return schema.MessageEvent{
		DedupKey: provider + ":" + id + ":" + status, EventID: uuid.Must(uuid.NewV7()), Tenant: tenant, Source: "src",
		Provider: provider, MessageID: id, Status: status, StatusRank: rank, ProviderStatus: status,
		OccurredAt: base.Add(occurred), ReceivedAt: base.Add(occurred + time.Second), To: "+15550001", From: "+15550002",
	}
}

func call(tenant, provider, id, status, kind string, occurred time.Duration) schema.CallEvent {
	rank, _ := schema.CallStatusRank(status)
	ps := status
	if status == "" {
		ps = kind
	}
	return schema.CallEvent{
		DedupKey: provider + ":" + id + ":" + ps, EventID: uuid.Must(uuid.NewV7()), Tenant: tenant, Source: "src",
		Provider: provider, CallID: id, Status: status, StatusRank: rank, ProviderStatus: ps,
		OccurredAt: base.Add(occurred), ReceivedAt: base.Add(occurred + time.Second),
		To: "+15550001", From: "+15550002", Direction: "inbound",
	}
}

func errorOf(t *testing.T, body map[string]any) string {
	t.Helper()
	msg, ok := body["error"].(string)
	if !ok || msg == "" || len(body) > 2 {
		t.Errorf("error body %v, want {\"error\": \"...\"}", body)
	}
	return msg
}

var endpoints = []string{
	"/v1/messages", "/v1/messages/M1", "/v1/calls", "/v1/calls/C1", "/v1/replies",
	"/v1/stats/messages", "/v1/rejections", "/v1/callbacks/" + uuid.NewString(),
}

func TestEveryEndpointNeedsAToken(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	for _, path := range endpoints {
		for _, auth := range []string{"", "Bearer wrong", "Basic " + opsToken, "Bearer", opsToken} {
			status, body := a.get(auth, path)
			if status != http.StatusUnauthorized {
				t.Errorf("GET %s with %q: %d, want 401", path, auth, status)
			}
			errorOf(t, body)
		}
		if status, _ := a.ops(path); status == http.StatusUnauthorized {
			t.Errorf("GET %s refuses the ops token", path)
		}
	}
}

func TestBadParametersAre400(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	for _, path := range []string{
		"/v1/messages?limit=0", "/v1/messages?limit=1001", "/v1/messages?limit=ten", "/v1/messages?limit=-1",
		"/v1/messages?since=yesterday", "/v1/messages?until=2026-11-22", "/v1/messages?cursor=bm9wZQ",
		"/v1/messages?cursor=!!", "/v1/messages?status=bounced", "/v1/messages?status=answered",
		"/v1/messages?since=2026-11-22T10:00:00Z&until=2026-11-22T10:00:00Z",
		"/v1/messages?since=2026-11-22T11:00:00Z&until=2026-11-22T10:00:00Z",
		"/v1/calls?status=delivered", "/v1/calls?limit=5000", "/v1/calls?since=now",
		"/v1/replies?limit=0", "/v1/replies?until=soon", "/v1/replies?cursor=e30",
		"/v1/stats/messages?interval=week", "/v1/stats/messages?interval=HOUR", "/v1/stats/messages?group_by=tenant",
		"/v1/stats/messages?since=2026-11-22", "/v1/stats/messages?since=2026-11-23T00:00:00Z&until=2026-11-22T00:00:00Z",
		"/v1/rejections?reason=nope",
	} {
		status, body := a.ops(path)
		if status != http.StatusBadRequest {
			t.Errorf("GET %s: %d %v, want 400", path, status, body)
			continue
		}
		errorOf(t, body)
	}
	// The limits themselves are fine.
	for _, path := range []string{"/v1/messages?limit=1", "/v1/messages?limit=1000", "/v1/calls?status=no_answer",
		"/v1/messages?status=read&since=2026-11-22T10:00:00%2B02:00", "/v1/stats/messages?interval=day&group_by=source"} {
		if status, body := a.ops(path); status != http.StatusOK {
			t.Errorf("GET %s: %d %v", path, status, body)
		}
	}
}

func TestSingleReadsNotFoundAndAmbiguous(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	a.insert(schema.Normalised{
		Messages: []schema.MessageEvent{
			message("acme", "signalwire", "DUP", "sent", 0), message("acme", "vonage", "DUP", "delivered", 0),
			message("acme", "vonage", "M1", "queued", 0),
			// The same SignalWire id reported by two tenants' sources.
			message("acme", "signalwire", "SM1", "sent", 0), message("globex", "signalwire", "SM1", "delivered", 0),
		},
		Calls: []schema.CallEvent{
			call("acme", "signalwire", "CDUP", "ringing", "", 0), call("acme", "vonage", "CDUP", "answered", "", 0),
			call("acme", "vonage", "C1", "completed", "", 0),
			call("acme", "signalwire", "CA1", "ringing", "", 0), call("globex", "signalwire", "CA1", "busy", "", 0),
		},
	})
	for _, c := range []struct {
		token, path string
		status      int
		providers   []string
		matches     []string // tenant/provider
		tenant      string   // of the 200 answer
	}{
		{opsToken, "/v1/messages/nope", 404, nil, nil, ""},
		{opsToken, "/v1/calls/nope", 404, nil, nil, ""},
		{globexToken, "/v1/messages/M1", 404, nil, nil, ""},
		{globexToken, "/v1/calls/C1", 404, nil, nil, ""},
		{opsToken, "/v1/messages/M1?provider=signalwire", 404, nil, nil, ""},
		{opsToken, "/v1/messages/DUP", 409, []string{"signalwire", "vonage"}, []string{"acme/signalwire", "acme/vonage"}, ""},
		{opsToken, "/v1/calls/CDUP", 409, []string{"signalwire", "vonage"}, []string{"acme/signalwire", "acme/vonage"}, ""},
		{opsToken, "/v1/messages/DUP?provider=vonage", 200, nil, nil, "acme"},
		{opsToken, "/v1/calls/CDUP?provider=signalwire", 200, nil, nil, "acme"},
		{opsToken, "/v1/calls/C1", 200, nil, nil, "acme"},
		// Two tenants, one provider: never merged into one object.
		{opsToken, "/v1/messages/SM1", 409, []string{"signalwire"}, []string{"acme/signalwire", "globex/signalwire"}, ""},
		{opsToken, "/v1/calls/CA1?provider=signalwire", 409, []string{"signalwire"}, []string{"acme/signalwire", "globex/signalwire"}, ""},
		{opsToken, "/v1/messages/SM1?tenant=globex", 200, nil, nil, "globex"},
		{opsToken, "/v1/calls/CA1?tenant=acme&provider=signalwire", 200, nil, nil, "acme"},
		{globexToken, "/v1/messages/SM1", 200, nil, nil, "globex"},
		{globexToken, "/v1/calls/CA1", 200, nil, nil, "globex"},
		{globexToken, "/v1/messages/SM1?tenant=acme", 400, nil, nil, ""}, // not one of its tenants
	} {
		status, body := a.get("Bearer "+c.token, c.path)
		if status != c.status {
			t.Errorf("GET %s: %d %v, want %d", c.path, status, body, c.status)
			continue
		}
		switch status {
		case http.StatusNotFound:
			errorOf(t, body)
		case http.StatusConflict:
			var got []string
			for _, p := range body["providers"].([]any) {
				got = append(got, p.(string))
			}
			var matches []string
			ms, _ := body["matches"].([]any)
			for _, m := range ms {
				o := m.(map[string]any)
				matches = append(matches, o["tenant"].(string)+"/"+o["provider"].(string))
			}
			if !slices.Equal(got, c.providers) || !slices.Equal(matches, c.matches) || body["error"] == "" {
				t.Errorf("GET %s: 409 body %v", c.path, body)
			}
		case http.StatusOK:
			if body["tenant"] != c.tenant {
				t.Errorf("GET %s: tenant %v, want %s", c.path, body["tenant"], c.tenant)
			}
			if events, _ := body["events"].([]any); len(events) != 1 {
				t.Errorf("GET %s: events %v, want the one event of that owner", c.path, body["events"])
			}
		}
	}
}

// TestCallShape checks the call object of docs/query-api.md#get-v1callscall_id field by field.
func TestCallShape(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	done := call("acme", "signalwire", "CA1", "completed", "", 30*time.Second)
	done.DurationSeconds = 27
	record := call("acme", "signalwire", "CA1", "", "record", 31*time.Second)
	record.Detail = "RecordingSid=RE1"
	a.insert(schema.Normalised{Calls: []schema.CallEvent{
		record, done, call("acme", "signalwire", "CA1", "answered", "", 2*time.Second),
		call("acme", "vonage", "CA2", "", "input", 0),
	}})
	status, body := a.ops("/v1/calls/CA1")
	if status != http.StatusOK {
		t.Fatalf("GET /v1/calls/CA1: %d %v", status, body)
	}
	wantKeys := []string{"call_id", "provider", "tenant", "source", "status", "status_at", "to", "from", "direction", "duration_seconds", "events"}
	for _, k := range wantKeys {
		if _, ok := body[k]; !ok {
			t.Errorf("call has no %q: %v", k, body)
		}
	}
	if body["status"] != "completed" || body["status_at"] != "2026-11-22T10:00:30Z" || body["duration_seconds"] != json.Number("27") ||
		body["direction"] != "inbound" || body["tenant"] != "acme" {
		t.Errorf("call = %v", body)
	}
	events := body["events"].([]any)
	if len(events) != 3 {
		t.Fatalf("events = %v", events)
	}
	last := events[2].(map[string]any)
	if last["status"] != "" || last["provider_status"] != "record" || last["detail"] != "RecordingSid=RE1" ||
		last["occurred_at"] != "2026-11-22T10:00:31Z" || last["received_at"] != "2026-11-22T10:00:32Z" || last["event_id"] == "" {
		t.Errorf("non-status event = %v", last)
	}
	// A call with no status event yet: empty status, null status_at.
	status, body = a.ops("/v1/calls?provider=vonage")
	items := body["items"].([]any)
	if status != http.StatusOK || len(items) != 1 {
		t.Fatalf("GET /v1/calls?provider=vonage: %d %v", status, body)
	}
	item := items[0].(map[string]any)
	if v, ok := item["status_at"]; !ok || v != nil || item["status"] != "" || item["duration_seconds"] != json.Number("0") {
		t.Errorf("call without status = %v", item)
	}
	if _, ok := item["events"]; ok {
		t.Errorf("list item carries events: %v", item)
	}
}

// TestListsPageThroughTheAPI follows next_cursor on every list and checks
// the envelope: items always an array, next_cursor "" at the end.
func TestListsPageThroughTheAPI(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	var n schema.Normalised
	for _, id := range []string{"a", "b", "c"} {
		// Equal timestamps: the cursor must still move past each item once.
		n.Messages = append(n.Messages, message("acme", "signalwire", "M"+id, "delivered", time.Minute))
		n.Calls = append(n.Calls, call("acme", "signalwire", "C"+id, "completed", "", time.Minute))
		n.Replies = append(n.Replies, schema.Reply{
			DedupKey: "signalwire:reply:R" + id, EventID: uuid.Must(uuid.NewV7()), Tenant: "acme", Source: "src",
			Provider: "signalwire", ReplyID: "R" + id, MessageID: "Ma", From: "+1", To: "+2", Text: "hi",
			OccurredAt: base.Add(time.Minute), ReceivedAt: base.Add(time.Minute),
		})
	}
	a.insert(n)
	for _, c := range []struct {
		path, id string
	}{
		{"/v1/messages?status=delivered", "message_id"},
		{"/v1/calls?status=completed", "call_id"},
		{"/v1/replies?message_id=Ma", "reply_id"},
	} {
		var seen []string
		next := ""
		for page := 0; ; page++ {
			path := c.path + "&limit=2"
			if next != "" {
				path += "&cursor=" + url.QueryEscape(next)
			}
			status, body := a.ops(path)
			if status != http.StatusOK || len(body) != 2 {
				t.Fatalf("GET %s: %d %v", path, status, body)
			}
			for _, it := range body["items"].([]any) {
				item := it.(map[string]any)
				seen = append(seen, item[c.id].(string))
				for _, k := range []string{"occurred_at", "received_at", "status_at"} {
					if v, ok := item[k].(string); ok && !strings.HasSuffix(v, "Z") {
						t.Errorf("%s %s = %q, not UTC RFC 3339", c.path, k, v)
					}
				}
			}
			next = body["next_cursor"].(string)
			if next == "" || page > 5 {
				break
			}
		}
		if len(seen) != 3 || seen[0] == seen[1] || seen[1] == seen[2] || seen[0] == seen[2] {
			t.Errorf("%s: pages gave %v, want each of 3 items once", c.path, seen)
		}
	}
	// Empty lists: an empty array, not null, and no cursor.
	for _, path := range []string{"/v1/messages?status=failed", "/v1/calls?source=vg", "/v1/replies?from=none", "/v1/rejections"} {
		status, body := a.ops(path)
		items, ok := body["items"].([]any)
		if status != http.StatusOK || !ok || len(items) != 0 || body["next_cursor"] != "" {
			t.Errorf("GET %s: %d %v", path, status, body)
		}
	}
	// A token sees its own tenants only.
	if _, body := a.get("Bearer "+globexToken, "/v1/messages"); len(body["items"].([]any)) != 0 {
		t.Errorf("globex sees acme's messages: %v", body)
	}
}

func TestStatsShape(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	if status, body := a.ops("/v1/stats/messages"); status != http.StatusOK || body["buckets"] == nil || len(body["buckets"].([]any)) != 0 {
		t.Fatalf("empty stats: %d %v", status, body)
	}
	a.insert(schema.Normalised{Messages: []schema.MessageEvent{
		message("acme", "signalwire", "A", "queued", 0), message("acme", "signalwire", "A", "delivered", 4*time.Second),
		message("acme", "signalwire", "B", "failed", time.Minute),
		message("acme", "vonage", "C", "sent", time.Minute),
	}})
	// Defaults: hourly buckets keyed by provider.
	status, body := a.ops("/v1/stats/messages?since=2026-11-22T00:00:00Z")
	buckets := body["buckets"].([]any)
	if status != http.StatusOK || len(buckets) != 2 {
		t.Fatalf("stats: %d %v", status, body)
	}
	sw, vg := buckets[0].(map[string]any), buckets[1].(map[string]any)
	counts := sw["counts"].(map[string]any)
	if sw["start"] != "2026-11-22T10:00:00Z" || sw["key"] != "signalwire" || counts["delivered"] != json.Number("1") ||
		counts["failed"] != json.Number("1") || counts["queued"] != json.Number("0") ||
		sw["delivery_rate"] != json.Number("0.5") || sw["p50_seconds_to_delivered"] != json.Number("4") ||
		sw["p95_seconds_to_delivered"] != json.Number("4") {
		t.Errorf("signalwire bucket = %v", sw)
	}
	for _, k := range []string{"delivery_rate", "p50_seconds_to_delivered", "p95_seconds_to_delivered"} {
		if v, ok := vg[k]; !ok || v != nil {
			t.Errorf("vonage bucket %s = %v, want null", k, v)
		}
	}
	if _, body := a.ops("/v1/stats/messages?interval=day&group_by=source"); len(body["buckets"].([]any)) != 1 ||
		body["buckets"].([]any)[0].(map[string]any)["start"] != "2026-11-22T00:00:00Z" {
		t.Errorf("daily by source: %v", body)
	}
}

// TestEveryGivenTimeIsABound: since and until bound the list whatever time
// they name, the zero time and the edges of RFC 3339 included; only an
// absent parameter leaves a side open.
func TestEveryGivenTimeIsABound(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	a.insert(schema.Normalised{Messages: []schema.MessageEvent{message("acme", "signalwire", "SM1", "sent", 0)}})
	for _, c := range []struct {
		query string
		items int
	}{
		{"", 1},
		{"until=0001-01-01T00:00:00Z", 0},
		{"until=0000-01-01T00:00:00Z", 0},
		{"until=1899-12-31T23:59:59Z", 0},
		{"since=0001-01-01T00:00:00Z", 1},
		{"since=0000-01-01T00:00:00Z&until=9999-12-31T23:59:59.999Z", 1},
		{"since=9999-12-31T23:59:59Z", 0},
		{"since=2300-01-01T00:00:00Z", 0},
		{"until=2300-01-01T00:00:00Z", 1},
		{"since=2026-11-22T10:00:00Z&until=2026-11-22T10:00:00.001Z", 1},
		{"until=2026-11-22T10:00:00Z", 0},
	} {
		for _, path := range []string{"/v1/messages?", "/v1/stats/messages?"} {
			status, body := a.ops(path + c.query)
			if status != http.StatusOK {
				t.Errorf("GET %s%s: %d %v", path, c.query, status, body)
				continue
			}
			list, ok := body["items"].([]any)
			if !ok {
				list, _ = body["buckets"].([]any)
			}
			if len(list) != c.items {
				t.Errorf("GET %s%s: %d results, want %d", path, c.query, len(list), c.items)
			}
		}
	}
}

// TestOversizedAndUndecodableValuesAre400: a parameter or path id longer
// than any stored id, or not UTF-8, is answered 400 naming it; it never
// reaches the engine (a 256 KiB value exceeded ClickHouse's max_query_size
// and was answered 500).
func TestOversizedAndUndecodableValuesAre400(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	long := strings.Repeat("a", 300<<10)
	for _, c := range []struct{ path, names string }{
		{"/v1/messages?to=" + long, "to"},
		{"/v1/messages?from=" + long, "from"},
		{"/v1/messages?source=" + long, "source"},
		{"/v1/messages?provider=" + long, "provider"},
		{"/v1/messages?status=" + long, "status"},
		{"/v1/messages?cursor=" + long, "cursor"},
		{"/v1/calls?source=" + long, "source"},
		{"/v1/replies?message_id=" + long, "message_id"},
		{"/v1/replies?to=" + strings.Repeat("b", 1025), "to"},
		{"/v1/rejections?source=" + long, "source"},
		{"/v1/stats/messages?interval=" + long, "interval"},
		{"/v1/messages/" + long, "message id"},
		{"/v1/calls/" + long, "call id"},
		{"/v1/callbacks/" + long, "event id"},
		{"/v1/messages/" + long[:2000] + "?provider=signalwire", "message id"},
		{"/v1/messages?to=%FF", "to"},
		{"/v1/replies?message_id=SM%FE", "message_id"},
		{"/v1/messages/SM%FF", "message id"},
	} {
		status, body := a.ops(c.path)
		if status != http.StatusBadRequest {
			t.Errorf("GET %.60s...: %d %v, want 400", c.path, status, body)
			continue
		}
		if msg := errorOf(t, body); !strings.HasPrefix(msg, c.names+" ") {
			t.Errorf("GET %.60s...: error %q does not name %s", c.path, msg, c.names)
		}
	}
	// The longest id that can be stored is still asked for.
	id := strings.Repeat("9", schema.MaxIDBytes)
	a.insert(schema.Normalised{Messages: []schema.MessageEvent{message("acme", "signalwire", id, "sent", 0)}})
	if status, body := a.ops("/v1/messages/" + id); status != http.StatusOK {
		t.Errorf("GET /v1/messages/<%d bytes>: %d %v", len(id), status, body)
	}
	if status, body := a.ops("/v1/replies?message_id=" + id); status != http.StatusOK {
		t.Errorf("GET /v1/replies?message_id=<%d bytes>: %d %v", len(id), status, body)
	}
}

// TestPathIDsAreExact: an id reaches the store as the client sent it,
// whatever the client percent-encoded.
func TestPathIDsAreExact(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	for _, id := range []string{"SM:1", "SM/2", "SM%3", "SM 4", "SMé5"} {
		a.insert(schema.Normalised{Messages: []schema.MessageEvent{message("acme", "signalwire", id, "sent", 0)}})
		for _, path := range []string{"/v1/messages/" + url.PathEscape(id), "/v1/messages/" + strings.ReplaceAll(url.QueryEscape(id), "+", "%20")} {
			status, body := a.ops(path)
			if status != http.StatusOK || body["message_id"] != id {
				t.Errorf("GET %s: %d %v, want message %q", path, status, body, id)
			}
		}
	}
}

// TestUnknownAndRepeatedParametersAre400: every endpoint names what it
// takes; anything else is a mistake answered 400 naming it, never ignored
// (?stauts=failed listed everything).
func TestUnknownAndRepeatedParametersAre400(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	for _, c := range []struct{ path, mentions string }{
		{"/v1/messages?stauts=failed", "stauts"},
		{"/v1/messages?message_id=M1", "message_id"},
		{"/v1/messages/M1?status=sent", "status"},
		{"/v1/calls?message_id=M1", "message_id"}, // was ?to=, which /v1/calls now takes (the console finds a number's calls)
		{"/v1/calls/C1?source=src", "source"},
		{"/v1/replies?provider=signalwire", "provider"},
		{"/v1/stats/messages?limit=10", "limit"},
		{"/v1/rejections?provider=vonage", "provider"},
		{"/v1/callbacks/" + uuid.NewString() + "?verdict=accepted", "verdict"},
		{"/v1/messages?status=sent&status=failed", "status"},
		{"/v1/rejections?reason=replayed&reason=replayed", "reason"},
	} {
		status, body := a.ops(c.path)
		if status != http.StatusBadRequest {
			t.Errorf("GET %s: %d %v, want 400", c.path, status, body)
			continue
		}
		if msg := errorOf(t, body); !strings.Contains(msg, c.mentions) {
			t.Errorf("GET %s: error %q does not name %s", c.path, msg, c.mentions)
		}
	}
}

// TestClosedVocabulariesAre400: a value outside a closed set (providers,
// statuses, reasons, interval, group_by) or a source the config does not
// have (for this token) is answered 400 naming it and, for the closed sets,
// listing what is valid; never an empty 200.
func TestClosedVocabulariesAre400(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	for _, c := range []struct {
		token, path string
		mentions    []string
	}{
		{opsToken, "/v1/messages?provider=twilio", []string{"provider", "twilio", "messagemedia, signalwire, vonage"}},
		{opsToken, "/v1/calls?provider=SignalWire", []string{"provider", "messagemedia, signalwire, vonage"}},
		{opsToken, "/v1/messages/M1?provider=twilio", []string{"provider", "signalwire"}},
		{opsToken, "/v1/messages?status=bounced", []string{"status", "delivered", "undelivered", "read"}},
		{opsToken, "/v1/calls?status=delivered", []string{"status", "no_answer"}},
		{opsToken, "/v1/rejections?reason=nope", []string{"reason", "bad_signature", "unknown_source"}},
		{opsToken, "/v1/stats/messages?interval=week", []string{"interval", "hour", "day"}},
		{opsToken, "/v1/stats/messages?group_by=tenant", []string{"group_by", "provider", "source"}},
		{opsToken, "/v1/messages?source=sw-typo", []string{"source", "sw-typo"}},
		{globexToken, "/v1/rejections?source=sw-typo", []string{"source", "sw-typo"}},
		{opsToken, "/v1/calls?source=none", []string{"source", "none"}},
		// Another tenant's source is as unknown to a token as a typo.
		{globexToken, "/v1/messages?source=src", []string{"source", "src"}},
		{globexToken, "/v1/messages/M1?tenant=acme", []string{"tenant", "acme"}},
		{opsToken, "/v1/calls/C1?tenant=initech", []string{"tenant", "initech"}},
	} {
		status, body := a.get("Bearer "+c.token, c.path)
		if status != http.StatusBadRequest {
			t.Errorf("GET %s: %d %v, want 400", c.path, status, body)
			continue
		}
		msg := errorOf(t, body)
		for _, m := range c.mentions {
			if !strings.Contains(msg, m) {
				t.Errorf("GET %s: error %q does not mention %q", c.path, msg, m)
			}
		}
	}
	for _, c := range []struct{ token, path string }{
		{opsToken, "/v1/messages?source=src&provider=signalwire"},
		{opsToken, "/v1/rejections?source=globex-src"},
		// The audit keeps requests to unconfigured sources under the id
		// they asked for; an all-tenant token may look them up.
		{opsToken, "/v1/rejections?source=sw-typo&reason=unknown_source"},
		{globexToken, "/v1/calls?source=globex-src"},
		{opsToken, "/v1/stats/messages?interval=day&group_by=source"},
	} {
		if status, body := a.get("Bearer "+c.token, c.path); status != http.StatusOK {
			t.Errorf("GET %s: %d %v, want 200", c.path, status, body)
		}
	}
}

// TestCursorsAreBoundToTheirListAndFilters: a cursor continues the list it
// came from, with the same filters (limit may change); used anywhere else
// it is answered 400 instead of paging something else from its position.
func TestCursorsAreBoundToTheirListAndFilters(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	var n schema.Normalised
	for _, id := range []string{"a", "b", "c"} {
		n.Messages = append(n.Messages, message("acme", "signalwire", "M"+id, "sent", time.Minute))
		n.Calls = append(n.Calls, call("acme", "signalwire", "C"+id, "ringing", "", time.Minute))
	}
	a.insert(n)
	_, body := a.ops("/v1/messages?status=sent&limit=1")
	cursor := url.QueryEscape(body["next_cursor"].(string))
	if cursor == "" {
		t.Fatalf("no cursor: %v", body)
	}
	for _, path := range []string{
		"/v1/messages?status=sent&limit=2&cursor=" + cursor,
		"/v1/messages?limit=1&cursor=" + cursor + "&status=sent",
	} {
		if status, body := a.ops(path); status != http.StatusOK || len(body["items"].([]any)) == 0 {
			t.Errorf("GET %s: %d %v, want the next page", path, status, body)
		}
	}
	for _, path := range []string{
		"/v1/calls?status=sent&cursor=" + cursor,
		"/v1/calls?cursor=" + cursor,
		"/v1/replies?cursor=" + cursor,
		"/v1/rejections?cursor=" + cursor,
		"/v1/messages?cursor=" + cursor,
		"/v1/messages?status=failed&cursor=" + cursor,
		"/v1/messages?status=sent&provider=signalwire&cursor=" + cursor,
		"/v1/messages?status=sent&since=2026-01-01T00:00:00Z&cursor=" + cursor,
	} {
		status, body := a.ops(path)
		if status != http.StatusBadRequest {
			t.Errorf("GET %s: %d %v, want 400", path, status, body)
			continue
		}
		if msg := errorOf(t, body); !strings.HasPrefix(msg, "cursor ") {
			t.Errorf("GET %s: error %q does not name the cursor", path, msg)
		}
	}
}

// TestWrongMethodIs405: a known route answers another method 405 with
// Allow, not 404.
func TestWrongMethodIs405(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	for _, path := range endpoints {
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, "PURGE"} {
			req := httptest.NewRequest(method, path, strings.NewReader("{}"))
			req.Header.Set("Authorization", "Bearer "+opsToken)
			rec := httptest.NewRecorder()
			a.e.ServeHTTP(rec, req)
			if rec.Code != http.StatusMethodNotAllowed || !strings.Contains(rec.Header().Get("Allow"), http.MethodGet) {
				t.Errorf("%s %s: %d Allow=%q %s, want 405 allowing GET", method, path, rec.Code, rec.Header().Get("Allow"), rec.Body)
				continue
			}
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Errorf("%s %s: %v", method, path, err)
			}
			errorOf(t, body)
		}
	}
	if status, body := a.ops("/v1/nothing"); status != http.StatusNotFound {
		t.Errorf("GET /v1/nothing: %d %v, want 404", status, body)
	}
}
