package signalwire

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"

	"github.com/hookledger/hookledger/provider"
)

func benchmarkVerify(b *testing.B, req *provider.Request, keys ...string) {
	v := newTestVerifier(b, keys...)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.Verify(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifySchemeA(b *testing.B) {
	req := signA(formPost(publicURL, messageStatusForm("delivered").Encode()), keyCurrent, publicURL, false)
	benchmarkVerify(b, req, keyCurrent)
}

func BenchmarkVerifySchemeASHA256(b *testing.B) {
	req := signA(formPost(publicURL, callStatusForm("completed").Encode()), keyCurrent, publicURL, true)
	benchmarkVerify(b, req, keyCurrent)
}

func BenchmarkVerifySchemeBForm(b *testing.B) {
	form := messageStatusForm("delivered")
	req := signBForm(formPost(publicURL, form.Encode()), HeaderSignature, keyCurrent, publicURL, form)
	benchmarkVerify(b, req, keyCurrent)
}

func BenchmarkVerifySchemeBGet(b *testing.B) {
	u := publicURL + "?" + messageStatusForm("delivered").Encode()
	req := signBForm(get(u), HeaderTwilioSignature, keyCurrent, u, nil)
	benchmarkVerify(b, req, keyCurrent)
}

func BenchmarkVerifySchemeBJSON(b *testing.B) {
	u, sig := SignSchemeBJSON(keyCurrent, publicURL, []byte(jsonMessageBody))
	req := jsonPost(u, jsonMessageBody)
	req.Header.Set(HeaderSignature, sig)
	benchmarkVerify(b, req, keyCurrent)
}

// BenchmarkVerifySchemeBFormRotated is the worst accepting case: the
// request is signed with the second key over the port variant.
func BenchmarkVerifySchemeBFormRotated(b *testing.B) {
	form := messageStatusForm("delivered")
	req := signBForm(formPost(publicURL, form.Encode()), HeaderSignature, keyPrevious, "https://hooks.example.com:443/hooks/sw-main", form)
	benchmarkVerify(b, req, keyCurrent, keyPrevious)
}

// BenchmarkVerifyRejectNearMiss measures a rejection with its diagnosis.
func BenchmarkVerifyRejectNearMiss(b *testing.B) {
	form := messageStatusForm("delivered")
	req := signBForm(formPost(publicURL, form.Encode()), HeaderSignature, keyCurrent, internalURL, form)
	req.AltURLs = provider.URLs("http://hooks.example.com/hooks/sw-main", internalURL)
	v := newTestVerifier(b, keyCurrent, keyPrevious)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(context.Background(), req); err == nil {
			b.Fatal("accepted")
		}
	}
}

func BenchmarkNormaliseMessageStatus(b *testing.B) {
	rec := formRecord(messageStatusForm("delivered"))
	p := New()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Normalise(rec); err != nil {
			b.Fatal(err)
		}
	}
}

// largeForm is an urlencoded form body of exactly size bytes made of n
// parameters "p<i>=<value>", the last value padded to reach size.
func largeForm(n, size int) string {
	var b strings.Builder
	b.Grow(size)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString("p")
		b.WriteString(strconv.FormatInt(int64(i), 36))
		b.WriteString("=v")
	}
	for b.Len() < size {
		b.WriteByte('x')
	}
	return b.String()
}

// forgedSignature is a well-formed scheme B signature no key produces.
var forgedSignature = base64.StdEncoding.EncodeToString([]byte("forged-hmac-sha1-20b"))

// ingestAlternatives are the alternative URLs ingest offers for a request
// to publicURL behind a proxy (see ingest.URLPolicy.Alternatives).
var ingestAlternatives = provider.URLs(
	"http://hooks.example.com/hooks/sw-main", "https://hooks.example.com/hooks/sw-main/",
	internalURL, "https://10.0.3.7:8080/hooks/sw-main")

// BenchmarkVerifyLarge compares, in one run, the cost of accepting a
// genuine small callback with that of rejecting forged 1 MiB ones (and of
// accepting a genuine 1 MiB one). Every request carries ingest's
// alternative URLs, and two keys are configured: a forgery pays for every
// key, URL variant, spelling and the diagnosis.
func BenchmarkVerifyLarge(b *testing.B) {
	const mib = 1 << 20
	small := messageStatusForm("delivered")
	bigBody := messageStatusForm("delivered")
	bigBody.Set("Body", strings.Repeat("x", mib-len(small.Encode())))
	cases := []struct {
		name   string
		req    *provider.Request
		accept bool
	}{
		{"genuine-small", signBForm(formPost(publicURL, small.Encode()), HeaderSignature, keyCurrent, publicURL, small), true},
		{"genuine-1MiB-9-params", signBForm(formPost(publicURL, bigBody.Encode()), HeaderSignature, keyCurrent, publicURL, bigBody), true},
		{"forged-1MiB-150k-params", formPost(publicURL, largeForm(150_000, mib)), false},
		{"genuine-1MiB-9-params-rotated-port", signBForm(formPost(publicURL, bigBody.Encode()), HeaderSignature, keyPrevious, "https://hooks.example.com:443/hooks/sw-main", bigBody), true},
		{"forged-1MiB-1000-params", formPost(publicURL, largeForm(1000, mib)), false},
		// Every spelling differs from the first byte on: a name beyond the
		// BMP first in UTF-16 order, then a repeated name with a duplicate.
		{"forged-1MiB-1000-params-6-spellings", formPost(publicURL, "%EF%BD%A1=1&%F0%9F%98%80=1&0=b&0=a&0=a&"+largeForm(995, mib-40)), false},
	}
	v := newTestVerifier(b, keyCurrent, keyPrevious)
	for _, tc := range cases {
		if !tc.accept {
			tc.req.Header.Set(HeaderSignature, forgedSignature)
		}
		tc.req.AltURLs = ingestAlternatives
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.req.Body)))
			b.ReportAllocs()
			for b.Loop() {
				_, err := v.Verify(context.Background(), tc.req)
				if (err == nil) != tc.accept {
					b.Fatalf("Verify = %v, want accepted %v", err, tc.accept)
				}
			}
		})
	}
}
