package vonage

import (
	"context"
	"net/http"
	"testing"

	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/schema"
)

func benchVerify(b *testing.B, settings Settings, req *provider.Request) {
	v := newVerifier(testSource, settings, provider.Deps{Replays: alwaysFirst{}})
	ctx := context.Background()
	if _, err := v.Verify(ctx, req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.Verify(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyJWT: a Messages API status POST signed with the second of
// two secrets (the rotation worst case).
func BenchmarkVerifyJWT(b *testing.B) {
	body := []byte(messagesStatusJSON)
	tok := mustToken(b, testSecret2, testNow, "bench", body)
	benchVerify(b, fuzzSettings(), request(http.MethodPost, "", "application/json", bearer(tok), body))
}

// BenchmarkVerifyJWTGet: a Voice event GET, hashed as a JSON object of its query.
func BenchmarkVerifyJWTGet(b *testing.B) {
	payload, _ := GETPayload(voiceRingingQuery)
	tok := mustToken(b, testSecret, testNow, "bench", payload)
	benchVerify(b, fuzzSettings(), request(http.MethodGet, voiceRingingQuery, "", bearer(tok), nil))
}

// BenchmarkVerifySMS: a signed SMS API delivery receipt GET, per method.
func BenchmarkVerifySMS(b *testing.B) {
	for _, method := range smsMethods {
		b.Run(method, func(b *testing.B) {
			s := fuzzSettings()
			s.SMSSignatureMethod = method
			q := mustSMS(b, method, testSecret, smsReceiptParams(testNow))
			benchVerify(b, s, request(http.MethodGet, q, "", nil, nil))
		})
	}
}

// BenchmarkVerifySMSJSON: the same receipt as a JSON POST.
func BenchmarkVerifySMSJSON(b *testing.B) {
	p := smsReceiptParams(testNow)
	body := jsonOf(p, mustSig(b, SMSMethodMD5Hash, testSecret, p))
	benchVerify(b, fuzzSettings(), request(http.MethodPost, "", "application/json", nil, body))
}

func BenchmarkNormalise(b *testing.B) {
	for name, rec := range map[string]*schema.Record{
		"messages": jsonRecord(messagesStatusJSON),
		"sms-dlr":  record(http.MethodGet, smsReceiptQuery("delivered", "0"), "", ""),
		"voice":    jsonRecord(voiceEventJSON("completed", `,"duration":"13","price":"0.001"`)),
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := New().Normalise(rec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
