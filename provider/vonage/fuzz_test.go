package vonage

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/schema"
)

// fuzzSettings accepts both schemes (md5hash for sig, the cheapest and the
// default), with both test secrets.
func fuzzSettings() Settings {
	return Settings{
		SignatureSecrets:   SecretList{testSecret, testSecret2},
		APIKey:             testAPIKey,
		MaxAge:             Duration(DefaultMaxAge),
		SMSSignatureMethod: SMSMethodMD5Hash,
	}
}

// addVerifySeeds adds genuine signed requests (and a few broken ones) as
// (method, rawQuery, authorization, content type, body).
func addVerifySeeds(f *testing.F) {
	body := []byte(messagesStatusJSON)
	tok, _ := SignCallbackJWT(testSecret, testAPIKey, "seed-1", testNow, body)
	f.Add(http.MethodPost, "", "Bearer "+tok, "application/json", body)
	getPayload, _ := GETPayload(voiceRingingQuery)
	tok, _ = SignCallbackJWT(testSecret2, testAPIKey, "seed-2", testNow, getPayload)
	f.Add(http.MethodGet, voiceRingingQuery, "Bearer "+tok, "", []byte(nil))
	compact := []byte(`{"message_uuid":"aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab","status":"submitted","to":"447700900000","from":"447700900001","timestamp":"2024-04-04T18:32:10.123Z"}`)
	tok, _ = SignCallbackJWT(testSecret, testAPIKey, "seed-3", testNow, compact)
	f.Add(http.MethodPost, "", "Bearer "+tok, "application/json", []byte(messagesStatusPretty))
	f.Add(http.MethodPost, "", "Bearer "+b64(`{"alg":"none"}`)+"."+b64(`{"iat":1712255535,"jti":"x","iss":"Vonage"}`)+".", "application/json", body)

	q, _ := SignSMSForm(SMSMethodMD5Hash, testSecret, smsReceiptParams(testNow))
	f.Add(http.MethodGet, q, "", "", []byte(nil))
	form, _ := SignSMSForm(SMSMethodMD5Hash, testSecret2, smsInboundParams(testNow))
	f.Add(http.MethodPost, "", "", "application/x-www-form-urlencoded", []byte(form))
	p := smsReceiptParams(testNow)
	sig, _ := SignSMS(SMSMethodMD5Hash, testSecret, p)
	f.Add(http.MethodPost, "", "", "application/json", jsonOf(p, sig))
	f.Add(http.MethodPost, "", "", "application/json", []byte(`{"sig":"00","timestamp":"x"}`))
}

// FuzzVerify: no panics, every failure is a rejection with a valid reason,
// and an accepted request really carries a genuine signature for its
// content, recomputed here independently of the verifier's code.
func FuzzVerify(f *testing.F) {
	addVerifySeeds(f)
	settings := fuzzSettings()
	f.Fuzz(func(t *testing.T, method, rawQuery, auth, contentType string, body []byte) {
		if method != http.MethodGet {
			method = http.MethodPost
		}
		h := http.Header{}
		if auth != "" {
			h.Set("Authorization", auth)
		}
		req := request(method, rawQuery, contentType, h, body)
		v := newVerifier(testSource, settings, provider.Deps{Replays: newMemGuard(func() time.Time { return testNow })})
		got, err := v.Verify(context.Background(), req)
		if err != nil {
			var rej *provider.Rejection
			if !errors.As(err, &rej) || !rej.Reason.Valid() {
				t.Fatalf("non-rejection error %v", err)
			}
			for _, s := range settings.SignatureSecrets {
				if strings.Contains(rej.Detail, s) {
					t.Fatalf("detail reveals a secret")
				}
			}
			return
		}
		secret := secretFor(t, settings, got.KeyID)
		if token, ok := bearerToken(req.Header); ok {
			assertGenuineJWT(t, req, token, secret)
		} else {
			assertGenuineSMS(t, req, secret)
		}
	})
}

func secretFor(t *testing.T, s Settings, keyID string) string {
	for _, secret := range s.SignatureSecrets {
		if provider.SecretFingerprint(secret) == keyID {
			return secret
		}
	}
	t.Fatalf("accepted with unknown key id %q", keyID)
	return ""
}

func assertGenuineJWT(t *testing.T, req *provider.Request, token, secret string) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("accepted a token with %d segments", len(parts))
	}
	dec := base64.RawURLEncoding.Strict()
	header, err1 := dec.DecodeString(parts[0])
	claimsJSON, err2 := dec.DecodeString(parts[1])
	sig, err3 := dec.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		t.Fatalf("accepted undecodable segments")
	}
	if dec.EncodeToString(header)+"."+dec.EncodeToString(claimsJSON)+"."+dec.EncodeToString(sig) != token {
		t.Fatalf("accepted a token in a non-canonical encoding: %q", token)
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(header, &hdr) != nil || hdr.Alg != "HS256" {
		t.Fatalf("accepted header %q", header)
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(m.Sum(nil), sig) {
		t.Fatalf("accepted a token whose HMAC does not recompute")
	}
	var claims struct {
		Iss         string   `json:"iss"`
		APIKey      string   `json:"api_key"`
		PayloadHash string   `json:"payload_hash"`
		Exp         *float64 `json:"exp"`
		Nbf         *float64 `json:"nbf"`
	}
	if json.Unmarshal(claimsJSON, &claims) != nil || claims.Iss != "Vonage" || claims.APIKey != testAPIKey {
		t.Fatalf("accepted claims %s", claimsJSON)
	}
	// As jsonwebtoken judges them (expired at exp, not valid before nbf),
	// with the claims read in whole seconds.
	now := float64(req.ReceivedAt.Unix())
	if claims.Exp != nil && now >= math.Trunc(*claims.Exp) || claims.Nbf != nil && math.Trunc(*claims.Nbf) > now {
		t.Fatalf("accepted a token outside its exp/nbf validity: %s", claimsJSON)
	}
	hashOf := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	want := strings.ToLower(claims.PayloadHash)
	isGet := req.Method == http.MethodGet
	bodyCounts := !isGet || len(req.Body) > 0
	var compact bytes.Buffer
	switch {
	case isGet && want == hashOf(mustGETPayload(t, req.RawQuery())):
	case isGet && len(req.Body) == 0 && string(mustGETPayload(t, req.RawQuery())) == "{}" && want == hashOf(nil):
	case bodyCounts && want == hashOf(req.Body):
	case bodyCounts && json.Compact(&compact, req.Body) == nil && want == hashOf(compact.Bytes()):
	default:
		t.Fatalf("accepted a payload that payload_hash does not cover")
	}
}

func mustGETPayload(t *testing.T, rawQuery string) []byte {
	b, err := GETPayload(rawQuery)
	if err != nil {
		t.Fatalf("accepted an undecodable GET query")
	}
	return b
}

// assertGenuineSMS recomputes md5hash over the payload's parameters with an
// implementation independent of smsSigningString.
func assertGenuineSMS(t *testing.T, req *provider.Request, secret string) {
	p, err := parsePayload(req)
	if err != nil {
		t.Fatalf("accepted an unparseable payload")
	}
	values := map[string]string{}
	for _, kv := range p.params {
		values[kv.Name] = kv.Value
	}
	sig := values["sig"]
	delete(values, "sig")
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	// Names in byte order (docs/signatures.md#vonage) or, as @vonage/sms sorts them, in
	// UTF-16 code units.
	byUTF16 := slices.Clone(names)
	sort.Strings(names)
	sort.SliceStable(byUTF16, func(i, j int) bool {
		return slices.Compare(utf16.Encode([]rune(byUTF16[i])), utf16.Encode([]rune(byUTF16[j]))) < 0
	})
	for _, order := range [][]string{names, byUTF16} {
		var s string
		for _, n := range order {
			s += "&" + n + "=" + strings.NewReplacer("&", "_", "=", "_").Replace(values[n])
		}
		sum := md5.Sum([]byte(s + secret))
		if strings.EqualFold(strings.TrimSpace(sig), hex.EncodeToString(sum[:])) {
			return
		}
	}
	t.Fatalf("accepted an SMS sig that does not recompute")
}

// FuzzParsePayload: the payload parser, the GET hash input and the SMS
// signing string never panic, and keep one value per name.
func FuzzParsePayload(f *testing.F) {
	addVerifySeeds(f)
	f.Fuzz(func(t *testing.T, method, rawQuery, _ string, contentType string, body []byte) {
		if method != http.MethodGet {
			method = http.MethodPost
		}
		req := request(method, rawQuery, contentType, nil, body)
		p, err := parsePayload(req)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, kv := range p.params {
			if seen[kv.Name] {
				t.Fatalf("name %q twice", kv.Name)
			}
			seen[kv.Name] = true
		}
		_ = smsSigningString(p.params)
		if out, err := GETPayload(rawQuery); err == nil && !json.Valid(out) {
			t.Fatalf("GETPayload produced invalid JSON %q", out)
		}
	})
}

// FuzzNormalise: any verified-looking record either normalises into rows
// that satisfy the schema invariants or is unusable; never a panic.
func FuzzNormalise(f *testing.F) {
	addVerifySeeds(f)
	for _, b := range []string{messagesStatusJSON, voiceAnsweredJSON,
		`{"message_uuid":"w-1","message_type":"image","image":{"url":"u"},"context":{"message_uuid":"o"},"timestamp":"2024-04-04T18:32:10Z"}`,
		`{"start_time":"x","recording_url":"u","conversation_uuid":"CON-1","timestamp":"2024-04-04T18:32:12.000Z"}`,
		`{"call_uuid":"c","status":"machine"}`,
		`{"message_uuid":"m","status":"rejected","error":{"title":1320,"detail":"d"}}`} {
		f.Add(http.MethodPost, "", "", "application/json", []byte(b))
	}
	f.Fuzz(func(t *testing.T, method, rawQuery, _ string, contentType string, body []byte) {
		if method != http.MethodGet {
			method = http.MethodPost
		}
		rec := record(method, rawQuery, contentType, string(body))
		n, err := New().Normalise(rec)
		if err != nil {
			if !errors.Is(err, provider.ErrUnusable) {
				t.Fatalf("error not unusable: %v", err)
			}
			return
		}
		if n.Empty() {
			t.Fatal("no rows and no error")
		}
		for _, m := range n.Messages {
			if rank, ok := schema.MessageStatusRank(m.Status); !ok || rank != m.StatusRank || m.MessageID == "" {
				t.Fatalf("bad message row %+v", m)
			}
			checkRow(t, m.DedupKey, m.OccurredAt)
		}
		for _, r := range n.Replies {
			if r.ReplyID == "" {
				t.Fatalf("reply without id %+v", r)
			}
			checkRow(t, r.DedupKey, r.OccurredAt)
		}
		for _, c := range n.Calls {
			// A call event names its leg, or only its conversation when it
			// has none (recordings), and then it cannot carry a status.
			conversationOnly := c.CallID == "" && c.ConversationID != "" && c.Status == ""
			if rank, ok := schema.CallStatusRank(c.Status); !ok || rank != c.StatusRank || (c.CallID == "" && !conversationOnly) {
				t.Fatalf("bad call row %+v", c)
			}
			if c.Detail != "" && !json.Valid([]byte(c.Detail)) {
				t.Fatalf("detail is not JSON: %q", c.Detail)
			}
			checkRow(t, c.DedupKey, c.OccurredAt)
		}
		again, _ := New().Normalise(rec)
		if len(again.Messages)+len(again.Replies)+len(again.Calls) != len(n.Messages)+len(n.Replies)+len(n.Calls) {
			t.Fatal("normalisation is not deterministic")
		}
	})
}

func checkRow(t *testing.T, key string, at time.Time) {
	if !strings.HasPrefix(key, "vonage:") {
		t.Fatalf("dedup key %q", key)
	}
	if at.Location() != time.UTC || !provider.PlausibleTime(at) {
		t.Fatalf("occurred at %v", at)
	}
}

// FuzzParseProviderTime: accepted times are UTC and in the plausible range.
func FuzzParseProviderTime(f *testing.F) {
	for _, s := range []string{"2024-04-04T18:32:10.123Z", "2024-04-04 18:32:12", "2024-04-04T20:32:10.123+0200", "0000-00-00 00:00:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, layouts := range [][]string{isoLayouts, smsLayouts} {
			if at, ok := parseProviderTime(s, layouts); ok {
				checkRow(t, "vonage:", at)
			}
		}
	})
}
