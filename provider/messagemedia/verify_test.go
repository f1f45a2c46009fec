package messagemedia

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/schema"
)

type verifyCase struct {
	name string
	// build returns the request; it starts from genuine signed requests and
	// mutates them the way a misconfiguration or a forger would.
	build      func(t testing.TB, k testKeys) *provider.Request
	maxSkew    string        // "" = default
	wantReason schema.Reason // "" = accepted
	wantKeyID  string
	// wantDetail are substrings the operator diagnosis must contain.
	wantDetail []string
}

func dr(t testing.TB, k testKeys) *provider.Request {
	return signedRequest(t, k.primary, keyIDPrimary, DigestSHA256, http.MethodPost, hookURL, deliveryReportBody, -2*time.Second)
}

func without(req *provider.Request, header string) *provider.Request {
	req.Header.Del(header)
	return req
}

func with(req *provider.Request, header, value string) *provider.Request {
	req.Header.Set(header, value)
	return req
}

func verifyCases() []verifyCase {
	return []verifyCase{
		// Accepted.
		{
			name: "delivery report SHA256 2048-bit", build: dr, wantKeyID: keyIDPrimary,
		},
		{
			name: "delivery report SHA224",
			build: func(t testing.TB, k testKeys) *provider.Request {
				return signedRequest(t, k.primary, keyIDPrimary, DigestSHA224, http.MethodPost, hookURL, deliveryReportBody, 0)
			},
			wantKeyID: keyIDPrimary,
		},
		{
			name: "delivery report SHA512 on the second (rotated-in) key, pinned and matching",
			build: func(t testing.TB, k testKeys) *provider.Request {
				return signedRequest(t, k.pinned, keyIDPinned, DigestSHA512, http.MethodPost, hookURL, deliveryReportBody, 0)
			},
			wantKeyID: keyIDPinned,
		},
		{
			name: "reply",
			build: func(t testing.TB, k testKeys) *provider.Request {
				return signedRequest(t, k.primary, keyIDPrimary, DigestSHA256, http.MethodPost, hookURL, replyBody, -time.Second)
			},
			wantKeyID: keyIDPrimary,
		},
		{
			name: "received over HTTP/2, signed as HTTP/1.1",
			build: func(t testing.TB, k testKeys) *provider.Request {
				req := dr(t, k)
				req.Proto = "HTTP/2.0"
				return req
			},
			wantKeyID: keyIDPrimary,
		},
		{
			name: "received over HTTP/1.0, signed as received",
			build: func(t testing.TB, k testKeys) *provider.Request {
				req := dr(t, k)
				req.Proto = "HTTP/1.0"
				if err := SignRequest(req, k.primary, keyIDPrimary, DigestSHA256, receivedAt); err != nil {
					t.Fatal(err)
				}
				return req
			},
			wantKeyID: keyIDPrimary,
		},
		{
			name: "key id and digest in another case",
			build: func(t testing.TB, k testKeys) *provider.Request {
				req := with(dr(t, k), HeaderKeyID, strings.ToUpper(keyIDPrimary))
				return with(req, HeaderDigestType, "sha256")
			},
			wantKeyID: keyIDPrimary,
		},
		{
			name: "non-canonical header map (record replay)",
			build: func(t testing.TB, k testKeys) *provider.Request {
				req := dr(t, k)
				h := http.Header{}
				for name, vs := range req.Header {
					h[strings.ToLower(name)] = vs
				}
				req.Header = h
				return req
			},
			wantKeyID: keyIDPrimary,
		},
		{
			name: "Date in RFC 850 form, signed as sent",
			build: func(t testing.TB, k testKeys) *provider.Request {
				req := dr(t, k)
				date := receivedAt.Format(time.RFC850)
				line := RequestLine(req.Method, RequestURI(req.URL), "HTTP/1.1")
				sig, err := Sign(k.primary, DigestSHA256, line, date, req.Body)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set(HeaderDate, date)
				req.Header.Set(HeaderSignature, sig)
				return req
			},
			wantKeyID: keyIDPrimary,
		},
		{
			name: "GET with percent-encoded path and query signed verbatim",
			build: func(t testing.TB, k testKeys) *provider.Request {
				return signedRequest(t, k.primary, keyIDPrimary, DigestSHA256, http.MethodGet,
					"https://hooks.example.com/hooks/mm-main/dr%20x?to=%2B61491570157&note=a+b&x=%7e", "", 0)
			},
			wantKeyID: keyIDPrimary,
		},
		{
			name: "URL without path or query",
			build: func(t testing.TB, k testKeys) *provider.Request {
				return signedRequest(t, k.primary, keyIDPrimary, DigestSHA256, http.MethodPost, "http://127.0.0.1:8080", deliveryReportBody, 0)
			},
			wantKeyID: keyIDPrimary,
		},
		{
			name: "Date exactly max_skew old is inside the window",
			build: func(t testing.TB, k testKeys) *provider.Request {
				return signedRequest(t, k.primary, keyIDPrimary, DigestSHA256, http.MethodPost, hookURL, deliveryReportBody, -5*time.Minute)
			},
			wantKeyID: keyIDPrimary,
		},
		{
			name: "old Date with max_skew 0s (disabled)", maxSkew: "0s",
			build: func(t testing.TB, k testKeys) *provider.Request {
				return signedRequest(t, k.primary, keyIDPrimary, DigestSHA256, http.MethodPost, hookURL, deliveryReportBody, -72*time.Hour)
			},
			wantKeyID: keyIDPrimary,
		},

		// missing_signature
		{
			name: "no signature header", wantReason: schema.ReasonMissingSignature,
			build: func(t testing.TB, k testKeys) *provider.Request { return without(dr(t, k), HeaderSignature) },
		},
		{
			name: "empty signature header", wantReason: schema.ReasonMissingSignature,
			build: func(t testing.TB, k testKeys) *provider.Request { return with(dr(t, k), HeaderSignature, "  ") },
		},
		{
			name: "unsigned callback: missing_signature beats malformed", wantReason: schema.ReasonMissingSignature,
			build: func(t testing.TB, k testKeys) *provider.Request {
				req := dr(t, k)
				for _, h := range []string{HeaderSignature, HeaderKeyID, HeaderCipherType, HeaderDigestType, HeaderDate} {
					req.Header.Del(h)
				}
				return req
			},
		},

		// malformed
		{
			name: "no key id", wantReason: schema.ReasonMalformed, wantDetail: []string{"missing " + HeaderKeyID},
			build: func(t testing.TB, k testKeys) *provider.Request { return without(dr(t, k), HeaderKeyID) },
		},
		{
			name: "no cipher type", wantReason: schema.ReasonMalformed, wantDetail: []string{HeaderCipherType},
			build: func(t testing.TB, k testKeys) *provider.Request { return without(dr(t, k), HeaderCipherType) },
		},
		{
			name: "no digest type", wantReason: schema.ReasonMalformed, wantDetail: []string{HeaderDigestType},
			build: func(t testing.TB, k testKeys) *provider.Request { return without(dr(t, k), HeaderDigestType) },
		},
		{
			name: "no Date", wantReason: schema.ReasonMalformed, wantDetail: []string{"missing Date"},
			build: func(t testing.TB, k testKeys) *provider.Request { return without(dr(t, k), HeaderDate) },
		},
		{
			name: "Date not an HTTP date", wantReason: schema.ReasonMalformed, wantDetail: []string{"not an HTTP date"},
			build: func(t testing.TB, k testKeys) *provider.Request {
				return with(dr(t, k), HeaderDate, "2024-04-04T18:32:13Z")
			},
		},
		{
			name: "genuinely signed JSON body that is not JSON", wantReason: schema.ReasonMalformed, wantDetail: []string{"not valid JSON"},
			build: func(t testing.TB, k testKeys) *provider.Request {
				return signedRequest(t, k.primary, keyIDPrimary, DigestSHA256, http.MethodPost, hookURL, `{"message_id":`, 0)
			},
		},
		{
			name: "unparseable body beats an unknown key", wantReason: schema.ReasonMalformed,
			build: func(t testing.TB, k testKeys) *provider.Request {
				return with(signedRequest(t, k.primary, keyIDPrimary, DigestSHA256, http.MethodPost, hookURL, `{"message_id":`, 0), HeaderKeyID, keyIDUnknown)
			},
		},
		{
			name: "bad Date beats unsupported cipher and unknown key", wantReason: schema.ReasonMalformed,
			build: func(t testing.TB, k testKeys) *provider.Request {
				req := with(dr(t, k), HeaderDate, "yesterday")
				req = with(req, HeaderCipherType, "DSA")
				return with(req, HeaderKeyID, keyIDUnknown)
			},
		},

		// unsupported_algorithm
		{
			name: "cipher not RSA", wantReason: schema.ReasonUnsupportedAlgorithm, wantDetail: []string{`"ECDSA"`},
			build: func(t testing.TB, k testKeys) *provider.Request { return with(dr(t, k), HeaderCipherType, "ECDSA") },
		},
		{
			name: "digest not SHA224/256/512", wantReason: schema.ReasonUnsupportedAlgorithm, wantDetail: []string{`"SHA1"`},
			build: func(t testing.TB, k testKeys) *provider.Request { return with(dr(t, k), HeaderDigestType, "SHA1") },
		},
		{
			name: "unsupported digest beats unknown key", wantReason: schema.ReasonUnsupportedAlgorithm,
			build: func(t testing.TB, k testKeys) *provider.Request {
				return with(with(dr(t, k), HeaderDigestType, "MD5"), HeaderKeyID, keyIDUnknown)
			},
		},
		{
			name: "genuine SHA256 signature on a key pinned to SHA512", wantReason: schema.ReasonUnsupportedAlgorithm,
			wantDetail: []string{"pinned to SHA512"},
			build: func(t testing.TB, k testKeys) *provider.Request {
				return signedRequest(t, k.pinned, keyIDPinned, DigestSHA256, http.MethodPost, hookURL, deliveryReportBody, 0)
			},
		},

		// unknown_key
		{
			name: "key id not configured", wantReason: schema.ReasonUnknownKey,
			wantDetail: []string{keyIDUnknown, "configured: " + keyIDPinned + ", " + keyIDPrimary},
			build: func(t testing.TB, k testKeys) *provider.Request {
				return signedRequest(t, k.rogue, keyIDUnknown, DigestSHA256, http.MethodPost, hookURL, deliveryReportBody, 0)
			},
		},
		{
			name: "unknown key beats bad signature and stale Date", wantReason: schema.ReasonUnknownKey,
			build: func(t testing.TB, k testKeys) *provider.Request {
				req := signedRequest(t, k.rogue, keyIDUnknown, DigestSHA256, http.MethodPost, hookURL, deliveryReportBody, -time.Hour)
				req.Body = []byte(`{"forged":true}`)
				return req
			},
		},

		// bad_signature
		{
			name: "signature not base64", wantReason: schema.ReasonBadSignature, wantDetail: []string{"not valid base64"},
			build: func(t testing.TB, k testKeys) *provider.Request {
				return with(dr(t, k), HeaderSignature, "!!not*base64!!")
			},
		},
		{
			name: "signed by another key under a configured id", wantReason: schema.ReasonBadSignature,
			wantDetail: []string{"signature is 128 bytes but a 2048-bit key signs 256 bytes"},
			build: func(t testing.TB, k testKeys) *provider.Request {
				return signedRequest(t, k.rogue, keyIDPrimary, DigestSHA256, http.MethodPost, hookURL, deliveryReportBody, 0)
			},
		},
		{
			name: "body altered", wantReason: schema.ReasonBadSignature,
			wantDetail: []string{`"POST /hooks/mm-main?x=1 HTTP/1.1"`},
			build: func(t testing.TB, k testKeys) *provider.Request {
				req := dr(t, k)
				req.Body = []byte(strings.Replace(string(req.Body), `"status":"delivered"`, `"status":"failed"`, 1))
				return req
			},
		},
		{
			name: "Date altered but still fresh", wantReason: schema.ReasonBadSignature,
			build: func(t testing.TB, k testKeys) *provider.Request {
				return with(dr(t, k), HeaderDate, receivedAt.Add(-time.Second).Format(http.TimeFormat))
			},
		},
		{
			name: "digest header changed to another supported digest", wantReason: schema.ReasonBadSignature,
			build: func(t testing.TB, k testKeys) *provider.Request {
				return with(dr(t, k), HeaderDigestType, DigestSHA512)
			},
		},
		{
			name: "method altered", wantReason: schema.ReasonBadSignature,
			build: func(t testing.TB, k testKeys) *provider.Request {
				req := dr(t, k)
				req.Method = http.MethodPut
				return req
			},
		},
		{
			name: "query signed decoded, received encoded", wantReason: schema.ReasonBadSignature,
			build: func(t testing.TB, k testKeys) *provider.Request {
				req := signedRequest(t, k.primary, keyIDPrimary, DigestSHA256, http.MethodGet,
					"https://hooks.example.com/hooks/mm-main?to=+61491570157", "", 0)
				req.URL = "https://hooks.example.com/hooks/mm-main?to=%2B61491570157"
				return req
			},
		},
		{
			name: "near miss: provider signed the proxy's path prefix", wantReason: schema.ReasonBadSignature,
			wantDetail: []string{"NEAR MISS", `"POST /mm/hooks/mm-main?x=1 HTTP/1.1"`, "https://hooks.example.com/mm/hooks/mm-main?x=1"},
			build: func(t testing.TB, k testKeys) *provider.Request {
				req := signedRequest(t, k.primary, keyIDPrimary, DigestSHA256, http.MethodPost,
					"https://hooks.example.com/mm/hooks/mm-main?x=1", deliveryReportBody, 0)
				req.AltURLs = provider.URLs(
					"http://hooks.example.com/hooks/mm-main?x=1", // same request-URI: skipped
					"https://hooks.example.com/mm/hooks/mm-main?x=1",
				)
				req.URL = hookURL
				return req
			},
		},
		{
			name: "alternative URLs tried, none verifies", wantReason: schema.ReasonBadSignature,
			wantDetail: []string{"alternative request lines tried", `"POST /mm/hooks/mm-main?x=1 HTTP/2.0"`, "none verified"},
			build: func(t testing.TB, k testKeys) *provider.Request {
				req := dr(t, k)
				req.Body = append(req.Body, ' ')
				req.Proto = "HTTP/2.0"
				req.AltURLs = provider.URLs("https://hooks.example.com/mm/hooks/mm-main?x=1")
				return req
			},
		},
		{
			name: "bad signature beats stale Date", wantReason: schema.ReasonBadSignature,
			build: func(t testing.TB, k testKeys) *provider.Request {
				req := signedRequest(t, k.primary, keyIDPrimary, DigestSHA256, http.MethodPost, hookURL, deliveryReportBody, -time.Hour)
				req.Body = []byte(replyBody)
				return req
			},
		},

		// stale_timestamp
		{
			name: "Date too old", wantReason: schema.ReasonStaleTimestamp, wantDetail: []string{"max_skew is 5m0s"},
			build: func(t testing.TB, k testKeys) *provider.Request {
				return signedRequest(t, k.primary, keyIDPrimary, DigestSHA256, http.MethodPost, hookURL, deliveryReportBody, -5*time.Minute-time.Second)
			},
		},
		{
			name: "Date in the future", wantReason: schema.ReasonStaleTimestamp,
			build: func(t testing.TB, k testKeys) *provider.Request {
				return signedRequest(t, k.primary, keyIDPrimary, DigestSHA256, http.MethodPost, hookURL, deliveryReportBody, 10*time.Minute)
			},
		},
		{
			name: "Date outside a custom 90s window", maxSkew: "90s", wantReason: schema.ReasonStaleTimestamp,
			build: func(t testing.TB, k testKeys) *provider.Request {
				return signedRequest(t, k.primary, keyIDPrimary, DigestSHA256, http.MethodPost, hookURL, deliveryReportBody, -2*time.Minute)
			},
		},
	}
}

func TestVerify(t *testing.T) {
	keys := fixtureKeys()
	verifiers := map[string]provider.Verifier{}
	cases := verifyCases()
	reached := map[schema.Reason]bool{}
	for _, tc := range cases {
		reached[tc.wantReason] = true
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := verifiers[tc.maxSkew]
			if !ok {
				v = newTestVerifier(t, tc.maxSkew)
				verifiers[tc.maxSkew] = v
			}
			req := tc.build(t, keys)
			got, err := v.Verify(context.Background(), req)
			if tc.wantReason == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if got.KeyID != tc.wantKeyID {
					t.Fatalf("KeyID = %q, want %q", got.KeyID, tc.wantKeyID)
				}
				return
			}
			var rej *provider.Rejection
			if !errors.As(err, &rej) {
				t.Fatalf("Verify = %v, %v; want rejection %s", got, err, tc.wantReason)
			}
			t.Logf("%s: %s", rej.Reason, rej.Detail)
			if rej.Reason != tc.wantReason {
				t.Fatalf("reason = %s (%s), want %s", rej.Reason, rej.Detail, tc.wantReason)
			}
			for _, want := range tc.wantDetail {
				if !strings.Contains(rej.Detail, want) {
					t.Errorf("detail %q lacks %q", rej.Detail, want)
				}
			}
			// The diagnosis must never echo the signature.
			if sig := req.Header.Get(HeaderSignature); len(sig) > 16 && strings.Contains(rej.Detail, sig) {
				t.Errorf("detail contains the signature")
			}
		})
	}
	for _, r := range []schema.Reason{
		schema.ReasonMissingSignature, schema.ReasonMalformed, schema.ReasonUnsupportedAlgorithm,
		schema.ReasonUnknownKey, schema.ReasonBadSignature, schema.ReasonStaleTimestamp,
	} {
		if !reached[r] {
			t.Errorf("no row expects %s", r)
		}
	}
}

// TestVerifyFallsBackToDepsNow checks the Date window uses Deps.Now when the
// request carries no receive time.
func TestVerifyFallsBackToDepsNow(t *testing.T) {
	keys := fixtureKeys()
	v := newTestVerifier(t, "")
	req := signedRequest(t, keys.primary, keyIDPrimary, DigestSHA256, http.MethodPost, hookURL, deliveryReportBody, 0)
	req.ReceivedAt = time.Time{}
	if _, err := v.Verify(context.Background(), req); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

// TestSignHTTPRequest sends a request signed by SignHTTPRequest through a
// real HTTP server and verifies what the server received, the way ingest
// rebuilds it.
func TestSignHTTPRequest(t *testing.T) {
	keys := fixtureKeys()
	v := newTestVerifier(t, "")
	received := make(chan *provider.Request, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		received <- &provider.Request{
			Method: r.Method, Proto: r.Proto,
			URL:    "http://" + r.Host + r.URL.EscapedPath() + "?" + r.URL.RawQuery,
			Header: r.Header, Body: body, ReceivedAt: receivedAt,
		}
	}))
	defer srv.Close()

	httpReq, err := http.NewRequest(http.MethodPost, srv.URL+"/hooks/mm-main?x=1&to=%2B61491570157", strings.NewReader(deliveryReportBody))
	if err != nil {
		t.Fatal(err)
	}
	httpReq.Header.Set("Content-Type", "application/json")
	if err := SignHTTPRequest(httpReq, keys.primary, keyIDPrimary, DigestSHA256, receivedAt); err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(httpReq)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	got, err := v.Verify(context.Background(), <-received)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got.KeyID != keyIDPrimary {
		t.Fatalf("KeyID = %q", got.KeyID)
	}
}

func TestRequestURI(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://hooks.example.com/hooks/mm-main?x=1", "/hooks/mm-main?x=1"},
		{"https://hooks.example.com:8443/hooks/mm-main", "/hooks/mm-main"},
		{"http://user@hooks.example.com/a%2Fb?q=%7E&r=a+b", "/a%2Fb?q=%7E&r=a+b"},
		{"https://hooks.example.com", "/"},
		{"https://hooks.example.com?x=1", "/?x=1"},
		{"/hooks/mm-main?next=https://evil.example/x", "/hooks/mm-main?next=https://evil.example/x"},
		{"", "/"},
		{"?x=1", "/?x=1"},
	} {
		if got := RequestURI(tc.in); got != tc.want {
			t.Errorf("RequestURI(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSignRejectsUnknownDigest(t *testing.T) {
	if _, err := Sign(fixtureKeys().pinned, "MD5", "POST / HTTP/1.1", "x", nil); err == nil {
		t.Fatal("Sign with MD5 succeeded")
	}
}

// TestSignedBytes pins the exact signed-bytes layout of docs/signatures.md#messagemedia.
func TestSignedBytes(t *testing.T) {
	got := string(SignedBytes("POST /hooks/mm-main?x=1 HTTP/1.1", "Tue, 17 Jul 2018 04:52:31 GMT", []byte(`{"a":1}`)))
	want := `POST /hooks/mm-main?x=1 HTTP/1.1Tue, 17 Jul 2018 04:52:31 GMT{"a":1}`
	if got != want {
		t.Fatalf("SignedBytes = %q, want %q", got, want)
	}
	// Sign must sign exactly those bytes.
	k := fixtureKeys().pinned
	sigText, err := Sign(k, DigestSHA512, "POST /hooks/mm-main?x=1 HTTP/1.1", "Tue, 17 Jul 2018 04:52:31 GMT", []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := base64.StdEncoding.DecodeString(sigText)
	if !independentVerify(&k.PublicKey, DigestSHA512, sig, []byte(want)) {
		t.Fatal("signature does not verify over SignedBytes")
	}
}

func benchmarkVerify(b *testing.B, priv *rsa.PrivateKey, keyID, digest string) {
	v := newTestVerifier(b, "")
	req := signedRequest(b, priv, keyID, digest, http.MethodPost, hookURL, deliveryReportBody, 0)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.Verify(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyRSA2048SHA256(b *testing.B) {
	benchmarkVerify(b, fixtureKeys().primary, keyIDPrimary, DigestSHA256)
}

func BenchmarkVerifyRSA1024SHA512(b *testing.B) {
	benchmarkVerify(b, fixtureKeys().pinned, keyIDPinned, DigestSHA512)
}

// BenchmarkVerifyRSA2048BadSignatureNearMiss measures the rejection path with
// its diagnosis (both protocols, one alternative URL).
func BenchmarkVerifyRSA2048BadSignatureNearMiss(b *testing.B) {
	keys := fixtureKeys()
	v := newTestVerifier(b, "")
	req := signedRequest(b, keys.primary, keyIDPrimary, DigestSHA256, http.MethodPost,
		"https://hooks.example.com/mm/hooks/mm-main?x=1", deliveryReportBody, 0)
	req.URL = hookURL
	req.Proto = "HTTP/2.0"
	req.AltURLs = provider.URLs("https://hooks.example.com/mm/hooks/mm-main?x=1")
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.Verify(ctx, req); err == nil {
			b.Fatal("near miss accepted")
		}
	}
}
