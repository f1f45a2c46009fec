package ingest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hookledger/hookledger/internal/config"
	"github.com/hookledger/hookledger/internal/kafkalog"
	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/provider/messagemedia"
	"github.com/hookledger/hookledger/provider/providers"
	"github.com/hookledger/hookledger/provider/signalwire"
	"github.com/hookledger/hookledger/provider/vonage"
	"github.com/hookledger/hookledger/schema"
)

// discardPublisher acknowledges at once. The benchmarks measure ingest's
// own CPU cost per request (body, URL rebuild, verification, record
// encoding), so Kafka's round trip is deliberately left out; wrk against a
// running hookledger measures the whole path.
type discardPublisher struct{}

func (discardPublisher) Publish(context.Context, ...kafkalog.Message) error { return nil }

// acceptAll is the "bare" baseline: a provider whose verifier accepts
// everything, so the difference to it is the cost of verification.
type acceptAll struct{}

func (acceptAll) Name() string { return "bare" }
func (acceptAll) NewVerifier(provider.Source, provider.Deps) (provider.Verifier, error) {
	return acceptAll{}, nil
}
func (acceptAll) Normalise(*schema.Record) (schema.Normalised, error) {
	return schema.Normalised{}, nil
}
func (acceptAll) Verify(context.Context, *provider.Request) (provider.Verified, error) {
	return provider.Verified{KeyID: "none"}, nil
}

type noReplays struct{}

func (noReplays) FirstUse(context.Context, string, time.Time, time.Time) (bool, error) {
	return true, nil
}
func (noReplays) Forget(context.Context, string) error { return nil }

func BenchmarkHandle(b *testing.B) {
	cfg := parseSources(b, fmt.Sprintf(`
sources:
  - {id: bare, provider: bare, tenant: t, bare: {}}
  - {id: sw, provider: signalwire, tenant: t, signalwire: {signing_keys: [%s]}}
  - {id: vonage, provider: vonage, tenant: t, vonage: {signature_secrets: [%s], sms_signature_method: md5hash}}
  - {id: mm, provider: messagemedia, tenant: t, messagemedia: {keys: [{key_id: k1, public_key: %%s}]}}
`, testSWKey, testVonageSecret))
	priv := benchKey()
	reg := provider.NewRegistry(append([]provider.Provider{acceptAll{}}, registered()...)...)
	sources, err := BuildSources(cfg, reg, provider.Deps{Replays: noReplays{}, Now: time.Now})
	if err != nil {
		b.Fatal(err)
	}
	s := New(Options{RawTopic: "r", MaxBodyBytes: 1 << 20, AckTimeout: time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, discardPublisher{}, sources)
	e := echo.New()
	s.Register(e)

	form := url.Values{"MessageSid": {"SM0123456789abcdef0123456789abcdef"}, "AccountSid": {"AC0123"}, "From": {"+15550001111"},
		"To": {"+15550002222"}, "Body": {"Your code is 1234"}, "MessageStatus": {"delivered"}, "NumSegments": {"1"}}.Encode()
	jsonBody := []byte(`{"message_uuid":"aaaaaaaa-bbbb-4ccc-8ddd-000000000001","to":"447700900000","from":"Acme","timestamp":"2026-11-22T10:00:00Z","status":"delivered","channel":"sms"}`)
	const base = "http://example.com"
	type reqFn func() *http.Request
	formReq := func(path, body string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, base+path, bytes.NewReader([]byte(body)))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
	jwtTok, _ := vonage.SignCallbackJWT(testVonageSecret, "", "jti", time.Now(), jsonBody)
	smsQuery, _ := vonage.SignSMSForm(vonage.SMSMethodMD5Hash, testVonageSecret, []provider.Param{
		{Name: "msisdn", Value: "447700900000"}, {Name: "to", Value: "Acme"}, {Name: "messageId", Value: "0A01"},
		{Name: "status", Value: "delivered"}, {Name: "message-timestamp", Value: "2026-11-22 10:00:00"},
		{Name: "timestamp", Value: fmt.Sprint(time.Now().Unix())}})
	formValues, _ := url.ParseQuery(form)
	for _, bc := range []struct {
		name string
		req  reqFn
	}{
		{"bare", func() *http.Request { return formReq("/hooks/bare", form) }},
		{"signalwire-A", func() *http.Request {
			r := formReq("/hooks/sw", form)
			r.Header.Set(signalwire.HeaderSignature, signalwire.SignSchemeA(testSWKey, base+"/hooks/sw", []byte(form)))
			return r
		}},
		{"signalwire-B", func() *http.Request {
			r := formReq("/hooks/sw", form)
			r.Header.Set(signalwire.HeaderTwilioSignature, signalwire.SignSchemeB(testSWKey, base+"/hooks/sw", formValues))
			return r
		}},
		{"vonage-jwt", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, base+"/hooks/vonage", bytes.NewReader(jsonBody))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Authorization", "Bearer "+jwtTok)
			return r
		}},
		{"vonage-sms-sig", func() *http.Request {
			return httptest.NewRequest(http.MethodGet, base+"/hooks/vonage?"+smsQuery, nil)
		}},
		{"messagemedia-rsa2048", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, base+"/hooks/mm", bytes.NewReader(jsonBody))
			r.Header.Set("Content-Type", "application/json")
			if err := messagemedia.SignHTTPRequest(r, priv, "k1", "SHA256", time.Now().Add(time.Minute)); err != nil {
				b.Fatal(err)
			}
			return r
		}},
	} {
		// Sign once; each iteration replays the same bytes.
		proto := bc.req()
		body, _ := io.ReadAll(proto.Body)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := proto.Clone(context.Background())
				r.Body = io.NopCloser(bytes.NewReader(body))
				w := httptest.NewRecorder()
				e.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}

// benchKey signs MessageMedia requests in benchmarks and fuzzing; its
// public half is what parseSources puts into the config.
var benchKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// parseSources loads the sources of a config document whose single %s is
// replaced by benchKey's public key.
func parseSources(tb testing.TB, doc string) []config.Source {
	tb.Helper()
	der, err := x509.MarshalPKIXPublicKey(&benchKey().PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(doc, base64.StdEncoding.EncodeToString(der))), func(string) (string, bool) { return "", false })
	if err != nil {
		tb.Fatal(err)
	}
	return cfg.Sources
}

func registered() []provider.Provider {
	reg := providers.All()
	var out []provider.Provider
	for _, n := range reg.Names() {
		p, _ := reg.Get(n)
		out = append(out, p)
	}
	return out
}
