package ingest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookledger/hookledger/internal/config"
	"github.com/hookledger/hookledger/provider/vonage"
)

func TestRedactorKeepsDiagnosisNotCredentials(t *testing.T) {
	jwt, err := vonage.SignCallbackJWT(testVonageSecret, "abcd1234", "jti-1", time.Unix(1764583200, 0), []byte(`{"status":"delivered"}`))
	if err != nil {
		t.Fatal(err)
	}
	signature := jwt[strings.LastIndexByte(jwt, '.')+1:]
	r := newRedactor(config.DefaultRedactHeaders, []byte("test key"))
	cases := []struct {
		name, header, value string
		secret              string   // must not survive
		want                []string // must be in the redacted value
	}{
		{"basic auth", "Authorization", "Basic YWxpY2U6czNjcjN0", "YWxpY2U6czNjcjN0", []string{"] Basic"}},
		{"vonage JWT", "Authorization", "Bearer " + jwt, signature, []string{`Bearer JWT header={"alg":"HS256"`, `"jti":"jti-1"`, `"api_key":"abcd1234"`}},
		{"opaque bearer", "Authorization", "Bearer opaque-token-value", "opaque-token-value", []string{"] Bearer"}},
		{"bearer with a non-JSON JWT shape", "Authorization", "Bearer aaaa.bbbb.cccc", "aaaa.bbbb", []string{"] Bearer"}},
		{"token without scheme", "Authorization", "rawtoken", "rawtoken", nil},
		{"scheme-like first word of a cookie", "Cookie", "sid=abc123 other=x", "sid=abc123", nil},
		{"proxy credential", "Proxy-Authorization", "Basic cHJveHk6cGFzcw==", "cHJveHk6cGFzcw==", []string{"] Basic"}},
		{"api key with spaces", "X-Api-Key", "first-word rest", "first-word", nil},
	}
	for _, tc := range cases {
		got := r.headers(http.Header{tc.header: {tc.value}})[tc.header]
		if len(got) != 1 || !strings.HasPrefix(got[0], "[redacted hmac:") || strings.Contains(got[0], tc.secret) {
			t.Errorf("%s: %q, want it redacted without %q", tc.name, got, tc.secret)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(got[0], w) {
				t.Errorf("%s: %q, want it to contain %q", tc.name, got[0], w)
			}
		}
	}

	h := r.headers(http.Header{
		"Cookie":                 {"a=1", "a=1", "b=2"},
		"X-Signalwire-Signature": {"fe3a0c"},
		"Content-Type":           {"application/json"},
	})
	if c := h["Cookie"]; len(c) != 3 || c[0] != c[1] || c[0] == c[2] {
		t.Errorf("cookies %q: want one hash per value, equal for equal values", c)
	}
	if h.Get("X-SignalWire-Signature") != "fe3a0c" || h.Get("Content-Type") != "application/json" {
		t.Errorf("headers not listed must be kept: %v", h)
	}
	if other := newRedactor(config.DefaultRedactHeaders, []byte("other key")).value("Cookie", "a=1"); other == h["Cookie"][0] {
		t.Error("hash does not depend on the installation key")
	}
}
