package signalwire

import (
	"context"
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
