package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hookledger/hookledger/internal/kafkalog"
	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/provider/messagemedia"
	"github.com/hookledger/hookledger/provider/signalwire"
	"github.com/hookledger/hookledger/provider/vonage"
	"github.com/hookledger/hookledger/schema"
	"github.com/hookledger/hookledger/storage"
)

// callback is one table row: a request as a provider (or a forger) sends
// it, and what ingest must answer.
type callback struct {
	name       string
	source     string
	build      func(h *harness) *http.Request
	wantStatus int
	wantReason schema.Reason // for rejections
	messageID  string        // for accepted message callbacks: visible in /v1/messages afterwards
}

func formRequest(method, u, body string) *http.Request {
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return req
}

func jsonRequest(u string, body []byte) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return req
}

func swStatusForm(sid, status string) string {
	return url.Values{
		"MessageSid": {sid}, "AccountSid": {"AC0a1b2c"}, "From": {"+15550001111"}, "To": {"+15550002222"},
		"Body": {"Your code is 1234"}, "NumMedia": {"0"}, "NumSegments": {"1"}, "MessageStatus": {status},
	}.Encode()
}

func vonageStatusJSON(uuid, status string) []byte {
	return []byte(fmt.Sprintf(`{"message_uuid":%q,"to":"447700900000","from":"AcmeInc","timestamp":"2026-11-22T10:00:05.000Z","status":%q,"channel":"sms","usage":{"currency":"EUR","price":"0.0333"}}`, uuid, status))
}

func vonageJWT(t testing.TB, secret, jti string, iat time.Time, body []byte) string {
	tok, err := vonage.SignCallbackJWT(secret, vonageAPIKey, jti, iat, body)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func mmReport(messageID, reportID, status string) []byte {
	return []byte(fmt.Sprintf(`{"callback_url":"https://hooks.example.com/hooks/mm-main","delivery_report_id":%q,"source_number":"+61491570156","date_received":"2026-11-22T10:00:07.123Z","status":%q,"delay":0,"submitted_date":"2026-11-22T10:00:01.000Z","original_text":"Hi","message_id":%q,"vendor_account_id":{"vendor_id":"MessageMedia","account_id":"DeveloperPortal7000"},"metadata":{}}`, reportID, status, messageID))
}

func mmSigned(t testing.TB, h *harness, body []byte, keyID, digest string, date time.Time) *http.Request {
	req := jsonRequest(h.ingest+"/hooks/mm-main", body)
	if err := messagemedia.SignHTTPRequest(req, mmKey(), keyID, digest, date); err != nil {
		t.Fatal(err)
	}
	return req
}

func pipelineRows(t *testing.T) []callback {
	replayedJWT := ""
	replayedBody := vonageStatusJSON("aaaaaaaa-bbbb-4ccc-8ddd-000000000002", "delivered")
	return []callback{
		// --- SignalWire ---
		{name: "signalwire scheme A", source: "sw-main", wantStatus: 200, messageID: "SMa0000000000000000000000000000001",
			build: func(h *harness) *http.Request {
				u, body := h.ingest+"/hooks/sw-main", swStatusForm("SMa0000000000000000000000000000001", "delivered")
				req := formRequest(http.MethodPost, u, body)
				req.Header.Set(signalwire.HeaderSignature, signalwire.SignSchemeA(swKey, u, []byte(body)))
				return req
			}},
		{name: "signalwire scheme B with the retiring key", source: "sw-main", wantStatus: 200, messageID: "SMb0000000000000000000000000000001",
			build: func(h *harness) *http.Request {
				u, body := h.ingest+"/hooks/sw-main/status?attempt=1", swStatusForm("SMb0000000000000000000000000000001", "sent")
				form, _ := url.ParseQuery(body)
				req := formRequest(http.MethodPost, u, body)
				req.Header.Set(signalwire.HeaderTwilioSignature, signalwire.SignSchemeB(swOldKey, u, form))
				return req
			}},
		{name: "signalwire scheme B JSON body", source: "sw-main", wantStatus: 200,
			build: func(h *harness) *http.Request {
				body := []byte(`{"CallSid":"CA01","CallStatus":"ringing","From":"+15550001111","To":"+15550002222","Direction":"outbound-api"}`)
				u, sig := signalwire.SignSchemeBJSON(swKey, h.ingest+"/hooks/sw-main", body)
				req := jsonRequest(u, body)
				req.Header.Set(signalwire.HeaderSignature, sig)
				return req
			}},
		{name: "signalwire forged signature", source: "sw-main", wantStatus: 401, wantReason: schema.ReasonBadSignature,
			build: func(h *harness) *http.Request {
				u, body := h.ingest+"/hooks/sw-main", swStatusForm("SMforged", "delivered")
				req := formRequest(http.MethodPost, u, body)
				req.Header.Set(signalwire.HeaderSignature, signalwire.SignSchemeA("PSKguessed", u, []byte(body)))
				return req
			}},
		{name: "signalwire signed over the https URL (proxy misconfiguration)", source: "sw-main", wantStatus: 401, wantReason: schema.ReasonBadSignature,
			build: func(h *harness) *http.Request {
				u, body := h.ingest+"/hooks/sw-main", swStatusForm("SMnearmiss", "delivered")
				req := formRequest(http.MethodPost, u, body)
				signedOver := strings.Replace(u, "http://", "https://", 1)
				req.Header.Set(signalwire.HeaderSignature, signalwire.SignSchemeA(swKey, signedOver, []byte(body)))
				return req
			}},
		{name: "signalwire unsigned", source: "sw-main", wantStatus: 401, wantReason: schema.ReasonMissingSignature,
			build: func(h *harness) *http.Request {
				return formRequest(http.MethodPost, h.ingest+"/hooks/sw-main", swStatusForm("SMunsigned", "delivered"))
			}},
		{name: "signalwire JSON body swapped after signing", source: "sw-main", wantStatus: 401, wantReason: schema.ReasonPayloadHashMismatch,
			build: func(h *harness) *http.Request {
				u, sig := signalwire.SignSchemeBJSON(swKey, h.ingest+"/hooks/sw-main", []byte(`{"CallSid":"CA02","CallStatus":"ringing"}`))
				req := jsonRequest(u, []byte(`{"CallSid":"CA02","CallStatus":"completed"}`))
				req.Header.Set(signalwire.HeaderSignature, sig)
				return req
			}},
		{name: "signalwire bad form body", source: "sw-main", wantStatus: 401, wantReason: schema.ReasonMalformed,
			build: func(h *harness) *http.Request {
				u, body := h.ingest+"/hooks/sw-main", "MessageSid=%zz"
				req := formRequest(http.MethodPost, u, body)
				req.Header.Set(signalwire.HeaderSignature, signalwire.SignSchemeA(swKey, u, []byte(body)))
				return req
			}},
		// --- Vonage ---
		{name: "vonage messages JWT", source: "vonage-main", wantStatus: 200, messageID: "aaaaaaaa-bbbb-4ccc-8ddd-000000000001",
			build: func(h *harness) *http.Request {
				body := vonageStatusJSON("aaaaaaaa-bbbb-4ccc-8ddd-000000000001", "delivered")
				req := jsonRequest(h.ingest+"/hooks/vonage-main", body)
				req.Header.Set("Authorization", "Bearer "+vonageJWT(t, vonageSecret, "jti-1", time.Now(), body))
				return req
			}},
		{name: "vonage SMS receipt signed with sig (GET)", source: "vonage-main", wantStatus: 200, messageID: "0A0000000123ABCD1",
			build: func(h *harness) *http.Request {
				q, err := vonage.SignSMSForm(vonage.SMSMethodMD5Hash, vonageSecret, []provider.Param{
					{Name: "msisdn", Value: "447700900000"}, {Name: "to", Value: "AcmeInc"}, {Name: "network-code", Value: "23410"},
					{Name: "messageId", Value: "0A0000000123ABCD1"}, {Name: "price", Value: "0.03330000"}, {Name: "status", Value: "delivered"},
					{Name: "scts", Value: "2611221000"}, {Name: "err-code", Value: "0"}, {Name: "message-timestamp", Value: "2026-11-22 10:00:05"},
					{Name: "timestamp", Value: fmt.Sprint(time.Now().Unix())}, {Name: "nonce", Value: "3b0b7d0c"},
				})
				if err != nil {
					t.Fatal(err)
				}
				req, _ := http.NewRequest(http.MethodGet, h.ingest+"/hooks/vonage-main?"+q, nil)
				return req
			}},
		{name: "vonage JWT first use", source: "vonage-main", wantStatus: 200,
			build: func(h *harness) *http.Request {
				replayedJWT = vonageJWT(t, vonageSecret, "jti-replayed", time.Now(), replayedBody)
				req := jsonRequest(h.ingest+"/hooks/vonage-main", replayedBody)
				req.Header.Set("Authorization", "Bearer "+replayedJWT)
				return req
			}},
		{name: "vonage JWT replayed", source: "vonage-main", wantStatus: 401, wantReason: schema.ReasonReplayed,
			build: func(h *harness) *http.Request {
				req := jsonRequest(h.ingest+"/hooks/vonage-main", replayedBody)
				req.Header.Set("Authorization", "Bearer "+replayedJWT)
				return req
			}},
		{name: "vonage alg none", source: "vonage-main", wantStatus: 401, wantReason: schema.ReasonUnsupportedAlgorithm,
			build: func(h *harness) *http.Request {
				body := vonageStatusJSON("aaaaaaaa-bbbb-4ccc-8ddd-00000000000f", "delivered")
				tok, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{
					"iat": time.Now().Unix(), "jti": "none-1", "iss": "Vonage", "api_key": vonageAPIKey, "payload_hash": vonage.PayloadHash(body),
				}).SignedString(jwt.UnsafeAllowNoneSignatureType)
				req := jsonRequest(h.ingest+"/hooks/vonage-main", body)
				req.Header.Set("Authorization", "Bearer "+tok)
				return req
			}},
		{name: "vonage wrong secret", source: "vonage-main", wantStatus: 401, wantReason: schema.ReasonBadSignature,
			build: func(h *harness) *http.Request {
				body := vonageStatusJSON("aaaaaaaa-bbbb-4ccc-8ddd-00000000000e", "delivered")
				req := jsonRequest(h.ingest+"/hooks/vonage-main", body)
				req.Header.Set("Authorization", "Bearer "+vonageJWT(t, "not-the-secret", "jti-2", time.Now(), body))
				return req
			}},
		{name: "vonage body changed after signing", source: "vonage-main", wantStatus: 401, wantReason: schema.ReasonPayloadHashMismatch,
			build: func(h *harness) *http.Request {
				signed := vonageStatusJSON("aaaaaaaa-bbbb-4ccc-8ddd-00000000000d", "rejected")
				req := jsonRequest(h.ingest+"/hooks/vonage-main", vonageStatusJSON("aaaaaaaa-bbbb-4ccc-8ddd-00000000000d", "delivered"))
				req.Header.Set("Authorization", "Bearer "+vonageJWT(t, vonageSecret, "jti-3", time.Now(), signed))
				return req
			}},
		{name: "vonage stale iat", source: "vonage-main", wantStatus: 401, wantReason: schema.ReasonStaleTimestamp,
			build: func(h *harness) *http.Request {
				body := vonageStatusJSON("aaaaaaaa-bbbb-4ccc-8ddd-00000000000c", "delivered")
				req := jsonRequest(h.ingest+"/hooks/vonage-main", body)
				req.Header.Set("Authorization", "Bearer "+vonageJWT(t, vonageSecret, "jti-4", time.Now().Add(-time.Hour), body))
				return req
			}},
		{name: "vonage garbage bearer", source: "vonage-main", wantStatus: 401, wantReason: schema.ReasonMalformed,
			build: func(h *harness) *http.Request {
				req := jsonRequest(h.ingest+"/hooks/vonage-main", []byte(`{}`))
				req.Header.Set("Authorization", "Bearer not.a-jwt")
				return req
			}},
		// --- MessageMedia ---
		{name: "messagemedia delivery report", source: "mm-main", wantStatus: 200, messageID: "04fe9a97-a579-43c5-bb1a-58ed29bf0a6a",
			build: func(h *harness) *http.Request {
				return mmSigned(t, h, mmReport("04fe9a97-a579-43c5-bb1a-58ed29bf0a6a", "01e1fa0a-6e27-4945-9cdb-18644b4de043", "delivered"), mmKeyID, "SHA256", time.Now())
			}},
		{name: "messagemedia SHA512", source: "mm-main", wantStatus: 200,
			build: func(h *harness) *http.Request {
				return mmSigned(t, h, mmReport("14fe9a97-a579-43c5-bb1a-58ed29bf0a6a", "11e1fa0a-6e27-4945-9cdb-18644b4de043", "enroute"), mmKeyID, "SHA512", time.Now())
			}},
		{name: "messagemedia unknown key id", source: "mm-main", wantStatus: 401, wantReason: schema.ReasonUnknownKey,
			build: func(h *harness) *http.Request {
				return mmSigned(t, h, mmReport("m3", "r3", "delivered"), "00000000-0000-4000-8000-000000000000", "SHA256", time.Now())
			}},
		{name: "messagemedia stale date", source: "mm-main", wantStatus: 401, wantReason: schema.ReasonStaleTimestamp,
			build: func(h *harness) *http.Request {
				return mmSigned(t, h, mmReport("m4", "r4", "delivered"), mmKeyID, "SHA256", time.Now().Add(-time.Hour))
			}},
		{name: "messagemedia SHA1 digest", source: "mm-main", wantStatus: 401, wantReason: schema.ReasonUnsupportedAlgorithm,
			build: func(h *harness) *http.Request {
				req := mmSigned(t, h, mmReport("m5", "r5", "delivered"), mmKeyID, "SHA256", time.Now())
				req.Header.Set(messagemedia.HeaderDigestType, "SHA1")
				return req
			}},
		{name: "messagemedia tampered body", source: "mm-main", wantStatus: 401, wantReason: schema.ReasonBadSignature,
			build: func(h *harness) *http.Request {
				req := mmSigned(t, h, mmReport("m6", "r6", "failed"), mmKeyID, "SHA256", time.Now())
				tampered := mmReport("m6", "r6", "delivered")
				req.Body, req.ContentLength = ioNopCloser(tampered), int64(len(tampered))
				return req
			}},
		// --- Requests refused before verification ---
		{name: "unknown source", source: "nope", wantStatus: 404, wantReason: schema.ReasonUnknownSource,
			build: func(h *harness) *http.Request {
				return formRequest(http.MethodPost, h.ingest+"/hooks/nope", "a=b")
			}},
		{name: "PUT", source: "sw-main", wantStatus: 405, wantReason: schema.ReasonMethodNotAllowed,
			build: func(h *harness) *http.Request { return formRequest(http.MethodPut, h.ingest+"/hooks/sw-main", "a=b") }},
		{name: "a method Echo does not route (MKCOL)", source: "sw-main", wantStatus: 405, wantReason: schema.ReasonMethodNotAllowed,
			build: func(h *harness) *http.Request { return formRequest("MKCOL", h.ingest+"/hooks/sw-main", "a=b") }},
		{name: "unknown source beats an unknown method", source: "nowhere", wantStatus: 404, wantReason: schema.ReasonUnknownSource,
			build: func(h *harness) *http.Request { return formRequest("QUERY", h.ingest+"/hooks/nowhere/x", "a=b") }},
		{name: "body over max_body_bytes", source: "sw-main", wantStatus: 413, wantReason: schema.ReasonBodyTooLarge,
			build: func(h *harness) *http.Request {
				return formRequest(http.MethodPost, h.ingest+"/hooks/sw-main", "Body="+strings.Repeat("x", 1<<20))
			}},
	}
}

// TestCallbacksThroughTheRealPipeline sends genuine and forged callbacks of
// every provider and scheme through the HTTP listener and follows them into
// Kafka, ClickHouse and the query API.
func TestCallbacksThroughTheRealPipeline(t *testing.T) {
	h := startHarness(t)
	accepted := map[string]callback{}
	for _, row := range pipelineRows(t) {
		status, body := do(t, row.build(h))
		if status != row.wantStatus {
			t.Fatalf("%s: status %d (%s), want %d", row.name, status, body, row.wantStatus)
		}
		switch {
		case status == http.StatusOK && row.source == "sw-main":
			if string(body) != signalwire.AckBody {
				t.Errorf("%s: answer %q, want the empty cXML document", row.name, body)
			}
			// SignalWire's answer carries no id; find it through the audit list below.
			accepted["sw:"+row.name] = row
		case status == http.StatusOK:
			var ack struct{ ID string }
			if err := json.Unmarshal(body, &ack); err != nil || ack.ID == "" {
				t.Fatalf("%s: answer %s has no id", row.name, body)
			}
			accepted[ack.ID] = row
		default:
			var e struct{ Error string }
			if err := json.Unmarshal(body, &e); err != nil || e.Error != string(row.wantReason) {
				t.Errorf("%s: answer %s, want error %q", row.name, body, row.wantReason)
			}
		}
	}

	// Every accepted callback with an id is in the verified topic, byte-exact.
	inVerified := map[string]*schema.Record{}
	testinfra.Eventually(t, 30*time.Second, "accepted records in the verified topic", func() bool {
		_ = kafkalog.Scan(context.Background(), h.brokers, h.cfg.Kafka.VerifiedTopic, func(f kafkalog.Fetched) error {
			if rec, err := schema.DecodeRecord(f.Value, f.Headers); err == nil {
				inVerified[rec.ID.String()] = rec
			}
			return nil
		})
		return len(inVerified) >= len(accepted)
	})
	for id, row := range accepted {
		if strings.HasPrefix(id, "sw:") {
			continue
		}
		rec, ok := inVerified[id]
		if !ok || rec.Verdict != schema.VerdictAccepted || rec.KeyID == "" {
			t.Errorf("%s: record %s not in the verified topic as accepted with its key: %+v", row.name, id, rec)
		}
	}
	for _, rec := range inVerified {
		if rec.Verdict != schema.VerdictAccepted {
			t.Errorf("rejected record %s in the verified topic", rec.ID)
		}
	}

	// Every accepted message is queryable.
	for _, row := range accepted {
		if row.messageID == "" {
			continue
		}
		var m storage.Message
		testinfra.Eventually(t, 30*time.Second, row.name+" in /v1/messages", func() bool {
			return h.get("/v1/messages/"+row.messageID, &m) == http.StatusOK
		})
		if m.Tenant != "acme" || m.Source != row.source || len(m.Events) != 1 {
			t.Errorf("%s: message %+v", row.name, m)
		}
	}

	// Every rejection reason is audited, with its source, and visible in
	// /v1/rejections and /v1/callbacks.
	for _, row := range pipelineRows(t) {
		if row.wantReason == "" {
			continue
		}
		var page struct {
			Items []storage.Rejection
		}
		path := fmt.Sprintf("/v1/rejections?source=%s&reason=%s", row.source, row.wantReason)
		testinfra.Eventually(t, 30*time.Second, row.name+" in /v1/rejections", func() bool {
			return h.get(path, &page) == http.StatusOK && len(page.Items) > 0
		})
		var cb storage.Callback
		if h.get("/v1/callbacks/"+page.Items[0].EventID, &cb) != http.StatusOK || cb.Verdict != "rejected" || cb.Reason != string(row.wantReason) {
			t.Errorf("%s: callback %+v", row.name, cb)
		}
	}

	// The proxy near miss explains itself in its audit record, and only
	// there: the HTTP answer was the bare reason.
	var page struct{ Items []storage.Rejection }
	h.get("/v1/rejections?source=sw-main&reason=bad_signature", &page)
	nearMisses := 0
	for _, r := range page.Items {
		var cb storage.Callback
		if h.get("/v1/callbacks/"+r.EventID, &cb) == http.StatusOK && strings.Contains(cb.Detail, "NEAR MISS") {
			nearMisses++
			if !strings.Contains(cb.Detail, "https://"+h.app.Addr("ingest")+"/hooks/sw-main") {
				t.Errorf("near miss does not name the URL that verifies: %s", cb.Detail)
			}
		}
	}
	if nearMisses != 1 {
		t.Errorf("%d near misses among %d bad signatures, want exactly the misconfigured one", nearMisses, len(page.Items))
	}
}

func ioNopCloser(b []byte) *nopCloser { return &nopCloser{bytes.NewReader(b)} }

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }
