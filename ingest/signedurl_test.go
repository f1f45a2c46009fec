package ingest

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookledger/hookledger/internal/config"
	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/provider/providers"
)

func TestSignedURL(t *testing.T) {
	for _, tc := range []struct {
		name      string
		policy    URLPolicy
		publicURL string
		target    string // request-target as received
		host      string
		tls       bool
		headers   map[string]string
		want      string
		wantAlt   string // one URL that must be among the alternatives
	}{
		{name: "request itself", target: "/hooks/sw?b=%2B1&a=2", host: "10.0.0.5:8080",
			want: "http://10.0.0.5:8080/hooks/sw?b=%2B1&a=2", wantAlt: "https://10.0.0.5:8080/hooks/sw?b=%2B1&a=2"},
		{name: "tls", target: "/hooks/sw", host: "hooks.example.com", tls: true, want: "https://hooks.example.com/hooks/sw"},
		{name: "query kept byte-exact, never re-encoded", target: "/hooks/sw?x=a+b&y=%7e&z=%E2%82%AC&&w", host: "h",
			want: "http://h/hooks/sw?x=a+b&y=%7e&z=%E2%82%AC&&w"},
		{name: "forwarded headers ignored unless trusted", target: "/hooks/sw", host: "10.0.0.5:8080",
			headers: map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "hooks.example.com"},
			want:    "http://10.0.0.5:8080/hooks/sw", wantAlt: "https://hooks.example.com/hooks/sw"},
		{name: "trusted forwarded headers, first value", policy: URLPolicy{TrustForwardedHeaders: true}, target: "/hooks/sw?a=1", host: "10.0.0.5:8080",
			headers: map[string]string{"X-Forwarded-Proto": "HTTPS, http", "X-Forwarded-Host": "hooks.example.com, proxy.local"},
			want:    "https://hooks.example.com/hooks/sw?a=1", wantAlt: "http://10.0.0.5:8080/hooks/sw?a=1"},
		{name: "public base url with prefix", policy: URLPolicy{PublicBaseURL: "https://hooks.example.com/hl/"}, target: "/hooks/sw/status?a=1", host: "internal",
			want: "https://hooks.example.com/hl/hooks/sw/status?a=1", wantAlt: "http://internal/hooks/sw/status?a=1"},
		{name: "source public url stands for /hooks/{id}", policy: URLPolicy{PublicBaseURL: "https://other.example.com"}, publicURL: "https://sw.example.com/callbacks",
			target: "/hooks/sw/voice?a=1", host: "internal", want: "https://sw.example.com/callbacks/voice?a=1",
			wantAlt: "https://other.example.com/hooks/sw/voice?a=1"},
		{name: "public url kept with its trailing slash", publicURL: "https://sw.example.com/", target: "/hooks/sw?a=1", host: "internal",
			want: "https://sw.example.com/?a=1", wantAlt: "https://sw.example.com?a=1"},
		{name: "public url without trailing slash, provider given one", publicURL: "https://sw.example.com/cb", target: "/hooks/sw", host: "internal",
			want: "https://sw.example.com/cb", wantAlt: "https://sw.example.com/cb/"},
		{name: "public url trailing slash joins a suffix once", publicURL: "https://sw.example.com/cb/", target: "/hooks/sw/voice", host: "internal",
			want: "https://sw.example.com/cb/voice"},
		{name: "proxy strips a prefix", target: "/hooks/sw", host: "hooks.example.com", headers: map[string]string{"X-Forwarded-Prefix": "/api"},
			want: "http://hooks.example.com/hooks/sw", wantAlt: "https://hooks.example.com/api/hooks/sw"},
		{name: "empty query has no question mark", target: "/hooks/sw?", host: "h", want: "http://h/hooks/sw"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, tc.target, nil)
			r.Host = tc.host
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			} else {
				r.TLS = nil
			}
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			src := &Source{ID: "sw", PublicURL: tc.publicURL}
			got := tc.policy.SignedURL(r, src)
			alts := tc.policy.Alternatives(r, src, got)
			if got != tc.want {
				t.Errorf("signed URL = %q, want %q", got, tc.want)
			}
			if slices.Contains(alts, got) {
				t.Errorf("alternatives repeat the signed URL")
			}
			if tc.wantAlt != "" && !slices.Contains(alts, tc.wantAlt) {
				t.Errorf("alternatives %q lack %q", alts, tc.wantAlt)
			}
		})
	}
}

// FuzzSignedURL: whatever the request-target and headers, the signed URL
// keeps the raw query byte-exact and starts with the configured public URL.
func FuzzSignedURL(f *testing.F) {
	f.Add("/hooks/sw/x?a=%2B1&b", "https", "hooks.example.com")
	f.Add("/hooks/sw", "", "")
	f.Add("/hooks/%73w?%%", "http, https", "a, b")
	f.Fuzz(func(t *testing.T, target, proto, fwdHost string) {
		if !strings.HasPrefix(target, "/hooks/sw") || strings.ContainsAny(target, " \r\n\t#") {
			return
		}
		r := &http.Request{Method: http.MethodGet, RequestURI: target, Host: "h", Header: http.Header{}}
		r.Header.Set("X-Forwarded-Proto", proto)
		r.Header.Set("X-Forwarded-Host", fwdHost)
		_, rawQuery, hasQuery := strings.Cut(target, "?")
		for _, p := range []URLPolicy{{}, {TrustForwardedHeaders: true}, {PublicBaseURL: "https://pub.example.com/p"}} {
			for _, pub := range []string{"", "https://src.example.com/cb", "https://src.example.com/"} {
				src := &Source{ID: "sw", PublicURL: pub}
				got := p.SignedURL(r, src)
				if slices.Contains(p.Alternatives(r, src, got), got) {
					t.Fatalf("alternatives repeat the signed URL %q", got)
				}
				if hasQuery && rawQuery != "" && !strings.HasSuffix(got, "?"+rawQuery) {
					t.Fatalf("raw query %q not kept in %q", rawQuery, got)
				}
				if pub != "" && !strings.HasPrefix(got, strings.TrimSuffix(pub, "/")) {
					t.Fatalf("%q does not start with public_url", got)
				}
			}
		}
	})
}

func TestBuildSourcesNamesEveryBadSource(t *testing.T) {
	cfg, err := config.Parse([]byte(`
sources:
  - {id: a, provider: vonage, tenant: t, vonage: {signature_secrets: [s], max_age: -5m}}
  - {id: b, provider: carrier-pigeon, tenant: t, carrier-pigeon: {}}
  - {id: c, provider: signalwire, tenant: t, signalwire: {signing_keys: []}}
`), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	_, err = BuildSources(cfg.Sources, providers.All(), provider.Deps{Replays: noReplays{}, Now: time.Now})
	// Each error names the key's full path and its line (config.FieldError).
	for _, field := range []string{"line 3: sources[0].vonage.max_age: ", "sources[1].provider: unknown provider", "line 5: sources[2].signalwire.signing_keys: "} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("error %v does not name %s", err, field)
		}
	}
}

func TestRemoteAddrTakesTheEntryTheTrustedProxyAdded(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/hooks/sw", nil)
	r.RemoteAddr = "10.0.0.2:41000"
	r.Header.Add("X-Forwarded-For", "203.0.113.9, 198.51.100.1")
	r.Header.Add("X-Forwarded-For", "192.0.2.44")
	for _, tc := range []struct {
		trust bool
		want  string
	}{{false, "10.0.0.2:41000"}, {true, "192.0.2.44"}} {
		s := &Server{o: Options{URLs: URLPolicy{TrustForwardedHeaders: tc.trust}}}
		if got := s.remoteAddr(r); got != tc.want {
			t.Errorf("trust=%v: remote address %q, want %q (a client-written entry must not count)", tc.trust, got, tc.want)
		}
	}
}
