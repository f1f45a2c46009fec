package app

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookledger/hookledger/ingest"
	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/provider/signalwire"
)

// TestCallbackAuditDoesNotServeCredentials sends callbacks carrying
// credentials a client or proxy may add (Basic auth, cookies, an API key)
// and a Vonage JWT, then reads them back through GET /v1/callbacks/{id}:
// no credential is served, what an operator needs still is (the header was
// there, a hash, the JWT's claims, the providers' own signature headers),
// and the redaction does not stop the Vonage callback being normalised.
func TestCallbackAuditDoesNotServeCredentials(t *testing.T) {
	h := startHarness(t)
	const (
		basic   = "Basic YWxpY2U6czNjcjN0LXBhc3N3b3Jk" // alice:s3cr3t-password
		cookie  = "session=c00kie-value-123; theme=dark"
		apiKey  = "live-api-key-0123456789"
		proxyAu = "Basic cHJveHk6cHJveHktcGFzcw==" // proxy:proxy-pass
	)
	secrets := []string{basic, "YWxpY2U6czNjcjN0LXBhc3N3b3Jk", "c00kie-value-123", apiKey, "cHJveHk6cHJveHktcGFzcw=="}

	swURL, swBody := h.ingest+"/hooks/sw-main", swStatusForm("SMredact000000000000000000000001", "delivered")
	swSig := signalwire.SignSchemeA(swKey, swURL, []byte(swBody))
	withCredentials := func(req *http.Request) *http.Request {
		req.Header.Set("Authorization", basic)
		req.Header.Set("Proxy-Authorization", proxyAu)
		req.Header.Set("Cookie", cookie)
		req.Header.Set("X-Api-Key", apiKey)
		return req
	}
	signed := withCredentials(formRequest(http.MethodPost, swURL, swBody))
	signed.Header.Set(signalwire.HeaderSignature, swSig)
	forged := withCredentials(formRequest(http.MethodPost, swURL, swStatusForm("SMredactforged", "delivered")))
	forged.Header.Set(signalwire.HeaderSignature, strings.Repeat("ab", 20))

	vonageBody := vonageStatusJSON("aaaaaaaa-bbbb-4ccc-8ddd-0000000000aa", "delivered")
	token := vonageJWT(t, vonageSecret, "jti-redaction", time.Now(), vonageBody)
	secrets = append(secrets, token, token[strings.LastIndexByte(token, '.')+1:])
	vonageReq := jsonRequest(h.ingest+"/hooks/vonage-main", vonageBody)
	vonageReq.Header.Set("Authorization", "Bearer "+token)

	ids := map[string]*http.Request{}
	for _, tc := range []struct {
		req    *http.Request
		status int
	}{{signed, http.StatusOK}, {forged, http.StatusUnauthorized}, {vonageReq, http.StatusOK}} {
		resp, err := http.DefaultClient.Do(tc.req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Fatalf("%s: status %d, want %d", tc.req.URL, resp.StatusCode, tc.status)
		}
		ids[resp.Header.Get(ingest.HeaderEventID)] = tc.req
	}

	for id, sent := range ids {
		var raw []byte
		testinfra.Eventually(t, 30*time.Second, "callback "+id+" stored", func() bool {
			req, _ := http.NewRequest(http.MethodGet, h.query+"/v1/callbacks/"+id, nil)
			req.Header.Set("Authorization", "Bearer "+queryToken)
			var status int
			status, raw = do(t, req)
			return status == http.StatusOK
		})
		for _, secret := range secrets {
			if strings.Contains(string(raw), secret) {
				t.Errorf("callback %s serves the credential %q: %s", id, secret, raw)
			}
		}
		var cb struct {
			Headers map[string][]string `json:"headers"`
		}
		if err := json.Unmarshal(raw, &cb); err != nil {
			t.Fatal(err)
		}
		auth := strings.Join(cb.Headers["Authorization"], "")
		if !strings.HasPrefix(auth, "[redacted hmac:") {
			t.Errorf("callback %s: Authorization %q, want it present and redacted", id, auth)
		}
		if sent == vonageReq {
			if !strings.Contains(auth, "Bearer JWT") || !strings.Contains(auth, `"jti":"jti-redaction"`) || !strings.Contains(auth, `"alg":"HS256"`) {
				t.Errorf("vonage Authorization %q, want the JWT header and claims", auth)
			}
			continue
		}
		if !strings.HasSuffix(auth, "] Basic") {
			t.Errorf("Authorization %q, want the scheme name kept", auth)
		}
		for _, name := range []string{"Proxy-Authorization", "Cookie", "X-Api-Key"} {
			if v := strings.Join(cb.Headers[name], ""); !strings.HasPrefix(v, "[redacted hmac:") {
				t.Errorf("callback %s: %s = %q, want it redacted", id, name, v)
			}
		}
		if got := strings.Join(cb.Headers["X-Signalwire-Signature"], ""); got != sent.Header.Get(signalwire.HeaderSignature) {
			t.Errorf("callback %s: X-SignalWire-Signature %q, want it kept as sent", id, got)
		}
	}
	testinfra.Eventually(t, 30*time.Second, "vonage message normalised", func() bool {
		return h.get("/v1/messages/aaaaaaaa-bbbb-4ccc-8ddd-0000000000aa", nil) == http.StatusOK
	})
}
