package vonage

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/schema"
)

// Realistic payloads, shaped as the providers document them.
const (
	messagesStatusJSON = `{"message_uuid":"aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab","to":"447700900000","from":"447700900001",` +
		`"timestamp":"2024-04-04T18:32:10.123Z","status":"delivered","channel":"sms","client_ref":"order-1234",` +
		`"usage":{"currency":"EUR","price":"0.0333"},"destination":{"network_code":"23410"},"sms":{"count_total":"1"}}`
	messagesStatusPretty = "{\n  \"message_uuid\": \"aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab\",\n  \"status\": \"submitted\",\n" +
		"  \"to\": \"447700900000\",\n  \"from\": \"447700900001\",\n  \"timestamp\": \"2024-04-04T18:32:10.123Z\"\n}\n"
	voiceAnsweredJSON = `{"from":"447700900000","to":"447700900001","uuid":"63f61863-4a51-4f6b-86e1-46edebcf9356",` +
		`"conversation_uuid":"CON-f972836a-550f-45fa-956c-12a2ab5b7d22","status":"answered","direction":"outbound",` +
		`"timestamp":"2024-04-04T18:32:12.000Z"}`
	voiceRingingQuery = "from=447700900000&to=447700900001&uuid=63f61863-4a51-4f6b-86e1-46edebcf9356" +
		"&conversation_uuid=CON-f972836a-550f-45fa-956c-12a2ab5b7d22&status=ringing&direction=inbound" +
		"&timestamp=2024-04-04T18%3A32%3A10.000Z&note=a%26b%3Cc%3E"
)

// smsReceiptParams is a signed SMS API delivery receipt without its sig.
func smsReceiptParams(ts time.Time) []provider.Param {
	return []provider.Param{
		{Name: "msisdn", Value: "447700900000"},
		{Name: "to", Value: "AcmeInc"},
		{Name: "network-code", Value: "23410"},
		{Name: "messageId", Value: "0A0000001234567B"},
		{Name: "price", Value: "0.03330000"},
		{Name: "status", Value: "delivered"},
		{Name: "scts", Value: "2404041832"},
		{Name: "err-code", Value: "0"},
		{Name: "api-key", Value: testAPIKey},
		{Name: "client-ref", Value: "order=1234&x"},
		{Name: "message-timestamp", Value: "2024-04-04 18:32:12"},
		{Name: "timestamp", Value: fmt.Sprint(ts.Unix())},
		{Name: "nonce", Value: "6d8c5a87-2b8e-4a4b-9a8e-8e6b1c2d3f4a"},
	}
}

// smsInboundParams is a signed SMS API inbound message without its sig.
func smsInboundParams(ts time.Time) []provider.Param {
	return []provider.Param{
		{Name: "msisdn", Value: "447700900000"},
		{Name: "to", Value: "447700900001"},
		{Name: "messageId", Value: "1600000000DEAD01"},
		{Name: "text", Value: "Yes please & thank you = 100%"},
		{Name: "type", Value: "text"},
		{Name: "keyword", Value: "YES"},
		{Name: "api-key", Value: testAPIKey},
		{Name: "message-timestamp", Value: "2024-04-04 18:32:11"},
		{Name: "timestamp", Value: fmt.Sprint(ts.Unix())},
		{Name: "nonce", Value: "aa0b2c3d-1111-4222-8333-444455556666"},
	}
}

// jsonOf renders params as a JSON object of strings (the SMS API JSON POST).
func jsonOf(params []provider.Param, sig string) []byte {
	if sig != "" {
		params = append(append([]provider.Param(nil), params...), provider.Param{Name: "sig", Value: sig})
	}
	return queryJSON(params)
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// rawToken assembles a token from literal header and claims JSON, signed
// with HMAC-SHA256(secret) whatever the header says.
func rawToken(header, claims, secret string) string {
	signing := b64(header) + "." + b64(claims)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func claimsJSON(iat time.Time, jti, iss, apiKey string, payload []byte) string {
	return fmt.Sprintf(`{"iat":%d,"jti":%q,"iss":%q,"api_key":%q,"application_id":"9b1c9a1e-1234-4d4e-8f00-6a7b8c9d0e1f","payload_hash":%q}`,
		iat.Unix(), jti, iss, apiKey, PayloadHash(payload))
}

func mustToken(t testing.TB, secret string, iat time.Time, jti string, payload []byte) string {
	t.Helper()
	tok, err := SignCallbackJWT(secret, testAPIKey, jti, iat, payload)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func mustSMS(t testing.TB, method, secret string, params []provider.Param) string {
	t.Helper()
	form, err := SignSMSForm(method, secret, params)
	if err != nil {
		t.Fatal(err)
	}
	return form
}

func mustSig(t testing.TB, method, secret string, params []provider.Param) string {
	t.Helper()
	sig, err := SignSMS(method, secret, params)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// Tokens signed by jsonwebtoken (the signer and validator of @vonage/jwt
// 1.17.1) with HS256 and testSecret over sdkJWTBody, iat 5 s before
// testNow; sdkValid is what @vonage/jwt's verifySignature answers with its
// clock at testNow.
const (
	sdkJWTBody   = `{"message_uuid":"aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab","to":"447700900000","from":"447700900001","timestamp":"2024-04-04T18:32:10.123Z","status":"delivered"}`
	sdkExpPast   = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE3MTIyNTU1MzAsImp0aSI6ImV4cC1wYXN0IiwiaXNzIjoiVm9uYWdlIiwiYXBpX2tleSI6ImFiY2QxMjM0IiwiYXBwbGljYXRpb25faWQiOiI5YjFjOWExZS0xMjM0LTRkNGUtOGYwMC02YTdiOGM5ZDBlMWYiLCJwYXlsb2FkX2hhc2giOiI3MTI1ZGRlNWNiNGY4MmNhMjQzMWE5NWE0OGQ3YmVkODljOTAwMTI4OWQyNjQ3NDFiZTJkZWZkYmZlNzc3YWVlIiwiZXhwIjoxNzEyMjU1NTM0fQ.P1nmm6ibAzP5Yhos3euDxy4eldREXp5LUyN3ukzvjw4"   // exp 1 s before testNow; sdkValid false
	sdkExpNow    = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE3MTIyNTU1MzAsImp0aSI6ImV4cC1ub3ciLCJpc3MiOiJWb25hZ2UiLCJhcGlfa2V5IjoiYWJjZDEyMzQiLCJhcHBsaWNhdGlvbl9pZCI6IjliMWM5YTFlLTEyMzQtNGQ0ZS04ZjAwLTZhN2I4YzlkMGUxZiIsInBheWxvYWRfaGFzaCI6IjcxMjVkZGU1Y2I0ZjgyY2EyNDMxYTk1YTQ4ZDdiZWQ4OWM5MDAxMjg5ZDI2NDc0MWJlMmRlZmRiZmU3NzdhZWUiLCJleHAiOjE3MTIyNTU1MzV9.vGagJPEfyONN3nWoGl4IAwkh0QCWP31JrJe4qRYcJB8"     // exp at testNow; sdkValid false
	sdkExpFuture = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE3MTIyNTU1MzAsImp0aSI6ImV4cC1mdXR1cmUiLCJpc3MiOiJWb25hZ2UiLCJhcGlfa2V5IjoiYWJjZDEyMzQiLCJhcHBsaWNhdGlvbl9pZCI6IjliMWM5YTFlLTEyMzQtNGQ0ZS04ZjAwLTZhN2I4YzlkMGUxZiIsInBheWxvYWRfaGFzaCI6IjcxMjVkZGU1Y2I0ZjgyY2EyNDMxYTk1YTQ4ZDdiZWQ4OWM5MDAxMjg5ZDI2NDc0MWJlMmRlZmRiZmU3NzdhZWUiLCJleHAiOjE3MTIyNTY0MzV9.YrYRRcnB6OZE2cnF89Xpc8t-gZ1ZyGOBjRv9xa-hzkw" // exp 900 s after testNow; sdkValid true
	sdkNbfFuture = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE3MTIyNTU1MzAsImp0aSI6Im5iZi1mdXR1cmUiLCJpc3MiOiJWb25hZ2UiLCJhcGlfa2V5IjoiYWJjZDEyMzQiLCJhcHBsaWNhdGlvbl9pZCI6IjliMWM5YTFlLTEyMzQtNGQ0ZS04ZjAwLTZhN2I4YzlkMGUxZiIsInBheWxvYWRfaGFzaCI6IjcxMjVkZGU1Y2I0ZjgyY2EyNDMxYTk1YTQ4ZDdiZWQ4OWM5MDAxMjg5ZDI2NDc0MWJlMmRlZmRiZmU3NzdhZWUiLCJuYmYiOjE3MTIyNTU1OTV9.Nctiiqd2UeEtZR8grUp7lGdbJ3FT9g9rUu8p0ZhciZs" // nbf 60 s after testNow; sdkValid false
	sdkNbfPast   = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE3MTIyNTU1MzAsImp0aSI6Im5iZi1wYXN0IiwiaXNzIjoiVm9uYWdlIiwiYXBpX2tleSI6ImFiY2QxMjM0IiwiYXBwbGljYXRpb25faWQiOiI5YjFjOWExZS0xMjM0LTRkNGUtOGYwMC02YTdiOGM5ZDBlMWYiLCJwYXlsb2FkX2hhc2giOiI3MTI1ZGRlNWNiNGY4MmNhMjQzMWE5NWE0OGQ3YmVkODljOTAwMTI4OWQyNjQ3NDFiZTJkZWZkYmZlNzc3YWVlIiwibmJmIjoxNzEyMjU1NTMwfQ.T_lFeUiVlVf-LJwn-s-pqBYVzysP1xIqfAS2w_H3Bdo"   // nbf 5 s before testNow; sdkValid true
)

// sdkSMSQuery is a delivery receipt GET whose md5hash sig (testSecret) was
// built as @vonage/sms 1.24.1 verifySignature builds it, names sorted by
// JavaScript's Array.prototype.sort (UTF-16 order: U+1F600 before U+FF61),
// and accepted by it.
const sdkSMSQuery = "msisdn=447700900000&to=AcmeInc&messageId=0A0000001234567B&status=delivered&err-code=0&message-timestamp=2024-04-04%2018%3A32%3A12&timestamp=1712255535&nonce=n-1&%EF%BD%A1=a&%F0%9F%98%80=b&sig=4806425907ed9e4f7c7ba25363cee16d"

type verifyCase struct {
	name     string
	settings string
	req      func(t *testing.T) *provider.Request
	// seed runs before the request (e.g. to use a jti once already).
	seed       func(t *testing.T, v provider.Verifier)
	wantReason schema.Reason // "" = accepted
	wantKey    string        // expected KeyID when accepted
	wantDetail string        // substring of the rejection detail
}

func TestVerify(t *testing.T) {
	body := []byte(messagesStatusJSON)
	ok1 := provider.SecretFingerprint(testSecret)
	ok2 := provider.SecretFingerprint(testSecret2)
	jsonPost := func(tok string, b []byte) *provider.Request {
		return request(http.MethodPost, "", "application/json", bearer(tok), b)
	}
	getPayload, err := GETPayload(voiceRingingQuery)
	if err != nil {
		t.Fatal(err)
	}
	hs512 := func(claims string) string {
		signing := b64(`{"alg":"HS512","typ":"JWT"}`) + "." + b64(claims)
		s, _ := jwt.SigningMethodHS512.Sign(signing, []byte(testSecret))
		return signing + "." + base64.RawURLEncoding.EncodeToString(s)
	}
	goodClaims := claimsJSON(testNow, "jti-1", Issuer, testAPIKey, body)

	cases := []verifyCase{
		// --- JWT: accepted ---
		{name: "jwt messages status POST", settings: settingsAPIKey,
			req: func(t *testing.T) *provider.Request {
				return jsonPost(mustToken(t, testSecret, testNow.Add(-3*time.Second), "c6f4a3d4-0001", body), body)
			}, wantKey: ok1},
		{name: "jwt rotation second secret", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				return jsonPost(mustToken(t, testSecret2, testNow, "c6f4a3d4-0002", body), body)
			}, wantKey: ok2},
		{name: "jwt voice event POST", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				b := []byte(voiceAnsweredJSON)
				return jsonPost(mustToken(t, testSecret, testNow, "c6f4a3d4-0003", b), b)
			}, wantKey: ok1},
		{name: "jwt voice event GET hashes the query as JSON", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				return request(http.MethodGet, voiceRingingQuery, "", bearer(mustToken(t, testSecret, testNow, "c6f4a3d4-0004", getPayload)), nil)
			}, wantKey: ok1},
		{name: "jwt hash over compacted JSON of a pretty body", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				compact := []byte(`{"message_uuid":"aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab","status":"submitted","to":"447700900000","from":"447700900001","timestamp":"2024-04-04T18:32:10.123Z"}`)
				return jsonPost(mustToken(t, testSecret, testNow, "c6f4a3d4-0005", compact), []byte(messagesStatusPretty))
			}, wantKey: ok1},
		{name: "jwt iat in the future within max_age", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				return jsonPost(mustToken(t, testSecret, testNow.Add(4*time.Minute), "c6f4a3d4-0006", body), body)
			}, wantKey: ok1},
		{name: "jwt old iat accepted when max_age is 0s", settings: settingsJWT + "max_age: 0s\n",
			req: func(t *testing.T) *provider.Request {
				return jsonPost(mustToken(t, testSecret, testNow.Add(-72*time.Hour), "c6f4a3d4-0007", body), body)
			}, wantKey: ok1},
		{name: "jwt exp in the future (jsonwebtoken-signed)", settings: settingsJWT,
			req:     func(t *testing.T) *provider.Request { return jsonPost(sdkExpFuture, []byte(sdkJWTBody)) },
			wantKey: ok1},
		{name: "jwt nbf in the past (jsonwebtoken-signed)", settings: settingsJWT,
			req:     func(t *testing.T) *provider.Request { return jsonPost(sdkNbfPast, []byte(sdkJWTBody)) },
			wantKey: ok1},
		{name: "sms names in UTF-16 order (@vonage/sms)", settings: settingsSMS("md5hash"),
			req:     func(t *testing.T) *provider.Request { return request(http.MethodGet, sdkSMSQuery, "", nil, nil) },
			wantKey: ok1},
		{name: "jwt bearer scheme is case-insensitive", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				r := jsonPost("", body)
				r.Header.Set("Authorization", "bearer "+mustToken(t, testSecret, testNow, "c6f4a3d4-0008", body))
				return r
			}, wantKey: ok1},

		// --- missing_signature ---
		{name: "no signature at all", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				return request(http.MethodPost, "", "application/json", nil, body)
			}, wantReason: schema.ReasonMissingSignature},
		{name: "basic auth is no signature", settings: settingsSMS("md5hash"),
			req: func(t *testing.T) *provider.Request {
				return request(http.MethodPost, "", "application/json", http.Header{"Authorization": {"Basic YWJjOmRlZg=="}}, body)
			}, wantReason: schema.ReasonMissingSignature},
		{name: "sms sig ignored when sms_signature_method unset", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				return request(http.MethodGet, mustSMS(t, "md5hash", testSecret, smsReceiptParams(testNow)), "", nil, nil)
			}, wantReason: schema.ReasonMissingSignature, wantDetail: "sms_signature_method is not set"},
		{name: "sms method set but no sig parameter", settings: settingsSMS("md5hash"),
			req: func(t *testing.T) *provider.Request {
				f, _ := SignSMSForm("md5hash", testSecret, smsReceiptParams(testNow))
				return request(http.MethodGet, f[:strings.LastIndex(f, "&sig=")], "", nil, nil)
			}, wantReason: schema.ReasonMissingSignature},

		{name: "payload over the parameter bound without a sig is missing_signature", settings: settingsSMS("md5hash"),
			req: func(t *testing.T) *provider.Request {
				return request(http.MethodPost, "", "application/x-www-form-urlencoded", nil, []byte(manyParams(provider.MaxParams+1)))
			}, wantReason: schema.ReasonMissingSignature, wantDetail: "more than 1000 parameters"},

		// --- malformed ---
		{name: "sms form over the parameter bound is malformed before any digest", settings: settingsSMS("md5hash"),
			req: func(t *testing.T) *provider.Request {
				f := mustSMS(t, "md5hash", testSecret, smsInboundParams(testNow))
				return request(http.MethodPost, "", "application/x-www-form-urlencoded", nil, []byte(f+"&"+manyParams(provider.MaxParams)))
			}, wantReason: schema.ReasonMalformed, wantDetail: "1011 '&'-separated pairs"},
		{name: "sms query over the parameter bound is malformed", settings: settingsSMS("md5hash"),
			req: func(t *testing.T) *provider.Request {
				return request(http.MethodGet, mustSMS(t, "md5hash", testSecret, smsReceiptParams(testNow))+"&"+manyParams(provider.MaxParams), "", nil, nil)
			}, wantReason: schema.ReasonMalformed},
		{name: "sms JSON over the member bound is malformed", settings: settingsSMS("md5hash"),
			req: func(t *testing.T) *provider.Request {
				p := smsReceiptParams(testNow)
				for i := range provider.MaxParams {
					p = append(p, provider.Param{Name: fmt.Sprint("x", i), Value: "1"})
				}
				return request(http.MethodPost, "", "application/json", nil, jsonOf(p, mustSig(t, "md5hash", testSecret, p)))
			}, wantReason: schema.ReasonMalformed, wantDetail: "JSON object of 1001 members or more"},
		{name: "sms hint skipped over the bound when sms_signature_method unset", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				return request(http.MethodGet, mustSMS(t, "md5hash", testSecret, smsReceiptParams(testNow))+"&"+manyParams(provider.MaxParams), "", nil, nil)
			}, wantReason: schema.ReasonMissingSignature},
		{name: "jwt with a form body over the parameter bound is malformed", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				b := []byte(manyParams(provider.MaxParams + 1))
				return request(http.MethodPost, "", "application/x-www-form-urlencoded", bearer(mustToken(t, testSecret, testNow, "c6f4a3d4-0105", b)), b)
			}, wantReason: schema.ReasonMalformed, wantDetail: "more than 1000 parameters"},
		{name: "bearer without token", settings: settingsJWT,
			req:        func(t *testing.T) *provider.Request { return jsonPost("", body) },
			wantReason: schema.ReasonMalformed},
		{name: "jwt with two segments", settings: settingsJWT,
			req:        func(t *testing.T) *provider.Request { return jsonPost("eyJhbGciOiJIUzI1NiJ9.e30", body) },
			wantReason: schema.ReasonMalformed},
		{name: "jwt header not base64url", settings: settingsJWT,
			req:        func(t *testing.T) *provider.Request { return jsonPost("!!!."+b64(goodClaims)+".abc", body) },
			wantReason: schema.ReasonMalformed},
		{name: "jwt claims not JSON", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				return jsonPost(rawToken(`{"alg":"HS256","typ":"JWT"}`, `not json`, testSecret), body)
			}, wantReason: schema.ReasonMalformed},
		{name: "jwt iat of the wrong type", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				return jsonPost(rawToken(`{"alg":"HS256"}`, `{"iat":"yesterday","jti":"x","iss":"Vonage"}`, testSecret), body)
			}, wantReason: schema.ReasonMalformed},
		{name: "jwt without jti", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				return jsonPost(rawToken(`{"alg":"HS256"}`, fmt.Sprintf(`{"iat":%d,"iss":"Vonage","payload_hash":%q}`, testNow.Unix(), PayloadHash(body)), testSecret), body)
			}, wantReason: schema.ReasonMalformed, wantDetail: "jti"},
		{name: "jwt without iat", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				return jsonPost(rawToken(`{"alg":"HS256"}`, `{"jti":"x","iss":"Vonage"}`, testSecret), body)
			}, wantReason: schema.ReasonMalformed, wantDetail: "iat"},
		{name: "genuine jwt with a line break inside its signature", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				tok := mustToken(t, testSecret, testNow, "c6f4a3d4-0030", body)
				return jsonPost(tok[:len(tok)-5]+"\n"+tok[len(tok)-5:], body)
			}, wantReason: schema.ReasonMalformed, wantDetail: "line break"},
		{name: "precedence: malformed claims beat alg none", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				return jsonPost(b64(`{"alg":"none"}`)+"."+b64(`{"iss":"Vonage"}`)+".", body)
			}, wantReason: schema.ReasonMalformed},
		{name: "sms timestamp missing", settings: settingsSMS("md5hash"),
			req: func(t *testing.T) *provider.Request {
				p := smsReceiptParams(testNow)
				return request(http.MethodGet, mustSMS(t, "md5hash", testSecret, p[:len(p)-2]), "", nil, nil)
			}, wantReason: schema.ReasonMalformed},
		{name: "precedence: non-numeric sms timestamp beats bad sig", settings: settingsSMS("md5hash"),
			req: func(t *testing.T) *provider.Request {
				p := smsReceiptParams(testNow)
				p[11].Value = "soon"
				return request(http.MethodGet, mustSMS(t, "md5hash", "wrong-secret", p), "", nil, nil)
			}, wantReason: schema.ReasonMalformed},
		{name: "sms form body with bad escape", settings: settingsSMS("md5hash"),
			req: func(t *testing.T) *provider.Request {
				return request(http.MethodPost, "", "application/x-www-form-urlencoded", nil, []byte("msisdn=%zz&sig=abc"))
			}, wantReason: schema.ReasonMalformed},
		{name: "sms JSON body not an object has no sig parameter", settings: settingsSMS("md5hash"),
			req: func(t *testing.T) *provider.Request {
				return request(http.MethodPost, "", "application/json", nil, []byte(`["sig","abc"]`))
			}, wantReason: schema.ReasonMissingSignature},
		{name: "sms sig present in a form body that does not decode", settings: settingsSMS("md5hash"),
			req: func(t *testing.T) *provider.Request {
				return request(http.MethodPost, "", "application/x-www-form-urlencoded", nil, []byte(`messageId=1&text=100%&sig=abc`))
			}, wantReason: schema.ReasonMalformed},
		{name: "genuine jwt over a JSON body that is not JSON", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				b := []byte(`{"message_uuid":"aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab","status":`)
				return jsonPost(mustToken(t, testSecret, testNow, "c6f4a3d4-0031", b), b)
			}, wantReason: schema.ReasonMalformed, wantDetail: "payload does not parse"},
		{name: "bearer means JWT only, even with a valid sig", settings: settingsSMS("md5hash"),
			req: func(t *testing.T) *provider.Request {
				r := request(http.MethodGet, mustSMS(t, "md5hash", testSecret, smsReceiptParams(testNow)), "", bearer("garbage"), nil)
				return r
			}, wantReason: schema.ReasonMalformed},

		// --- unsupported_algorithm ---
		{name: "jwt alg none", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				return jsonPost(b64(`{"alg":"none","typ":"JWT"}`)+"."+b64(goodClaims)+".", body)
			}, wantReason: schema.ReasonUnsupportedAlgorithm, wantDetail: `"none"`},
		{name: "jwt alg HS512 with a valid HS512 signature", settings: settingsJWT,
			req:        func(t *testing.T) *provider.Request { return jsonPost(hs512(goodClaims), body) },
			wantReason: schema.ReasonUnsupportedAlgorithm},
		{name: "jwt alg unknown to the library", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				return jsonPost(rawToken(`{"alg":"XS999"}`, goodClaims, testSecret), body)
			}, wantReason: schema.ReasonUnsupportedAlgorithm},
		{name: "jwt without alg", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				return jsonPost(rawToken(`{"typ":"JWT"}`, goodClaims, testSecret), body)
			}, wantReason: schema.ReasonUnsupportedAlgorithm},
		{name: "precedence: RS256 with undecodable signature is unsupported, not bad", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				return jsonPost(b64(`{"alg":"RS256","typ":"JWT"}`)+"."+b64(goodClaims)+".***", body)
			}, wantReason: schema.ReasonUnsupportedAlgorithm},

		// --- bad_signature ---
		{name: "jwt signed with an unknown secret", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				return jsonPost(mustToken(t, "not-our-secret", testNow, "c6f4a3d4-0101", body), body)
			}, wantReason: schema.ReasonBadSignature, wantDetail: ok2},
		{name: "jwt signature segment undecodable", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				return jsonPost(b64(`{"alg":"HS256"}`)+"."+b64(goodClaims)+".%%%", body)
			}, wantReason: schema.ReasonBadSignature, wantDetail: "base64url"},
		{name: "jwt iss is not Vonage", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				return jsonPost(rawToken(`{"alg":"HS256"}`, claimsJSON(testNow, "j", "Evil", testAPIKey, body), testSecret), body)
			}, wantReason: schema.ReasonBadSignature, wantDetail: "iss"},
		{name: "jwt api_key differs from the configured one", settings: settingsAPIKey,
			req: func(t *testing.T) *provider.Request {
				return jsonPost(rawToken(`{"alg":"HS256"}`, claimsJSON(testNow, "j", Issuer, "other999", body), testSecret), body)
			}, wantReason: schema.ReasonBadSignature, wantDetail: "api_key"},
		{name: "precedence: bad signature beats payload mismatch and stale iat", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				return jsonPost(mustToken(t, "not-our-secret", testNow.Add(-time.Hour), "j", []byte("other")), body)
			}, wantReason: schema.ReasonBadSignature},
		{name: "sms sig with an unknown secret", settings: settingsSMS("sha256"),
			req: func(t *testing.T) *provider.Request {
				return request(http.MethodGet, mustSMS(t, "sha256", "not-our-secret", smsReceiptParams(testNow)), "", nil, nil)
			}, wantReason: schema.ReasonBadSignature},
		{name: "sms tampered status", settings: settingsSMS("md5hash"),
			req: func(t *testing.T) *provider.Request {
				q := mustSMS(t, "md5hash", testSecret, smsReceiptParams(testNow))
				return request(http.MethodGet, strings.Replace(q, "status=delivered", "status=failed", 1), "", nil, nil)
			}, wantReason: schema.ReasonBadSignature},
		{name: "sms signed with another method: near miss diagnosed", settings: settingsSMS("md5hash"),
			req: func(t *testing.T) *provider.Request {
				return request(http.MethodGet, mustSMS(t, "sha512", testSecret2, smsReceiptParams(testNow)), "", nil, nil)
			}, wantReason: schema.ReasonBadSignature, wantDetail: "would verify with sms_signature_method sha512 and secret " + ok2},
		{name: "sms near-miss search bounded for a large payload", settings: settingsSMS("md5hash"),
			req: func(t *testing.T) *provider.Request {
				p := append(smsInboundParams(testNow)[:0:0], smsInboundParams(testNow)...)
				p[3].Value = strings.Repeat("x", 64<<10)
				return request(http.MethodPost, "", "application/x-www-form-urlencoded", nil, []byte(mustSMS(t, "sha512", testSecret, p)))
			}, wantReason: schema.ReasonBadSignature, wantDetail: "other methods not tried"},
		{name: "sms names beyond the BMP: both orders tried, named in the diagnosis", settings: settingsSMS("md5hash"),
			req: func(t *testing.T) *provider.Request {
				return request(http.MethodGet, strings.Replace(sdkSMSQuery, "status=delivered", "status=failed", 1), "", nil, nil)
			}, wantReason: schema.ReasonBadSignature, wantDetail: "names in byte order and in UTF-16 order"},
		{name: "precedence: sms bad sig beats stale timestamp", settings: settingsSMS("md5"),
			req: func(t *testing.T) *provider.Request {
				return request(http.MethodGet, mustSMS(t, "md5", "nope", smsReceiptParams(testNow.Add(-time.Hour))), "", nil, nil)
			}, wantReason: schema.ReasonBadSignature},

		// --- payload_hash_mismatch ---
		{name: "jwt body tampered", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				return jsonPost(mustToken(t, testSecret, testNow, "c6f4a3d4-0201", body), []byte(strings.Replace(messagesStatusJSON, "delivered", "rejected", 1)))
			}, wantReason: schema.ReasonPayloadHashMismatch, wantDetail: "raw body"},
		{name: "jwt without payload_hash", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				return jsonPost(rawToken(`{"alg":"HS256"}`, fmt.Sprintf(`{"iat":%d,"jti":"j","iss":"Vonage"}`, testNow.Unix()), testSecret), body)
			}, wantReason: schema.ReasonPayloadHashMismatch},
		{name: "jwt GET query tampered", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				tok := mustToken(t, testSecret, testNow, "c6f4a3d4-0202", getPayload)
				return request(http.MethodGet, strings.Replace(voiceRingingQuery, "ringing", "answered", 1), "", bearer(tok), nil)
			}, wantReason: schema.ReasonPayloadHashMismatch, wantDetail: "query as JSON"},
		{name: "jwt minted for an empty payload does not cover a GET query", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				return request(http.MethodGet, voiceRingingQuery, "", bearer(mustToken(t, testSecret, testNow, "c6f4a3d4-0204", nil)), nil)
			}, wantReason: schema.ReasonPayloadHashMismatch},
		{name: "jwt GET without query over the empty payload", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				return request(http.MethodGet, "", "", bearer(mustToken(t, testSecret, testNow, "c6f4a3d4-0205", nil)), nil)
			}, wantKey: ok1},
		{name: "jwt GET without query over {}", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				return request(http.MethodGet, "", "", bearer(mustToken(t, testSecret, testNow, "c6f4a3d4-0206", []byte("{}"))), nil)
			}, wantKey: ok1},
		{name: "precedence: payload mismatch beats stale iat", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				return jsonPost(mustToken(t, testSecret, testNow.Add(-time.Hour), "c6f4a3d4-0203", []byte("{}")), body)
			}, wantReason: schema.ReasonPayloadHashMismatch},

		// --- stale_timestamp ---
		{name: "jwt iat too old", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				return jsonPost(mustToken(t, testSecret, testNow.Add(-6*time.Minute), "c6f4a3d4-0301", body), body)
			}, wantReason: schema.ReasonStaleTimestamp},
		{name: "jwt iat too far in the future", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				return jsonPost(mustToken(t, testSecret, testNow.Add(6*time.Minute), "c6f4a3d4-0302", body), body)
			}, wantReason: schema.ReasonStaleTimestamp},
		{name: "jwt custom max_age 90s", settings: settingsJWT + "max_age: 90s\n",
			req: func(t *testing.T) *provider.Request {
				return jsonPost(mustToken(t, testSecret, testNow.Add(-2*time.Minute), "c6f4a3d4-0303", body), body)
			}, wantReason: schema.ReasonStaleTimestamp},
		{name: "precedence: stale iat beats a used jti", settings: settingsJWT,
			seed: func(t *testing.T, v provider.Verifier) {
				_, err := v.Verify(context.Background(), jsonPost(mustToken(t, testSecret, testNow, "c6f4a3d4-0304", body), body))
				if err != nil {
					t.Fatal(err)
				}
			},
			req: func(t *testing.T) *provider.Request {
				return jsonPost(mustToken(t, testSecret, testNow.Add(-10*time.Minute), "c6f4a3d4-0304", body), body)
			}, wantReason: schema.ReasonStaleTimestamp},
		{name: "sms timestamp too old", settings: settingsSMS("sha1"),
			req: func(t *testing.T) *provider.Request {
				return request(http.MethodGet, mustSMS(t, "sha1", testSecret, smsReceiptParams(testNow.Add(-10*time.Minute))), "", nil, nil)
			}, wantReason: schema.ReasonStaleTimestamp},

		{name: "jwt exp in the past (jsonwebtoken-signed)", settings: settingsJWT,
			req:        func(t *testing.T) *provider.Request { return jsonPost(sdkExpPast, []byte(sdkJWTBody)) },
			wantReason: schema.ReasonStaleTimestamp, wantDetail: "JWT exp 2024-04-04T18:32:14Z is not after"},
		{name: "jwt exp at the receive time has expired", settings: settingsJWT,
			req:        func(t *testing.T) *provider.Request { return jsonPost(sdkExpNow, []byte(sdkJWTBody)) },
			wantReason: schema.ReasonStaleTimestamp},
		{name: "jwt exp honoured when max_age is 0s", settings: settingsJWT + "max_age: 0s\n",
			req:        func(t *testing.T) *provider.Request { return jsonPost(sdkExpPast, []byte(sdkJWTBody)) },
			wantReason: schema.ReasonStaleTimestamp},
		{name: "jwt nbf in the future", settings: settingsJWT,
			req:        func(t *testing.T) *provider.Request { return jsonPost(sdkNbfFuture, []byte(sdkJWTBody)) },
			wantReason: schema.ReasonStaleTimestamp, wantDetail: "not valid yet"},
		{name: "precedence: payload mismatch beats an expired token", settings: settingsJWT,
			req:        func(t *testing.T) *provider.Request { return jsonPost(sdkExpPast, body) },
			wantReason: schema.ReasonPayloadHashMismatch},
		{name: "precedence: expired token beats a used jti", settings: settingsJWT,
			seed: func(t *testing.T, v provider.Verifier) {
				if _, err := v.Verify(context.Background(), jsonPost(sdkExpFuture, []byte(sdkJWTBody))); err != nil {
					t.Fatal(err)
				}
			},
			req: func(t *testing.T) *provider.Request {
				tok := rawToken(`{"alg":"HS256","typ":"JWT"}`, `{"jti":"exp-future","iss":"Vonage","iat":1712255530,"exp":1712255530,"payload_hash":"`+PayloadHash([]byte(sdkJWTBody))+`"}`, testSecret)
				return jsonPost(tok, []byte(sdkJWTBody))
			}, wantReason: schema.ReasonStaleTimestamp},
		{name: "jwt exp that is not a number is malformed", settings: settingsJWT,
			req: func(t *testing.T) *provider.Request {
				tok := rawToken(`{"alg":"HS256","typ":"JWT"}`, `{"jti":"e","iss":"Vonage","iat":1712255530,"exp":"tomorrow","payload_hash":"`+PayloadHash(body)+`"}`, testSecret)
				return jsonPost(tok, body)
			}, wantReason: schema.ReasonMalformed},

		// --- replayed ---
		{name: "jwt jti used twice", settings: settingsJWT,
			seed: func(t *testing.T, v provider.Verifier) {
				if _, err := v.Verify(context.Background(), jsonPost(mustToken(t, testSecret, testNow, "c6f4a3d4-0401", body), body)); err != nil {
					t.Fatal(err)
				}
			},
			req: func(t *testing.T) *provider.Request {
				return jsonPost(mustToken(t, testSecret, testNow, "c6f4a3d4-0401", body), body)
			}, wantReason: schema.ReasonReplayed},
		{name: "jwt jti reused by a token signed with the other secret", settings: settingsJWT,
			seed: func(t *testing.T, v provider.Verifier) {
				if _, err := v.Verify(context.Background(), jsonPost(mustToken(t, testSecret, testNow, "c6f4a3d4-0402", body), body)); err != nil {
					t.Fatal(err)
				}
			},
			req: func(t *testing.T) *provider.Request {
				return jsonPost(mustToken(t, testSecret2, testNow.Add(time.Second), "c6f4a3d4-0402", body), body)
			}, wantReason: schema.ReasonReplayed},
		{name: "jwt at the window edge is remembered at that instant", settings: settingsJWT,
			seed: func(t *testing.T, v provider.Verifier) {
				if _, err := v.Verify(context.Background(), jsonPost(mustToken(t, testSecret, testNow.Add(-DefaultMaxAge), "c6f4a3d4-0404", body), body)); err != nil {
					t.Fatal(err)
				}
			},
			req: func(t *testing.T) *provider.Request {
				return jsonPost(mustToken(t, testSecret, testNow.Add(-DefaultMaxAge), "c6f4a3d4-0404", body), body)
			}, wantReason: schema.ReasonReplayed},
		{name: "a rejected request does not consume its jti", settings: settingsJWT,
			seed: func(t *testing.T, v provider.Verifier) {
				_, err := v.Verify(context.Background(), jsonPost(mustToken(t, testSecret, testNow, "c6f4a3d4-0403", body), []byte("{}")))
				if rej := new(provider.Rejection); !errors.As(err, &rej) || rej.Reason != schema.ReasonPayloadHashMismatch {
					t.Fatalf("seed: %v", err)
				}
			},
			req: func(t *testing.T) *provider.Request {
				return jsonPost(mustToken(t, testSecret, testNow, "c6f4a3d4-0403", body), body)
			}, wantKey: ok1},
	}

	// SMS API: every method, every transport.
	for _, method := range smsMethods {
		cases = append(cases,
			verifyCase{name: "sms receipt GET " + method, settings: settingsSMS(method),
				req: func(t *testing.T) *provider.Request {
					return request(http.MethodGet, mustSMS(t, method, testSecret, smsReceiptParams(testNow.Add(-2*time.Second))), "", nil, nil)
				}, wantKey: ok1},
			verifyCase{name: "sms inbound form POST " + method, settings: settingsSMS(method),
				req: func(t *testing.T) *provider.Request {
					return request(http.MethodPost, "", "application/x-www-form-urlencoded",
						nil, []byte(mustSMS(t, method, testSecret2, smsInboundParams(testNow))))
				}, wantKey: ok2},
			verifyCase{name: "sms receipt JSON POST " + method, settings: settingsSMS(method),
				req: func(t *testing.T) *provider.Request {
					b, err := SignSMSJSON(method, testSecret, smsReceiptParams(testNow))
					if err != nil {
						t.Fatal(err)
					}
					return request(http.MethodPost, "", "application/json", nil, b)
				}, wantKey: ok1},
		)
	}
	cases = append(cases,
		verifyCase{name: "sms uppercase hex sig", settings: settingsSMS("MD5HASH"),
			req: func(t *testing.T) *provider.Request {
				p := smsReceiptParams(testNow)
				sig := strings.ToUpper(mustSig(t, "md5hash", testSecret, p))
				return request(http.MethodGet, encodeWithSig(p, sig), "", nil, nil)
			}, wantKey: ok1},
		verifyCase{name: "sms JSON numbers signed as sent", settings: settingsSMS("sha256"),
			req: func(t *testing.T) *provider.Request {
				p := smsReceiptParams(testNow)
				sig := mustSig(t, "sha256", testSecret, p)
				b := strings.Replace(string(jsonOf(p, sig)), `"err-code":"0"`, `"err-code":0`, 1)
				b = strings.Replace(b, `"price":"0.03330000"`, `"price":0.03330000`, 1)
				return request(http.MethodPost, "", "application/json; charset=utf-8", nil, []byte(b))
			}, wantKey: ok1},
	)

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t, tc.settings, nil)
			if tc.seed != nil {
				tc.seed(t, v)
			}
			req := tc.req(t)
			got, err := v.Verify(context.Background(), req)
			if tc.wantReason == "" {
				if err != nil {
					t.Fatalf("Verify rejected a genuine request: %v", err)
				}
				if got.KeyID != tc.wantKey {
					t.Fatalf("KeyID = %q, want %q", got.KeyID, tc.wantKey)
				}
				return
			}
			var rej *provider.Rejection
			if !errors.As(err, &rej) {
				t.Fatalf("Verify = %v, %v; want rejection %s", got, err, tc.wantReason)
			}
			if rej.Reason != tc.wantReason {
				t.Fatalf("reason = %s (%s), want %s", rej.Reason, rej.Detail, tc.wantReason)
			}
			if !strings.Contains(rej.Detail, tc.wantDetail) {
				t.Errorf("detail %q does not mention %q", rej.Detail, tc.wantDetail)
			}
			assertNoSecrets(t, rej.Detail, req)
		})
	}
}

// manyParams is an urlencoded string of n parameters "p<i>=v".
func manyParams(n int) string {
	pairs := make([]string, n)
	for i := range pairs {
		pairs[i] = fmt.Sprint("p", i, "=v")
	}
	return strings.Join(pairs, "&")
}

// encodeWithSig urlencodes params in order and appends sig verbatim.
func encodeWithSig(params []provider.Param, sig string) string {
	var b strings.Builder
	for _, p := range params {
		b.WriteString(p.Name + "=" + strings.NewReplacer("&", "%26", "=", "%3D", " ", "+", ":", "%3A").Replace(p.Value) + "&")
	}
	return b.String() + "sig=" + sig
}

// assertNoSecrets fails when a diagnosis reveals a secret or any value that
// would verify the request.
func assertNoSecrets(t *testing.T, detail string, req *provider.Request) {
	t.Helper()
	for _, s := range []string{testSecret, testSecret2} {
		if strings.Contains(detail, s) {
			t.Fatalf("detail reveals a secret: %q", detail)
		}
	}
	p, err := parsePayload(req)
	if err != nil {
		return
	}
	signing := smsSigningString(p.params)
	for _, m := range smsMethods {
		for _, s := range []string{testSecret, testSecret2} {
			want, _ := smsDigest(m, signing, []byte(s))
			if strings.Contains(detail, want) {
				t.Fatalf("detail reveals an expected signature: %q", detail)
			}
		}
	}
}

func TestVerifyReplayGuardFailureIsInternal(t *testing.T) {
	v := newTestVerifier(t, settingsJWT, failingGuard{})
	body := []byte(messagesStatusJSON)
	_, err := v.Verify(context.Background(), request(http.MethodPost, "", "application/json",
		bearer(mustToken(t, testSecret, testNow, "jti-guard", body)), body))
	var rej *provider.Rejection
	if errors.As(err, &rej) {
		t.Fatalf("guard failure answered as rejection %v", rej)
	}
	if !errors.Is(err, errGuardDown) {
		t.Fatalf("err = %v, want wrapped guard error", err)
	}
}

// TestVerifyRefusesWhatALossyGuardCannotVouchFor: a guard that lost memory
// refuses a token issued before the loss; that is a replayed rejection
// (its detail says why), not an internal failure.
func TestVerifyRefusesWhatALossyGuardCannotVouchFor(t *testing.T) {
	v := newTestVerifier(t, settingsJWT, lossyGuard{})
	body := []byte(messagesStatusJSON)
	_, err := v.Verify(context.Background(), request(http.MethodPost, "", "application/json",
		bearer(mustToken(t, testSecret, testNow, "jti-before-loss", body)), body))
	var rej *provider.Rejection
	if !errors.As(err, &rej) || rej.Reason != schema.ReasonReplayed || !strings.Contains(rej.Detail, "jti-guard.log lost") {
		t.Fatalf("err = %v, want replayed naming the guard's loss", err)
	}
}

// lossyGuard lost its memory before every token it is asked about.
type lossyGuard struct{}

func (lossyGuard) FirstUse(context.Context, string, time.Time, time.Time) (bool, error) {
	return false, fmt.Errorf("jtiguard: jti-guard.log lost the jtis it remembered: %w", provider.ErrReplayMemoryLost)
}

func (lossyGuard) Forget(context.Context, string) error { return nil }

func TestVerifyReplayKeyAndExpiry(t *testing.T) {
	rec := &recordingGuard{}
	v := newTestVerifier(t, settingsJWT, rec)
	body := []byte(messagesStatusJSON)
	iat := testNow.Add(-time.Minute)
	if _, err := v.Verify(context.Background(), request(http.MethodPost, "", "application/json",
		bearer(mustToken(t, testSecret, iat, "jti-42", body)), body)); err != nil {
		t.Fatal(err)
	}
	if rec.key != "vonage:vonage-main:jti-42" || !rec.issued.Equal(iat) || !rec.expires.Equal(iat.Add(DefaultMaxAge+time.Second)) {
		t.Fatalf("FirstUse(%q, %v, %v), want vonage:vonage-main:jti-42 issued at iat until iat+max_age+1s", rec.key, rec.issued, rec.expires)
	}

	v = newTestVerifier(t, settingsJWT+"max_age: 0s\n", rec)
	if _, err := v.Verify(context.Background(), request(http.MethodPost, "", "application/json",
		bearer(mustToken(t, testSecret, iat, "jti-43", body)), body)); err != nil {
		t.Fatal(err)
	}
	if !rec.expires.Equal(testNow.Add(replayMemoryWithoutWindow)) {
		t.Fatalf("with max_age 0s the jti is remembered until %v", rec.expires)
	}
}

type recordingGuard struct {
	key             string
	issued, expires time.Time
}

func (g *recordingGuard) FirstUse(_ context.Context, key string, issued, expires time.Time) (bool, error) {
	g.key, g.issued, g.expires = key, issued, expires
	return true, nil
}

func (g *recordingGuard) Forget(context.Context, string) error { return nil }

// TestReleaseMakesTheRetryAFirstUse: when ingest could not store a
// verified callback it releases the jti, and the provider's retry of the
// same token verifies instead of being refused as a replay.
func TestReleaseMakesTheRetryAFirstUse(t *testing.T) {
	v := newTestVerifier(t, settingsJWT, nil)
	body := []byte(messagesStatusJSON)
	req := func() *provider.Request {
		return request(http.MethodPost, "", "application/json", bearer(mustToken(t, testSecret, testNow, "jti-retry", body)), body)
	}
	got, err := v.Verify(context.Background(), req())
	if err != nil || got.Release == nil {
		t.Fatalf("first delivery: %v, release set: %v", err, got.Release != nil)
	}
	if err := got.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), req()); err != nil {
		t.Fatalf("retry after release: %v", err)
	}
	_, err = v.Verify(context.Background(), req())
	var rej *provider.Rejection
	if !errors.As(err, &rej) || rej.Reason != schema.ReasonReplayed {
		t.Fatalf("third delivery: %v, want replayed", err)
	}
}

func TestVerifyConcurrentReplay(t *testing.T) {
	v := newTestVerifier(t, settingsJWT, nil)
	body := []byte(messagesStatusJSON)
	tok := mustToken(t, testSecret, testNow, "jti-race", body)
	const n = 16
	results := make(chan error, n)
	for range n {
		go func() {
			_, err := v.Verify(context.Background(), request(http.MethodPost, "", "application/json", bearer(tok), body))
			results <- err
		}()
	}
	accepted := 0
	for range n {
		if err := <-results; err == nil {
			accepted++
		}
	}
	if accepted != 1 {
		t.Fatalf("%d of %d concurrent copies accepted, want 1", accepted, n)
	}
}
