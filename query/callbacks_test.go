package query

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookledger/hookledger/schema"
)

// record is a stored raw request of tenant and source with verdict.
func record(tenant, source string, verdict schema.Verdict, reason schema.Reason, received time.Duration) *schema.Record {
	return &schema.Record{
		Version: schema.RecordVersion, ID: uuid.Must(uuid.NewV7()), ReceivedAt: base.Add(received),
		Source: source, Provider: "signalwire", Tenant: tenant, Method: "POST",
		URL: "https://hooks.example.com/hooks/" + source, RemoteAddr: "203.0.113.9:4711",
		Headers: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
		Verdict: verdict, Reason: reason, Body: []byte("MessageSid=SM1"), BodyBytes: 14,
	}
}

func ids(items []any) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.(map[string]any)["event_id"].(string))
	}
	return out
}

// GET /v1/callbacks lists stored requests of both verdicts newest first,
// filters by verdict, reason, source and tenant, and is scoped like every
// list: another tenant's requests are absent, naming its tenant is 400.
func TestCallbackList(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	accepted := record("acme", "src", schema.VerdictAccepted, "", time.Second)
	rejected := record("acme", "src", schema.VerdictRejected, schema.ReasonBadSignature, 2*time.Second)
	globex := record("globex", "globex-src", schema.VerdictRejected, schema.ReasonMissingSignature, 3*time.Second)
	unknown := record("", "sw-typo", schema.VerdictRejected, schema.ReasonUnknownSource, 4*time.Second)
	if err := a.store.InsertCallbacks(context.Background(), []*schema.Record{accepted, rejected, globex, unknown}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		token, path string
		want        []*schema.Record
	}{
		{opsToken, "/v1/callbacks", []*schema.Record{unknown, globex, rejected, accepted}},
		{opsToken, "/v1/callbacks?verdict=accepted", []*schema.Record{accepted}},
		{opsToken, "/v1/callbacks?verdict=rejected&tenant=acme", []*schema.Record{rejected}},
		{opsToken, "/v1/callbacks?reason=unknown_source&source=sw-typo", []*schema.Record{unknown}},
		{opsToken, "/v1/callbacks?since=2026-11-22T10:00:02Z&until=2026-11-22T10:00:04Z", []*schema.Record{globex, rejected}},
		{opsToken, "/v1/callbacks?tenant=globex", []*schema.Record{globex}},
		{globexToken, "/v1/callbacks", []*schema.Record{globex}},
		{globexToken, "/v1/callbacks?tenant=globex&verdict=accepted", nil},
		// tenant narrows the other lists too.
		{opsToken, "/v1/rejections?tenant=acme", []*schema.Record{rejected}},
		{opsToken, "/v1/rejections?tenant=globex", []*schema.Record{globex}},
	} {
		status, body := a.get("Bearer "+tc.token, tc.path)
		if status != http.StatusOK {
			t.Errorf("GET %s: %d %v", tc.path, status, body)
			continue
		}
		var want []string
		for _, r := range tc.want {
			want = append(want, r.ID.String())
		}
		if got := ids(body["items"].([]any)); !slices.Equal(got, want) {
			t.Errorf("GET %s as %s: %v, want %v", tc.path, tc.token, got, want)
		}
	}
	status, body := a.ops("/v1/callbacks?verdict=accepted")
	item := body["items"].([]any)[0].(map[string]any)
	if status != http.StatusOK || item["verdict"] != "accepted" || item["source"] != "src" || item["tenant"] != "acme" ||
		item["received_at"] != "2026-11-22T10:00:01Z" || item["method"] != "POST" || item["body_bytes"] == nil {
		t.Errorf("item = %v", item)
	}
	if _, ok := item["body_base64"]; ok {
		t.Errorf("a list item carries the body: %v", item)
	}

	// Pages continue by cursor.
	_, first := a.ops("/v1/callbacks?limit=3")
	next := first["next_cursor"].(string)
	_, second := a.ops("/v1/callbacks?limit=3&cursor=" + next)
	if got := ids(second["items"].([]any)); len(got) != 1 || got[0] != accepted.ID.String() || second["next_cursor"] != "" {
		t.Errorf("second page %v", second)
	}

	for _, tc := range []struct{ token, path, want string }{
		{opsToken, "/v1/callbacks?verdict=maybe", "verdict must be one of: accepted, rejected"},
		{opsToken, "/v1/callbacks?reason=nope", "reason must be one of"},
		{globexToken, "/v1/callbacks?tenant=acme", `tenant "acme" is not one of: globex`},
		{globexToken, "/v1/messages?tenant=acme", `tenant "acme" is not one of: globex`},
		{opsToken, "/v1/callbacks?provider=vonage", "unknown parameter"},
	} {
		status, body := a.get("Bearer "+tc.token, tc.path)
		if msg := errorOf(t, body); status != http.StatusBadRequest || !strings.Contains(msg, tc.want) {
			t.Errorf("GET %s: %d %q, want 400 with %q", tc.path, status, msg, tc.want)
		}
	}
	if status, _ := a.get("", "/v1/callbacks"); status != http.StatusUnauthorized {
		t.Errorf("GET /v1/callbacks without a token: %d", status)
	}
}

// ?tenant= narrows the message, call and reply lists and the statistics
// to one of the token's tenants.
func TestListsTakeTenant(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	a.insert(schema.Normalised{Messages: []schema.MessageEvent{
		message("acme", "signalwire", "MA", "sent", 0), message("globex", "signalwire", "MG", "sent", time.Second),
	}})
	for _, tc := range []struct{ path, want string }{
		{"/v1/messages?tenant=acme", "MA"},
		{"/v1/messages?tenant=globex", "MG"},
	} {
		status, body := a.ops(tc.path)
		items := body["items"].([]any)
		if status != http.StatusOK || len(items) != 1 || items[0].(map[string]any)["message_id"] != tc.want {
			t.Errorf("GET %s: %d %v", tc.path, status, body)
		}
	}
	for _, path := range []string{"/v1/calls?tenant=acme", "/v1/replies?tenant=acme"} {
		if status, body := a.ops(path); status != http.StatusOK || len(body["items"].([]any)) != 0 {
			t.Errorf("GET %s: %d %v", path, status, body)
		}
	}
	// The statistics count the one tenant's messages only.
	for _, tc := range []struct {
		path string
		want int
	}{{"/v1/stats/messages", 2}, {"/v1/stats/messages?tenant=globex", 1}, {"/v1/stats/messages?tenant=acme", 1}} {
		status, body := a.ops(tc.path)
		sent := 0
		for _, b := range body["buckets"].([]any) {
			n, _ := b.(map[string]any)["counts"].(map[string]any)["sent"].(json.Number).Int64()
			sent += int(n)
		}
		if status != http.StatusOK || sent != tc.want {
			t.Errorf("GET %s: %d, %d sent, want %d: %v", tc.path, status, sent, tc.want, body)
		}
	}
	if status, _ := a.get("Bearer "+globexToken, "/v1/stats/messages?tenant=acme"); status != http.StatusBadRequest {
		t.Errorf("globex token asking for acme's statistics: %d, want 400", status)
	}
}

// /v1/calls takes to and from, as /v1/messages does: the console finds a
// number's calls.
func TestCallListByNumber(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	c1 := call("acme", "signalwire", "C1", "ringing", "", 0)
	c2 := call("acme", "signalwire", "C2", "ringing", "", time.Second)
	c2.To, c2.From = "+15550009999", "+15550008888"
	a.insert(schema.Normalised{Calls: []schema.CallEvent{c1, c2}})
	for _, tc := range []struct{ path, want string }{
		{"/v1/calls?to=%2B15550001", "C1"},
		{"/v1/calls?from=%2B15550008888", "C2"},
		{"/v1/calls?to=%2B15550009999&from=%2B15550008888", "C2"},
		{"/v1/calls?to=%2B15550009999&from=%2B15550002", ""},
	} {
		status, body := a.ops(tc.path)
		var got []string
		for _, it := range body["items"].([]any) {
			got = append(got, it.(map[string]any)["call_id"].(string))
		}
		if want := []string{tc.want}; status != http.StatusOK || (tc.want == "" && len(got) != 0) || (tc.want != "" && !slices.Equal(got, want)) {
			t.Errorf("GET %s: %d %v, want %q", tc.path, status, got, tc.want)
		}
	}
}
