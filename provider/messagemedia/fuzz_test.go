package messagemedia

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/schema"
)

// independentVerify checks a signature over signed bytes without any of the
// package's verification code, so fuzz assertions do not trust the code
// under test.
func independentVerify(pub *rsa.PublicKey, digest string, sig, signed []byte) bool {
	var sum []byte
	var h crypto.Hash
	switch strings.ToUpper(digest) {
	case "SHA224":
		s := sha256.Sum224(signed)
		sum, h = s[:], crypto.SHA224
	case "SHA256":
		s := sha256.Sum256(signed)
		sum, h = s[:], crypto.SHA256
	case "SHA512":
		s := sha512.Sum512(signed)
		sum, h = s[:], crypto.SHA512
	default:
		return false
	}
	return rsa.VerifyPKCS1v15(pub, h, sum, sig) == nil
}

// FuzzVerify mutates every part of genuine signed requests. Whatever the
// input, Verify must not panic, must return either success or a
// *provider.Rejection with a valid reason, and may only succeed when the
// signature independently verifies, with the key the KeyID names, over the
// request line rebuilt from the fuzzed method/URL/protocol + Date + body.
func FuzzVerify(f *testing.F) {
	keys := fixtureKeys()
	byID := map[string]*rsa.PublicKey{keyIDPrimary: &keys.primary.PublicKey, keyIDPinned: &keys.pinned.PublicKey}
	for _, tc := range verifyCases() {
		if tc.maxSkew != "" {
			continue
		}
		req := tc.build(f, keys)
		h := func(name string) string { return headerValue(req.Header, name) }
		f.Add(req.Method, req.URL, req.Proto, h(HeaderKeyID), h(HeaderCipherType), h(HeaderDigestType),
			h(HeaderSignature), h(HeaderDate), req.Body)
	}
	v := newTestVerifier(f, "")

	f.Fuzz(func(t *testing.T, method, url, proto, keyID, cipher, digest, signature, date string, body []byte) {
		header := http.Header{}
		for name, value := range map[string]string{
			HeaderKeyID: keyID, HeaderCipherType: cipher, HeaderDigestType: digest,
			HeaderSignature: signature, HeaderDate: date,
		} {
			if value != "" {
				header.Set(name, value)
			}
		}
		req := &provider.Request{
			Method: method, Proto: proto, URL: url, Header: header, Body: body, ReceivedAt: receivedAt,
			AltURLs: provider.URLs("https://hooks.example.com/mm" + RequestURI(url)),
		}
		got, err := v.Verify(context.Background(), req)
		if err != nil {
			var rej *provider.Rejection
			if !errors.As(err, &rej) || !rej.Reason.Valid() {
				t.Fatalf("Verify returned a non-rejection error: %v", err)
			}
			return
		}
		pub := byID[strings.ToLower(strings.TrimSpace(keyID))]
		if pub == nil || !strings.EqualFold(got.KeyID, strings.TrimSpace(keyID)) {
			t.Fatalf("accepted with KeyID %q for header key id %q", got.KeyID, keyID)
		}
		sig, decErr := base64.StdEncoding.DecodeString(strings.TrimSpace(signature))
		if decErr != nil {
			sig, decErr = base64.RawStdEncoding.DecodeString(strings.TrimRight(strings.Join(strings.Fields(signature), ""), "="))
			if decErr != nil {
				sig, _ = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(signature), ""))
			}
		}
		uri := RequestURI(url)
		ok := false
		for _, p := range []string{proto, "HTTP/1.1"} {
			if independentVerify(pub, strings.TrimSpace(digest), sig, SignedBytes(method+" "+uri+" "+p, header.Get(HeaderDate), body)) {
				ok = true
			}
		}
		if !ok {
			t.Fatalf("accepted a request whose signature does not verify independently: %s %q", method, url)
		}
		signedAt, perr := http.ParseTime(strings.TrimSpace(date))
		if perr != nil || receivedAt.Sub(signedAt).Abs() > DefaultMaxSkew {
			t.Fatalf("accepted Date %q outside the window", date)
		}
	})
}

// FuzzParsePublicKey: no panics; whatever parses is a usable RSA key that
// round-trips through the key API's encoding.
func FuzzParsePublicKey(f *testing.F) {
	pub := &fixtureKeys().pinned.PublicKey
	b64, _ := PublicKeyBase64(pub)
	pemText, _ := PublicKeyPEM(pub)
	for _, seed := range []string{b64, pemText, "", "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n", "MIIBIjANBgkqh", "!!"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		key, err := ParsePublicKey(text)
		if err != nil {
			if key != nil {
				t.Fatal("key and error both returned")
			}
			return
		}
		if key == nil || key.N == nil || key.N.Sign() <= 0 {
			t.Fatalf("parsed a degenerate key from %q", text)
		}
		again, err := PublicKeyBase64(key)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		back, err := ParsePublicKey(again)
		if err != nil || !back.Equal(key) {
			t.Fatalf("round trip failed: %v", err)
		}
	})
}

// FuzzRequestURI: no panics; the result is always origin-form ("/...") and
// an origin-form input is returned unchanged (nothing decoded/re-encoded).
func FuzzRequestURI(f *testing.F) {
	for _, seed := range []string{hookURL, "https://h", "https://h?x", "/a?b=c", "", "?x", "mailto:x", "a://b://c/d", "1http://x/y"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, url string) {
		got := RequestURI(url)
		if !strings.HasPrefix(got, "/") {
			t.Fatalf("RequestURI(%q) = %q, not origin-form", url, got)
		}
		if strings.HasPrefix(url, "/") && got != url {
			t.Fatalf("RequestURI(%q) = %q, changed an origin-form URI", url, got)
		}
		if !strings.HasSuffix(url, got) && !strings.HasSuffix(url, got[1:]) {
			t.Fatalf("RequestURI(%q) = %q is not a suffix of the input", url, got)
		}
	})
}

// FuzzNormalise: no panics; a failure is always ErrUnusable; a success is
// exactly one row with a provider-prefixed dedup key, a vocabulary status
// whose rank matches, and UTC times.
func FuzzNormalise(f *testing.F) {
	seeds := []struct{ method, contentType, url, body string }{
		{http.MethodPost, "application/json", hookURL, deliveryReportBody},
		{http.MethodPost, "application/json", hookURL, replyBody},
		{http.MethodPost, "application/x-www-form-urlencoded", hookURL, "delivery_report_id=d2&message_id=m2&status=delivered"},
		{http.MethodGet, "", hookURL + "&delivery_report_id=d3&message_id=m3&status=expired", ""},
		{http.MethodPost, "", hookURL, `{"reply_id":1,"message_id":null,"content":{"x":1}}`},
		{http.MethodPost, "application/json", hookURL, `[]`},
	}
	for _, s := range seeds {
		f.Add(s.method, s.contentType, s.url, s.body)
	}
	p := New()
	f.Fuzz(func(t *testing.T, method, contentType, url, body string) {
		rec := &schema.Record{
			Version: schema.RecordVersion, ID: uuid.MustParse("0190a6f2-7b3c-7d4e-8f00-0123456789ab"),
			ReceivedAt: time.Date(2024, 4, 4, 18, 32, 15, 0, time.FixedZone("AEST", 10*3600)),
			Source:     "mm-main", Provider: Name, Tenant: "acme", Method: method, URL: url,
			Headers: http.Header{"Content-Type": {contentType}}, Body: []byte(body),
		}
		n, err := p.Normalise(rec)
		if err != nil {
			if !errors.Is(err, provider.ErrUnusable) {
				t.Fatalf("error does not wrap ErrUnusable: %v", err)
			}
			return
		}
		switch {
		case len(n.Messages) == 1 && len(n.Replies) == 0 && len(n.Calls) == 0:
			ev := n.Messages[0]
			rank, known := schema.MessageStatusRank(ev.Status)
			if !known || rank != ev.StatusRank || !strings.HasPrefix(ev.DedupKey, "messagemedia:dr:") ||
				ev.DedupKey == "messagemedia:dr:" || ev.MessageID == "" {
				t.Fatalf("bad message event %+v", ev)
			}
			if ev.OccurredAt.Location() != time.UTC || ev.ReceivedAt.Location() != time.UTC {
				t.Fatalf("non-UTC times %+v", ev)
			}
		case len(n.Replies) == 1 && len(n.Messages) == 0 && len(n.Calls) == 0:
			r := n.Replies[0]
			if r.DedupKey != "messagemedia:reply:"+r.ReplyID || r.ReplyID == "" {
				t.Fatalf("bad reply %+v", r)
			}
			if r.OccurredAt.Location() != time.UTC || r.ReceivedAt.Location() != time.UTC {
				t.Fatalf("non-UTC times %+v", r)
			}
		default:
			t.Fatalf("want exactly one row, got %+v", n)
		}
	})
}
