package app

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookledger/hookledger/ingest"
	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/internal/testinfra/openapitest"
	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/provider/signalwire"
	"github.com/hookledger/hookledger/provider/vonage"
)

// contractIDs are the ids the seeded history is read back under.
type contractIDs struct {
	mmMessage       string // a MessageMedia message, one owner
	acceptedEvent   string // Hookledger-Event-Id of an accepted callback
	rejectedEvent   string // ... of a rejected one
	deadEvent       string // ... of an accepted one the processor could not use
	messageCursor   string // next_cursor of /v1/messages?limit=1
	rejectionCursor string // next_cursor of /v1/rejections?limit=1
}

// Ids shared by two providers: single reads of them are 409.
const (
	dupMessageID = "CTdup0000000001"
	dupCallID    = "CTdupcall000001"
)

// TestQueryAPIContract sends real callbacks of every provider through the
// running pipeline, then calls every operation of the served OpenAPI
// document with valid and invalid input and validates each real request
// and answer against the document with libopenapi-validator: answers by
// status, headers, content type and schema (closed objects, so a field the
// document does not declare fails), requests by parameters, formats and
// security (a request the API refuses as malformed must be one the
// document refuses too). Every operation and every declared answer but
// those the running pipeline cannot give (500, the store failing; 503 from
// /readyz, starting) must be exercised.
func TestQueryAPIContract(t *testing.T) {
	h := startHarness(t)
	resp, err := http.Get(h.query + "/v1/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	c := openapitest.Load(t, doc)
	ids := seedContract(t, h)

	for _, tc := range contractCases(ids) {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, h.query+tc.path, nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := c.Check(t, tc.op, req, resp, tc.docAccepts)
			if resp.StatusCode != tc.status {
				t.Errorf("GET %s: %d %s, want %d", tc.path, resp.StatusCode, body, tc.status)
			}
		})
	}
	for _, tc := range []struct{ method, path string }{
		{http.MethodPost, "/v1/messages"},
		{http.MethodDelete, "/v1/calls/CAct1"},
		{http.MethodPut, "/v1/openapi.json"},
		{http.MethodPost, "/readyz"},
	} {
		req, _ := http.NewRequest(tc.method, h.query+tc.path, strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+queryToken)
		status, body := do(t, req)
		if status != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %d %s, want 405", tc.method, tc.path, status, body)
			continue
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		c.CheckComponentResponse(t, "MethodNotAllowed", resp, body)
		if !strings.Contains(resp.Header.Get("Allow"), http.MethodGet) {
			t.Errorf("%s %s: Allow %q", tc.method, tc.path, resp.Header.Get("Allow"))
		}
	}

	seen := c.Seen()
	for _, op := range c.Operations() {
		if !slices.ContainsFunc(seen, func(s string) bool { return strings.HasPrefix(s, op+" ") }) {
			t.Errorf("no contract case calls %s: add one to contractCases", op)
		}
	}
	for _, answer := range c.Answers() {
		if strings.HasSuffix(answer, " 500") || answer == "GET /readyz 503" {
			continue
		}
		if !slices.Contains(seen, answer) {
			t.Errorf("no contract case gets %s: add one to contractCases", answer)
		}
	}
}

// contractCase is one call of the query API: op names the document's
// operation, docAccepts whether the document admits the request (false for
// input the document itself rules out, such as a value outside an enum).
type contractCase struct {
	name       string
	op         string
	path       string
	token      string // "" sends no Authorization
	status     int
	docAccepts bool
}

func contractCases(ids contractIDs) []contractCase {
	const (
		ok, bad, unauth, missing, conflict = http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound, http.StatusConflict
		listMessages                       = "GET /v1/messages"
		getMessage                         = "GET /v1/messages/{message_id}"
		listCalls                          = "GET /v1/calls"
		getCall                            = "GET /v1/calls/{call_id}"
		replies                            = "GET /v1/replies"
		stats                              = "GET /v1/stats/messages"
		rejections                         = "GET /v1/rejections"
		callbacks                          = "GET /v1/callbacks/{event_id}"
		callbackList                       = "GET /v1/callbacks"
	)
	long := strings.Repeat("x", 1025)
	ops, globex := queryToken, "globex-token"
	return []contractCase{
		{"messages", listMessages, "/v1/messages", ops, ok, true},
		{"messages every filter", listMessages, "/v1/messages?status=delivered&provider=signalwire&source=sw-main&to=%2B15550002222&from=%2B15550001111&since=2026-01-01T00:00:00Z&until=2100-01-01T00:00:00.5Z&limit=1", ops, ok, true},
		{"messages next page", listMessages, "/v1/messages?limit=2&cursor=" + ids.messageCursor, ops, ok, true},
		{"messages of a tenant", listMessages, "/v1/messages?tenant=acme", ops, ok, true},
		{"messages of an unconfigured tenant", listMessages, "/v1/messages?tenant=globex", ops, bad, true},
		{"messages none visible", listMessages, "/v1/messages", globex, ok, true},
		{"messages cursor of other filters", listMessages, "/v1/messages?provider=vonage&limit=1&cursor=" + ids.messageCursor, ops, bad, true},
		{"messages cursor not issued", listMessages, "/v1/messages?cursor=bm90LWEtY3Vyc29y", ops, bad, true},
		{"messages limit 0", listMessages, "/v1/messages?limit=0", ops, bad, false},
		{"messages limit 1001", listMessages, "/v1/messages?limit=1001", ops, bad, false},
		{"messages limit not a number", listMessages, "/v1/messages?limit=ten", ops, bad, false},
		{"messages unknown status", listMessages, "/v1/messages?status=bogus", ops, bad, false},
		{"messages call status", listMessages, "/v1/messages?status=ringing", ops, bad, false},
		{"messages unknown provider", listMessages, "/v1/messages?provider=twilio", ops, bad, false},
		{"messages since not a time", listMessages, "/v1/messages?since=yesterday", ops, bad, false},
		{"messages empty range", listMessages, "/v1/messages?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", ops, bad, true},
		// A scalar parameter's schema cannot forbid repeating it; the
		// document says so in words.
		{"messages status given twice", listMessages, "/v1/messages?status=sent&status=read", ops, bad, true},
		{"messages unknown parameter", listMessages, "/v1/messages?colour=red", ops, bad, false},
		{"messages unconfigured source", listMessages, "/v1/messages?source=nowhere", ops, bad, true},
		{"messages another tenant's source", listMessages, "/v1/messages?source=sw-main", globex, bad, true},
		{"messages value too long", listMessages, "/v1/messages?to=" + long, ops, bad, false},
		{"messages no token", listMessages, "/v1/messages", "", unauth, false},
		{"messages unknown token", listMessages, "/v1/messages", "not-a-token", unauth, true},

		{"message", getMessage, "/v1/messages/" + ids.mmMessage, ops, ok, true},
		{"message chosen by provider", getMessage, "/v1/messages/" + dupMessageID + "?provider=vonage", ops, ok, true},
		{"message chosen by owner", getMessage, "/v1/messages/" + dupMessageID + "?tenant=acme&provider=signalwire", ops, ok, true},
		{"message of two providers", getMessage, "/v1/messages/" + dupMessageID, ops, conflict, true},
		{"message unknown", getMessage, "/v1/messages/SMnever", ops, missing, true},
		{"message another tenant's", getMessage, "/v1/messages/" + ids.mmMessage, globex, missing, true},
		{"message id with an escaped slash", getMessage, "/v1/messages/SM%2Fnever", ops, missing, true},
		{"message unknown tenant", getMessage, "/v1/messages/" + dupMessageID + "?tenant=nobody", ops, bad, true},
		{"message unknown provider", getMessage, "/v1/messages/" + dupMessageID + "?provider=twilio", ops, bad, false},
		{"message list parameter", getMessage, "/v1/messages/" + dupMessageID + "?limit=1", ops, bad, false},
		{"message id too long", getMessage, "/v1/messages/" + long, ops, bad, false},
		{"message no token", getMessage, "/v1/messages/" + ids.mmMessage, "", unauth, false},

		{"calls", listCalls, "/v1/calls", ops, ok, true},
		{"calls filtered", listCalls, "/v1/calls?status=completed&provider=signalwire&source=sw-main&limit=5", ops, ok, true},
		{"calls of a tenant by number", listCalls, "/v1/calls?tenant=acme&to=%2B15550004444&from=%2B15550003333", ops, ok, true},
		{"calls message status", listCalls, "/v1/calls?status=delivered", ops, bad, false},
		{"calls take no message_id", listCalls, "/v1/calls?message_id=SM1", ops, bad, false},
		{"calls no token", listCalls, "/v1/calls", "", unauth, false},

		{"call", getCall, "/v1/calls/CAct1", ops, ok, true},
		{"call with a conversation", getCall, "/v1/calls/" + dupCallID + "?provider=vonage", ops, ok, true},
		{"call of two providers", getCall, "/v1/calls/" + dupCallID, ops, conflict, true},
		{"call unknown", getCall, "/v1/calls/CAnever", ops, missing, true},
		{"call unknown tenant", getCall, "/v1/calls/CAct1?tenant=globex", ops, bad, true},
		{"call no token", getCall, "/v1/calls/CAct1", "", unauth, false},

		{"replies", replies, "/v1/replies", ops, ok, true},
		{"replies filtered", replies, "/v1/replies?tenant=acme&message_id=" + ids.mmMessage + "&from=%2B61491570157&to=%2B61491570156&since=2020-01-01T00:00:00Z", ops, ok, true},
		{"replies take no status", replies, "/v1/replies?status=read", ops, bad, false},
		{"replies no token", replies, "/v1/replies", "", unauth, false},

		{"stats", stats, "/v1/stats/messages", ops, ok, true},
		{"stats by day and source", stats, "/v1/stats/messages?tenant=acme&interval=day&group_by=source&since=2026-01-01T00:00:00Z&until=2100-01-01T00:00:00Z", ops, ok, true},
		{"stats without a final status (nulls)", stats, "/v1/stats/messages?since=2025-03-01T00:00:00Z&until=2025-03-02T00:00:00Z", ops, ok, true},
		{"stats of nothing", stats, "/v1/stats/messages?since=2099-01-01T00:00:00Z", ops, ok, true},
		{"stats unknown interval", stats, "/v1/stats/messages?interval=week", ops, bad, false},
		{"stats unknown grouping", stats, "/v1/stats/messages?group_by=tenant", ops, bad, false},
		{"stats take no limit", stats, "/v1/stats/messages?limit=5", ops, bad, false},
		{"stats no token", stats, "/v1/stats/messages", "", unauth, false},

		{"rejections", rejections, "/v1/rejections", ops, ok, true},
		{"rejections filtered", rejections, "/v1/rejections?tenant=acme&source=sw-main&reason=missing_signature", ops, ok, true},
		{"rejections of an unknown source", rejections, "/v1/rejections?source=nope", ops, ok, true},
		{"rejections next page", rejections, "/v1/rejections?limit=1&cursor=" + ids.rejectionCursor, ops, ok, true},
		{"rejections unknown source, tenant token", rejections, "/v1/rejections?source=nope", globex, bad, true},
		{"rejections unknown reason", rejections, "/v1/rejections?reason=forged", ops, bad, false},
		{"rejections no token", rejections, "/v1/rejections", "", unauth, false},

		{"callbacks", callbackList, "/v1/callbacks", ops, ok, true},
		{"callbacks filtered", callbackList, "/v1/callbacks?tenant=acme&source=sw-main&verdict=rejected&reason=missing_signature&since=2020-01-01T00:00:00Z&limit=10", ops, ok, true},
		{"callbacks of an unknown source", callbackList, "/v1/callbacks?source=nope&verdict=rejected", ops, ok, true},
		{"callbacks unknown verdict", callbackList, "/v1/callbacks?verdict=maybe", ops, bad, false},
		{"callbacks unknown reason", callbackList, "/v1/callbacks?reason=forged", ops, bad, false},
		{"callbacks no token", callbackList, "/v1/callbacks", "", unauth, false},

		{"callback accepted", callbacks, "/v1/callbacks/" + ids.acceptedEvent, ops, ok, true},
		{"callback dead-lettered", callbacks, "/v1/callbacks/" + ids.deadEvent, ops, ok, true},
		{"callback rejected", callbacks, "/v1/callbacks/" + ids.rejectedEvent, ops, ok, true},
		{"callback unknown", callbacks, "/v1/callbacks/00000000-0000-4000-8000-000000000000", ops, missing, true},
		{"callback not a uuid", callbacks, "/v1/callbacks/not-a-uuid", ops, missing, true},
		{"callback another tenant's", callbacks, "/v1/callbacks/" + ids.acceptedEvent, globex, missing, true},
		{"callback takes no parameter", callbacks, "/v1/callbacks/" + ids.acceptedEvent + "?provider=vonage", ops, bad, false},
		{"callback no token", callbacks, "/v1/callbacks/" + ids.acceptedEvent, "", unauth, false},

		{"openapi.yaml", "GET /v1/openapi.yaml", "/v1/openapi.yaml", "", ok, true},
		{"openapi.yaml takes no parameter", "GET /v1/openapi.yaml", "/v1/openapi.yaml?v=2", "", bad, false},
		{"openapi.json", "GET /v1/openapi.json", "/v1/openapi.json", "", ok, true},
		{"openapi.json takes no parameter", "GET /v1/openapi.json", "/v1/openapi.json?pretty=1", "", bad, false},
		{"healthz", "GET /healthz", "/healthz", "", ok, true},
		{"readyz", "GET /readyz", "/readyz", "", ok, true},
		{"metrics", "GET /metrics", "/metrics", "", ok, true},
	}
}

// seedContract sends callbacks of every provider (messages, calls,
// replies, rejections; two ids reported by two providers) and waits until
// the query API shows them.
func seedContract(t *testing.T, h *harness) contractIDs {
	t.Helper()
	var ids contractIDs
	send := func(name string, req *http.Request, want int) string {
		t.Helper()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s: %d %s, want %d", name, resp.StatusCode, body, want)
		}
		return resp.Header.Get(ingest.HeaderEventID)
	}
	sw := func(fields url.Values) *http.Request {
		u, body := h.ingest+"/hooks/sw-main", fields.Encode()
		req := formRequest(http.MethodPost, u, body)
		req.Header.Set(signalwire.HeaderSignature, signalwire.SignSchemeA(swKey, u, []byte(body)))
		return req
	}
	now := time.Now().UTC()
	stamp := now.Format(time.RFC1123Z)

	// SignalWire: a message (its id also a Vonage message's), a message
	// that never reached a final status (its own day, for null stats), a
	// call with two status events (its id also a Vonage call's), a reply.
	send("signalwire message", sw(url.Values{"MessageSid": {dupMessageID}, "MessageStatus": {"delivered"}, "From": {"+15550001111"}, "To": {"+15550002222"}, "Timestamp": {stamp}}), http.StatusOK)
	send("signalwire sent message", sw(url.Values{"MessageSid": {"SMctsent"}, "MessageStatus": {"sent"}, "From": {"+15550001111"}, "To": {"+15550002222"},
		"Timestamp": {time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC).Format(time.RFC1123Z)}}), http.StatusOK)
	for _, status := range []string{"ringing", "completed"} {
		send("signalwire call "+status, sw(url.Values{"CallSid": {"CAct1"}, "CallStatus": {status}, "CallDuration": {"12"}, "From": {"+15550003333"}, "To": {"+15550004444"}, "Direction": {"inbound"}, "Timestamp": {stamp}}), http.StatusOK)
	}
	send("signalwire call with a shared id", sw(url.Values{"CallSid": {dupCallID}, "CallStatus": {"ringing"}, "Timestamp": {stamp}}), http.StatusOK)
	send("signalwire reply", sw(url.Values{"MessageSid": {"SMctreply"}, "Body": {"STOP"}, "From": {"+15550002222"}, "To": {"+15550001111"}, "Timestamp": {stamp}}), http.StatusOK)
	ids.deadEvent = send("signalwire message id not UTF-8", sw(url.Values{"MessageSid": {"SM\xff\xfe"}, "MessageStatus": {"sent"}, "Timestamp": {stamp}}), http.StatusOK)
	ids.rejectedEvent = send("signalwire forged", formRequest(http.MethodPost, h.ingest+"/hooks/sw-main", url.Values{"MessageSid": {"SMforged"}}.Encode()), http.StatusUnauthorized)
	send("unknown source", formRequest(http.MethodPost, h.ingest+"/hooks/nope", "a=b"), http.StatusNotFound)

	// Vonage: an SMS receipt under the SignalWire message's id, and a voice
	// event under the SignalWire call's id, in a conversation.
	q, err := vonage.SignSMSForm(vonage.SMSMethodMD5Hash, vonageSecret, []provider.Param{
		{Name: "msisdn", Value: "447700900000"}, {Name: "to", Value: "AcmeInc"}, {Name: "messageId", Value: dupMessageID},
		{Name: "status", Value: "delivered"}, {Name: "err-code", Value: "0"}, {Name: "message-timestamp", Value: now.Format("2006-01-02 15:04:05")},
		{Name: "timestamp", Value: fmt.Sprint(now.Unix())}, {Name: "nonce", Value: "c0ffee01"},
	})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, h.ingest+"/hooks/vonage-main?"+q, nil)
	send("vonage sms receipt", req, http.StatusOK)
	voice := []byte(fmt.Sprintf(`{"from":"447700900000","to":"447700900001","uuid":%q,"conversation_uuid":"CON-ct-1","status":"answered","direction":"outbound","timestamp":%q}`,
		dupCallID, now.Format(time.RFC3339Nano)))
	req = jsonRequest(h.ingest+"/hooks/vonage-main", voice)
	req.Header.Set("Authorization", "Bearer "+vonageJWT(t, vonageSecret, "jti-contract-voice", now, voice))
	ids.acceptedEvent = send("vonage voice event", req, http.StatusOK)

	// MessageMedia: a delivery report and a reply to that message.
	ids.mmMessage = "5b0f4c1e-8c5a-4a53-9b55-0c6f3f5a0ct1"
	send("messagemedia report", mmSigned(t, h, mmReport(ids.mmMessage, "6b0f4c1e-8c5a-4a53-9b55-0c6f3f5a0ct2", "delivered"), mmKeyID, "SHA256", now), http.StatusOK)
	reply := []byte(fmt.Sprintf(`{"callback_url":"https://hooks.example.com/hooks/mm-main","content":"Yes please","date_received":%q,"destination_number":"+61491570156",`+
		`"message_id":%q,"metadata":{},"reply_id":"7b0f4c1e-8c5a-4a53-9b55-0c6f3f5a0ct3","source_number":"+61491570157",`+
		`"vendor_account_id":{"vendor_id":"MessageMedia","account_id":"DeveloperPortal7000"}}`, now.Format(time.RFC3339Nano), ids.mmMessage))
	send("messagemedia reply", mmSigned(t, h, reply, mmKeyID, "SHA256", now), http.StatusOK)

	type page struct {
		Items      []json.RawMessage `json:"items"`
		NextCursor string            `json:"next_cursor"`
	}
	var msgs, rejections, replies page
	var call struct{ Events []json.RawMessage }
	var dead struct {
		DeadLettered bool `json:"dead_lettered"`
	}
	testinfra.Eventually(t, 60*time.Second, "the seeded history in the query API", func() bool {
		return h.get("/v1/messages/"+dupMessageID, nil) == http.StatusConflict &&
			h.get("/v1/calls/"+dupCallID, nil) == http.StatusConflict &&
			h.get("/v1/calls/CAct1", &call) == http.StatusOK && len(call.Events) == 2 &&
			h.get("/v1/messages/"+ids.mmMessage, nil) == http.StatusOK &&
			h.get("/v1/messages/SMctsent", nil) == http.StatusOK &&
			h.get("/v1/replies", &replies) == http.StatusOK && len(replies.Items) == 2 &&
			h.get("/v1/rejections?limit=1", &rejections) == http.StatusOK && rejections.NextCursor != "" &&
			h.get("/v1/callbacks/"+ids.acceptedEvent, nil) == http.StatusOK &&
			h.get("/v1/callbacks/"+ids.deadEvent, &dead) == http.StatusOK && dead.DeadLettered
	})
	if h.get("/v1/messages?limit=1", &msgs) != http.StatusOK || msgs.NextCursor == "" {
		t.Fatalf("/v1/messages?limit=1: no next page: %+v", msgs)
	}
	ids.messageCursor, ids.rejectionCursor = msgs.NextCursor, rejections.NextCursor
	return ids
}
