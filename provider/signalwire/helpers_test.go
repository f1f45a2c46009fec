package signalwire

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hookledger/hookledger/provider"
)

// Test keys. They look like SignalWire project signing keys.
const (
	keyCurrent  = "PSK_3c1f9a7be2d04e6b8a5f1c2d3e4f5a6b"
	keyPrevious = "PSK_7d2e8b4c9f1a4b3c8d7e6f5a4b3c2d1e"
	keyWrong    = "PSK_0000aaaa1111bbbb2222cccc3333dddd"
)

const (
	publicURL   = "https://hooks.example.com/hooks/sw-main"
	internalURL = "http://10.0.3.7:8080/hooks/sw-main"
)

var receivedAt = time.Date(2024, 4, 4, 18, 32, 17, 0, time.UTC)

// newTestVerifier builds a verifier through the public path (YAML block,
// NewVerifier) with the given keys.
func newTestVerifier(t testing.TB, keys ...string) provider.Verifier {
	t.Helper()
	block, err := yaml.Marshal(map[string]any{"signing_keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	v, err := New().NewVerifier(yamlSource(string(block)), provider.Deps{Now: time.Now})
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

func yamlSource(block string) provider.Source {
	return provider.Source{ID: "sw-main", Tenant: "acme", Decode: func(into any) error {
		return yaml.Unmarshal([]byte(block), into)
	}}
}

// messageStatusForm is a realistic message status callback.
func messageStatusForm(status string) url.Values {
	f := url.Values{
		"MessageSid":    {"b3877c40-da60-4998-90ad-b792e98472af"},
		"AccountSid":    {"446e9986-0848-4d46-a617-48793c5f5e07"},
		"From":          {"+15551234567"},
		"To":            {"+15557654321"},
		"Body":          {"Your code is 4411"},
		"NumMedia":      {"0"},
		"NumSegments":   {"1"},
		"MessageStatus": {status},
	}
	if status == "failed" || status == "undelivered" {
		f.Set("ErrorCode", "30008")
	}
	return f
}

// callStatusForm is a realistic call status callback.
func callStatusForm(status string) url.Values {
	f := url.Values{
		"CallSid":        {"0f0b0d6e-6a43-4f0e-9a5e-0b1c4b0b7e21"},
		"AccountSid":     {"446e9986-0848-4d46-a617-48793c5f5e07"},
		"From":           {"+15551234567"},
		"To":             {"+15557654321"},
		"CallStatus":     {status},
		"Direction":      {"outbound-api"},
		"Timestamp":      {"Thu, 04 Apr 2024 18:32:15 +0000"},
		"CallbackSource": {"call-progress-events"},
		"SequenceNumber": {"2"},
	}
	if status == "completed" {
		f.Set("CallDuration", "37")
	}
	return f
}

// formPost is a form POST to signedURL with the given body.
func formPost(signedURL string, body string) *provider.Request {
	return &provider.Request{
		Method:     http.MethodPost,
		Proto:      "HTTP/1.1",
		URL:        signedURL,
		Header:     http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
		Body:       []byte(body),
		ReceivedAt: receivedAt,
	}
}

// jsonPost is a JSON POST to signedURL.
func jsonPost(signedURL string, body string) *provider.Request {
	return &provider.Request{
		Method:     http.MethodPost,
		Proto:      "HTTP/1.1",
		URL:        signedURL,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       []byte(body),
		ReceivedAt: receivedAt,
	}
}

// get is a GET of signedURL (its query is the payload).
func get(signedURL string) *provider.Request {
	return &provider.Request{
		Method:     http.MethodGet,
		Proto:      "HTTP/1.1",
		URL:        signedURL,
		Header:     http.Header{},
		ReceivedAt: receivedAt,
	}
}

// signA signs req in place with scheme A over signedURL (which may differ
// from req.URL to simulate a proxy), optionally with the SHA-256 header.
func signA(req *provider.Request, key, signedURL string, withSHA256 bool) *provider.Request {
	req.Header.Set(HeaderSignature, SignSchemeA(key, signedURL, req.Body))
	if withSHA256 {
		req.Header.Set(HeaderSHA256Signature, SignSchemeASHA256(key, signedURL, req.Body))
	}
	return req
}

// signBForm signs a form POST (or GET with nil form) in place with scheme B.
func signBForm(req *provider.Request, header, key, signedURL string, form url.Values) *provider.Request {
	req.Header.Set(header, SignSchemeB(key, signedURL, form))
	return req
}

const jsonMessageBody = `{"MessageSid":"b3877c40-da60-4998-90ad-b792e98472af","AccountSid":"446e9986-0848-4d46-a617-48793c5f5e07","From":"+15551234567","To":"+15557654321","MessageStatus":"delivered","NumSegments":1}`
