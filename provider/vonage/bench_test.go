package vonage

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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

// largeForm is an urlencoded body of exactly size bytes: the signed SMS
// receipt fields first, then "p<i>=v" up to n parameters in all, the last
// value padded to reach size. It carries a well-formed sig no secret makes.
func largeForm(n, size int) string {
	var b strings.Builder
	b.Grow(size)
	params := smsReceiptParams(testNow)
	for _, p := range params {
		b.WriteString(url.QueryEscape(p.Name) + "=" + url.QueryEscape(p.Value) + "&")
	}
	b.WriteString("sig=" + strings.Repeat("0", 32))
	for i := len(params) + 1; i < n; i++ {
		b.WriteString("&p" + strconv.FormatInt(int64(i), 36) + "=v")
	}
	for b.Len() < size {
		b.WriteByte('x')
	}
	return b.String()
}

// largeJSON is largeForm as a JSON object of strings.
func largeJSON(n, size int) []byte {
	params, err := provider.ParseParams(largeForm(n, size-2*n-n/2))
	if err != nil {
		panic(err)
	}
	body := queryJSON(params)
	for len(body) < size {
		body = append(body[:len(body)-2], 'x', '"', '}')
	}
	return body
}

// bigInbound is an inbound SMS whose text makes the signed form about size
// bytes.
func bigInbound(size int) []provider.Param {
	p := smsInboundParams(testNow)
	p[3].Value = strings.Repeat("x", size-300)
	return p
}

// BenchmarkVerifyLarge compares, in one run, accepting genuine small
// callbacks with rejecting forged 1 MiB ones, for both schemes and two
// configured secrets.
func BenchmarkVerifyLarge(b *testing.B) {
	const mib = 1 << 20
	jwtBody := []byte(messagesStatusJSON)
	wrongSecret := "not-a-configured-secret-0123456789abcdef0123456789"
	forgedJWT := func(body []byte) http.Header {
		return bearer(mustToken(b, wrongSecret, testNow, "forged", body))
	}
	form := "application/x-www-form-urlencoded"
	bigJSON := []byte(strings.Replace(messagesStatusJSON, `"status":"`, `"client_ref":"`+strings.Repeat("x", mib-len(messagesStatusJSON))+`","status":"`, 1))
	cases := []struct {
		name   string
		req    *provider.Request
		accept bool
	}{
		{"genuine-small-jwt", request(http.MethodPost, "", "application/json", bearer(mustToken(b, testSecret2, testNow, "bench", jwtBody)), jwtBody), true},
		{"genuine-small-sms", request(http.MethodGet, mustSMS(b, SMSMethodMD5Hash, testSecret2, smsReceiptParams(testNow)), "", nil, nil), true},
		{"genuine-1MiB-sms-form", request(http.MethodPost, "", form, nil, []byte(mustSMS(b, SMSMethodMD5Hash, testSecret2, bigInbound(mib)))), true},
		{"genuine-1MiB-jwt-json", request(http.MethodPost, "", "application/json", bearer(mustToken(b, testSecret2, testNow, "bench", bigJSON)), bigJSON), true},
		{"forged-1MiB-150k-params-sms-form", request(http.MethodPost, "", form, nil, []byte(largeForm(150_000, mib))), false},
		{"forged-1MiB-1000-params-sms-form", request(http.MethodPost, "", form, nil, []byte(largeForm(1000, mib))), false},
		{"forged-1MiB-50k-members-sms-json", request(http.MethodPost, "", "application/json", nil, largeJSON(50_000, mib)), false},
		{"forged-1MiB-150k-params-jwt-form", request(http.MethodPost, "", form, forgedJWT([]byte(largeForm(150_000, mib))), []byte(largeForm(150_000, mib))), false},
		{"forged-1MiB-50k-members-jwt-json", request(http.MethodPost, "", "application/json", forgedJWT(largeJSON(50_000, mib)), largeJSON(50_000, mib)), false},
	}
	v := newVerifier(testSource, fuzzSettings(), provider.Deps{Replays: alwaysFirst{}})
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.req.Body) + len(tc.req.URL)))
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
