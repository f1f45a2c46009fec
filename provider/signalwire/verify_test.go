package signalwire

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/schema"
)

// verifyCase is one request and what Verify must answer. Exactly one of
// wantKey and wantReason is set.
type verifyCase struct {
	name       string
	keys       []string // configured keys; default keyCurrent, keyPrevious
	req        func() *provider.Request
	wantKey    string        // the key that must verify (reported by fingerprint)
	wantReason schema.Reason // the rejection reason
	// detail fragments the operator diagnosis must (not) contain.
	detailHas    []string
	detailHasNot []string
}

func verifyCases() []verifyCase {
	delivered := messageStatusForm("delivered")
	deliveredBody := delivered.Encode()
	callCompleted := callStatusForm("completed")
	callCompletedBody := callCompleted.Encode()

	return []verifyCase{
		// ---- scheme A, accepted ----
		{
			name: "A form POST message status",
			req: func() *provider.Request {
				return signA(formPost(publicURL, deliveredBody), keyCurrent, publicURL, false)
			},
			wantKey: keyCurrent,
		},
		{
			name: "A call status with SHA-256 header",
			req: func() *provider.Request {
				return signA(formPost(publicURL, callCompletedBody), keyCurrent, publicURL, true)
			},
			wantKey: keyCurrent,
		},
		{
			name: "A JSON body with query in URL",
			req: func() *provider.Request {
				u := publicURL + "?tag=a%2Fb&x=1"
				return signA(jsonPost(u, jsonMessageBody), keyCurrent, u, true)
			},
			wantKey: keyCurrent,
		},
		{
			name: "A GET with query payload",
			req: func() *provider.Request {
				u := publicURL + "?" + delivered.Encode()
				return signA(get(u), keyCurrent, u, false)
			},
			wantKey: keyCurrent,
		},
		{
			name: "A upper-case hex",
			req: func() *provider.Request {
				r := signA(formPost(publicURL, deliveredBody), keyCurrent, publicURL, true)
				r.Header.Set(HeaderSignature, strings.ToUpper(r.Header.Get(HeaderSignature)))
				return r
			},
			wantKey: keyCurrent,
		},
		{
			name: "A previous key during a key reset",
			req: func() *provider.Request {
				return signA(formPost(publicURL, deliveredBody), keyPrevious, publicURL, true)
			},
			wantKey: keyPrevious,
		},
		{
			name: "A provider signed the default port",
			req: func() *provider.Request {
				return signA(formPost(publicURL, deliveredBody), keyCurrent, "https://hooks.example.com:443/hooks/sw-main", true)
			},
			wantKey: keyCurrent,
		},

		// ---- scheme B, accepted ----
		{
			name: "B form POST X-SignalWire-Signature",
			req: func() *provider.Request {
				return signBForm(formPost(publicURL, deliveredBody), HeaderSignature, keyCurrent, publicURL, delivered)
			},
			wantKey: keyCurrent,
		},
		{
			name: "B form POST X-Twilio-Signature only",
			req: func() *provider.Request {
				return signBForm(formPost(publicURL, callCompletedBody), HeaderTwilioSignature, keyCurrent, publicURL, callCompleted)
			},
			wantKey: keyCurrent,
		},
		{
			name: "B both headers with the same value and a SHA-256 header it does not use",
			req: func() *provider.Request {
				r := signBForm(formPost(publicURL, callCompletedBody), HeaderSignature, keyCurrent, publicURL, callCompleted)
				r.Header.Set(HeaderTwilioSignature, r.Header.Get(HeaderSignature))
				r.Header.Set(HeaderSHA256Signature, SignSchemeASHA256(keyCurrent, publicURL, r.Body))
				return r
			},
			wantKey: keyCurrent,
		},
		{
			name: "B previous key",
			req: func() *provider.Request {
				return signBForm(formPost(publicURL, deliveredBody), HeaderSignature, keyPrevious, publicURL, delivered)
			},
			wantKey: keyPrevious,
		},
		{
			name: "B repeated names signed in received order",
			req: func() *provider.Request {
				body := "MessageSid=SM1&MediaUrl=https%3A%2F%2Fm%2Fz&MessageStatus=received&MediaUrl=https%3A%2F%2Fm%2Fa"
				form := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"received"}, "MediaUrl": {"https://m/z", "https://m/a"}}
				return signBForm(formPost(publicURL, body), HeaderSignature, keyCurrent, publicURL, form)
			},
			wantKey: keyCurrent,
		},
		{
			name: "B repeated names signed with values sorted",
			req: func() *provider.Request {
				body := "MessageSid=SM1&MediaUrl=https%3A%2F%2Fm%2Fz&MessageStatus=received&MediaUrl=https%3A%2F%2Fm%2Fa"
				form := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"received"}, "MediaUrl": {"https://m/a", "https://m/z"}}
				return signBForm(formPost(publicURL, body), HeaderSignature, keyCurrent, publicURL, form)
			},
			wantKey: keyCurrent,
		},
		// Rows signed by the providers' own JavaScript SDKs over publicURL
		// with keyCurrent (getExpectedTwilioSignature of twilio-node 6.3.1
		// and @signalwire/compatibility-api 3.2.0, params from Node's
		// querystring.parse of the body), each checked with the same SDK's
		// validateRequest.
		{
			name:    "B twilio-node 6.x: repeated values de-duplicated and sorted",
			req:     func() *provider.Request { return sdkSigned(sdkRepeatedDup, "L3xNhoAYdnpZ9BD0jVP5Nn8k4fU=") },
			wantKey: keyCurrent,
		},
		{
			name:    "B @signalwire/compatibility-api: repeated values as received",
			req:     func() *provider.Request { return sdkSigned(sdkRepeatedDup, "fOQ9I+BiX/VKoq/48UurMe5Oj1c=") },
			wantKey: keyCurrent,
		},
		{
			name:    "B JavaScript SDKs: names beyond the BMP sorted by UTF-16 code units",
			req:     func() *provider.Request { return sdkSigned(sdkNonBMPNames, "NfLOER3sBcPH5go/Q9bmUFnat8M=") },
			wantKey: keyCurrent,
		},
		{
			name:    "B twilio-node 6.x: repeated values beyond the BMP sorted by UTF-16 code units, de-duplicated",
			req:     func() *provider.Request { return sdkSigned(sdkNonBMPValues, "9Q2zDaO21w4GJA4nqy/3JO0KNic=") },
			wantKey: keyCurrent,
		},
		{
			name:    "B @signalwire/compatibility-api: repeated values beyond the BMP as received",
			req:     func() *provider.Request { return sdkSigned(sdkNonBMPValues, "4WmE5Jlnk1ydbILc6mfAnQpuDcU=") },
			wantKey: keyCurrent,
		},
		{
			name:    "B twilio-node 6.x: UTF-16 names and de-duplicated sorted values together",
			req:     func() *provider.Request { return sdkSigned(sdkMixed, "9uc6hshX/jMUvFr7Fr/EBFiaFps=") },
			wantKey: keyCurrent,
		},
		{
			name:    "B @signalwire/compatibility-api: UTF-16 names, values as received",
			req:     func() *provider.Request { return sdkSigned(sdkMixed, "tqFYn11nfmwCnbpGX5JphjPTaVA=") },
			wantKey: keyCurrent,
		},
		{
			name:    "B twilio-node 6.x: repeated media URLs sorted",
			req:     func() *provider.Request { return sdkSigned(sdkMedia, "FpI3aCX0F/NnKyVs0swyw99sreQ=") },
			wantKey: keyCurrent,
		},
		{
			name: "B GET signs the URL alone",
			req: func() *provider.Request {
				u := publicURL + "?" + delivered.Encode()
				return signBForm(get(u), HeaderTwilioSignature, keyCurrent, u, nil)
			},
			wantKey: keyCurrent,
		},
		{
			name: "B form POST with a query: query stays in the URL, not in the params",
			req: func() *provider.Request {
				u := publicURL + "?tenant_ref=42&x=%7Bq%7D"
				return signBForm(formPost(u, deliveredBody), HeaderSignature, keyCurrent, u, delivered)
			},
			wantKey: keyCurrent,
		},
		{
			name: "B empty form POST",
			req: func() *provider.Request {
				return signBForm(formPost(publicURL, ""), HeaderSignature, keyCurrent, publicURL, nil)
			},
			wantKey: keyCurrent,
		},
		{
			name: "B JSON body with bodySHA256",
			req: func() *provider.Request {
				u, sig := SignSchemeBJSON(keyCurrent, publicURL, []byte(jsonMessageBody))
				r := jsonPost(u, jsonMessageBody)
				r.Header.Set(HeaderSignature, sig)
				return r
			},
			wantKey: keyCurrent,
		},
		{
			name: "B JSON body with an upper-case bodySHA256 (kept lenient)",
			req: func() *provider.Request {
				u := strings.ToUpper(WithBodySHA256(publicURL, []byte(jsonMessageBody))[len(publicURL):])
				u = publicURL + "?bodySHA256=" + u[len("?BODYSHA256="):]
				r := jsonPost(u, jsonMessageBody)
				r.Header.Set(HeaderSignature, SignSchemeB(keyCurrent, u, nil))
				return r
			},
			wantKey: keyCurrent,
		},
		{
			name: "B form with a Latin-1 byte verified byte-exact (kept)",
			req: func() *provider.Request {
				form := url.Values{"MessageSid": {"SM1"}, "Body": {"caf\xe9"}}
				return signBForm(formPost(publicURL, "MessageSid=SM1&Body=caf%E9"), HeaderSignature, keyCurrent, publicURL, form)
			},
			wantKey: keyCurrent,
		},
		{
			name: "B received URL has :443, provider signed without port",
			req: func() *provider.Request {
				return signBForm(formPost("https://hooks.example.com:443/hooks/sw-main", deliveredBody), HeaderSignature, keyCurrent, publicURL, delivered)
			},
			wantKey: keyCurrent,
		},
		{
			name: "B received URL without port, provider signed :80",
			req: func() *provider.Request {
				return signBForm(formPost("http://hooks.example.com/hooks/sw-main?a=1", deliveredBody), HeaderSignature, keyCurrent, "http://hooks.example.com:80/hooks/sw-main?a=1", delivered)
			},
			wantKey: keyCurrent,
		},

		// ---- missing_signature ----
		{
			name:       "no signature header",
			req:        func() *provider.Request { return formPost(publicURL, deliveredBody) },
			wantReason: schema.ReasonMissingSignature,
		},
		{
			name: "empty signature header",
			req: func() *provider.Request {
				r := formPost(publicURL, deliveredBody)
				r.Header.Set(HeaderSignature, "  ")
				return r
			},
			wantReason: schema.ReasonMissingSignature,
		},
		{
			name: "only the SHA-256 header",
			req: func() *provider.Request {
				r := formPost(publicURL, deliveredBody)
				r.Header.Set(HeaderSHA256Signature, SignSchemeASHA256(keyCurrent, publicURL, r.Body))
				return r
			},
			wantReason: schema.ReasonMissingSignature,
			detailHas:  []string{HeaderSHA256Signature},
		},
		{
			name:       "precedence: missing signature beats malformed body",
			req:        func() *provider.Request { return formPost(publicURL, "MessageSid=%zz") },
			wantReason: schema.ReasonMissingSignature,
		},

		// ---- malformed ----
		{
			name: "B malformed urlencoded body",
			req: func() *provider.Request {
				body := "MessageSid=SM1&Body=100%"
				r := formPost(publicURL, body)
				r.Header.Set(HeaderSignature, SignSchemeB(keyCurrent, publicURL, url.Values{"MessageSid": {"SM1"}}))
				return r
			},
			wantReason: schema.ReasonMalformed,
		},
		{
			name: "precedence: malformed body beats undecodable signature",
			req: func() *provider.Request {
				r := formPost(publicURL, "MessageSid=%G1")
				r.Header.Set(HeaderTwilioSignature, "not base64 at all!")
				return r
			},
			wantReason: schema.ReasonMalformed,
		},
		{
			name: "A malformed JSON body",
			req: func() *provider.Request {
				return signA(jsonPost(publicURL, `{"MessageSid":"SM1",`), keyCurrent, publicURL, false)
			},
			wantReason: schema.ReasonMalformed,
		},
		{
			name: "B form over the parameter bound is malformed before any HMAC",
			req: func() *provider.Request {
				r := formPost(publicURL, "MessageSid=SM1"+strings.Repeat("&NumMedia=0", provider.MaxParams))
				r.Header.Set(HeaderSignature, SignSchemeB(keyCurrent, publicURL, nil))
				return r
			},
			wantReason: schema.ReasonMalformed,
			detailHas:  []string{"1001 '&'-separated pairs", "more than 1000 parameters"},
		},
		{
			name: "A GET query over the parameter bound is malformed",
			req: func() *provider.Request {
				u := publicURL + "?MessageSid=SM1" + strings.Repeat("&a=1", provider.MaxParams)
				return signA(get(u), keyCurrent, u, false)
			},
			wantReason: schema.ReasonMalformed,
		},
		{
			name: "GET with an undecodable query",
			req: func() *provider.Request {
				u := publicURL + "?MessageSid=SM1&Body=%E2%8"
				return signBForm(get(u), HeaderSignature, keyCurrent, u, nil)
			},
			wantReason: schema.ReasonMalformed,
		},

		// ---- bad_signature ----
		{
			name: "B undecodable signature",
			req: func() *provider.Request {
				r := formPost(publicURL, deliveredBody)
				r.Header.Set(HeaderTwilioSignature, "%%%not-base64%%%")
				return r
			},
			wantReason: schema.ReasonBadSignature,
			detailHas:  []string{"neither 40 hex digits"},
		},
		{
			name: "B base64 of the wrong length",
			req: func() *provider.Request {
				r := formPost(publicURL, deliveredBody)
				r.Header.Set(HeaderSignature, base64.StdEncoding.EncodeToString(make([]byte, 32)))
				return r
			},
			wantReason: schema.ReasonBadSignature,
		},
		{
			name: "B non-canonical base64 (padding bits set)",
			req: func() *provider.Request {
				r := signBForm(formPost(publicURL, deliveredBody), HeaderSignature, keyCurrent, publicURL, delivered)
				sig := []byte(r.Header.Get(HeaderSignature))
				// The 27th character carries 2 padding bits; flipping the
				// lowest one decodes to the same bytes without Strict.
				sig[26] = flipLowBit(sig[26])
				r.Header.Set(HeaderSignature, string(sig))
				return r
			},
			wantReason: schema.ReasonBadSignature,
		},
		{
			// The base64 decoder skips line breaks; found by FuzzVerify.
			name: "B non-canonical base64 (line break inside)",
			req: func() *provider.Request {
				r := signBForm(formPost(publicURL, deliveredBody), HeaderSignature, keyCurrent, publicURL, delivered)
				sig := r.Header.Get(HeaderSignature)
				r.Header.Set(HeaderSignature, sig[:11]+"\n"+sig[11:])
				return r
			},
			wantReason: schema.ReasonBadSignature,
		},
		{
			name: "A 40 hex digits in X-Twilio-Signature are not scheme A",
			req: func() *provider.Request {
				r := formPost(publicURL, deliveredBody)
				r.Header.Set(HeaderTwilioSignature, SignSchemeA(keyCurrent, publicURL, r.Body))
				return r
			},
			wantReason: schema.ReasonBadSignature,
		},
		{
			name: "A unknown key",
			req: func() *provider.Request {
				return signA(formPost(publicURL, deliveredBody), keyWrong, publicURL, true)
			},
			wantReason: schema.ReasonBadSignature,
			detailHas:  []string{"scheme A", publicURL, "https://hooks.example.com:443/hooks/sw-main", "no alternative URLs"},
		},
		{
			name: "A tampered body",
			req: func() *provider.Request {
				r := signA(formPost(publicURL, deliveredBody), keyCurrent, publicURL, false)
				r.Body = []byte(strings.Replace(string(r.Body), "delivered", "failed", 1))
				return r
			},
			wantReason: schema.ReasonBadSignature,
		},
		{
			name: "A SHA-1 fine, SHA-256 wrong",
			req: func() *provider.Request {
				r := signA(formPost(publicURL, callCompletedBody), keyCurrent, publicURL, true)
				r.Header.Set(HeaderSHA256Signature, SignSchemeASHA256(keyWrong, publicURL, r.Body))
				return r
			},
			wantReason: schema.ReasonBadSignature,
			detailHas:  []string{"HMAC-SHA1 alone verifies", provider.SecretFingerprint(keyCurrent)},
		},
		{
			name: "A SHA-256 header not hex",
			req: func() *provider.Request {
				r := signA(formPost(publicURL, callCompletedBody), keyCurrent, publicURL, false)
				r.Header.Set(HeaderSHA256Signature, "zz")
				return r
			},
			wantReason: schema.ReasonBadSignature,
		},
		{
			name: "B tampered parameter",
			req: func() *provider.Request {
				tampered := messageStatusForm("delivered")
				tampered.Set("To", "+15550000000")
				return signBForm(formPost(publicURL, tampered.Encode()), HeaderSignature, keyCurrent, publicURL, delivered)
			},
			wantReason: schema.ReasonBadSignature,
		},
		{
			name: "B GET signed with the query params appended again is not accepted",
			req: func() *provider.Request {
				u := publicURL + "?" + delivered.Encode()
				return signBForm(get(u), HeaderSignature, keyCurrent, u, delivered)
			},
			wantReason: schema.ReasonBadSignature,
		},
		{
			name: "B JSON body without bodySHA256 is not covered",
			req: func() *provider.Request {
				return signBForm(jsonPost(publicURL, jsonMessageBody), HeaderSignature, keyCurrent, publicURL, nil)
			},
			wantReason: schema.ReasonBadSignature,
			detailHas:  []string{"bodySHA256"},
		},
		{
			name: "B near miss: provider signed the internal URL (wrong public_url)",
			req: func() *provider.Request {
				r := signBForm(formPost(publicURL, deliveredBody), HeaderSignature, keyCurrent, internalURL, delivered)
				r.AltURLs = provider.URLs("http://hooks.example.com/hooks/sw-main", internalURL)
				return r
			},
			wantReason: schema.ReasonBadSignature,
			detailHas: []string{"NEAR MISS", "would have verified over " + internalURL,
				provider.SecretFingerprint(keyCurrent), "http://hooks.example.com:80/hooks/sw-main", "public_url"},
		},
		{
			name: "B near miss through a port variant of an alternative URL",
			req: func() *provider.Request {
				r := signBForm(formPost(publicURL, deliveredBody), HeaderSignature, keyCurrent, "http://hooks.example.com:80/hooks/sw-main", delivered)
				r.AltURLs = provider.URLs("http://hooks.example.com/hooks/sw-main")
				return r
			},
			wantReason: schema.ReasonBadSignature,
			detailHas:  []string{"NEAR MISS", "would have verified over http://hooks.example.com:80/hooks/sw-main"},
		},
		{
			name: "A near miss: provider signed http behind a TLS proxy",
			req: func() *provider.Request {
				r := signA(formPost(publicURL, callCompletedBody), keyCurrent, "http://hooks.example.com/hooks/sw-main", true)
				r.AltURLs = provider.URLs("http://hooks.example.com/hooks/sw-main")
				return r
			},
			wantReason: schema.ReasonBadSignature,
			detailHas:  []string{"NEAR MISS", "scheme A"},
		},
		{
			name: "B alternatives tried, none verifies",
			req: func() *provider.Request {
				r := signBForm(formPost(publicURL, deliveredBody), HeaderSignature, keyWrong, publicURL, delivered)
				r.AltURLs = provider.URLs(internalURL)
				return r
			},
			wantReason:   schema.ReasonBadSignature,
			detailHas:    []string{internalURL, "http://10.0.3.7/hooks/sw-main", "none would have verified"},
			detailHasNot: []string{"NEAR MISS"},
		},
		{
			name: "B twilio-node signature over a changed value: the parameters are suspects too",
			req: func() *provider.Request {
				r := sdkSigned(strings.Replace(sdkMixed, "Tag=a", "Tag=z", 1), "9uc6hshX/jMUvFr7Fr/EBFiaFps=")
				r.AltURLs = provider.URLs(internalURL)
				return r
			},
			wantReason: schema.ReasonBadSignature,
			detailHas: []string{"parameter spellings tried: [names in byte order, repeated values as received; ",
				"names in UTF-16 order, repeated values sorted without duplicates]",
				"URL variants [" + publicURL + ", https://hooks.example.com:443/hooks/sw-main]",
				"none would have verified", "form parameters differ from those it signed"},
		},
		{
			name: "B wrong key, nothing to try: the parameters are suspects too",
			req: func() *provider.Request {
				return signBForm(formPost(publicURL, deliveredBody), HeaderSignature, keyWrong, publicURL, delivered)
			},
			wantReason: schema.ReasonBadSignature,
			detailHas: []string{"parameter spellings tried: [names in byte order, repeated values as received = ",
				"no alternative URLs to try", "form parameters differ"},
		},
		{
			name: "B near miss reports the spelling that verified",
			req: func() *provider.Request {
				r := sdkSigned(sdkMixed, "9uc6hshX/jMUvFr7Fr/EBFiaFps=")
				r.URL = internalURL
				r.AltURLs = provider.URLs(publicURL)
				return r
			},
			wantReason: schema.ReasonBadSignature,
			detailHas:  []string{"NEAR MISS", "parameters spelled: names in UTF-16 order, repeated values sorted without duplicates"},
		},
		{
			name: "B key removed from config",
			keys: []string{keyCurrent},
			req: func() *provider.Request {
				return signBForm(formPost(publicURL, deliveredBody), HeaderSignature, keyPrevious, publicURL, delivered)
			},
			wantReason: schema.ReasonBadSignature,
			detailHas:  []string{"none of 1 configured keys"},
		},

		// ---- payload_hash_mismatch ----
		{
			name: "B bodySHA256 signature fine, body changed",
			req: func() *provider.Request {
				u, sig := SignSchemeBJSON(keyCurrent, publicURL, []byte(jsonMessageBody))
				r := jsonPost(u, strings.Replace(jsonMessageBody, "delivered", "failed", 1))
				r.Header.Set(HeaderSignature, sig)
				return r
			},
			wantReason: schema.ReasonPayloadHashMismatch,
			detailHas:  []string{provider.SecretFingerprint(keyCurrent)},
		},
		{
			name: "B bodySHA256 not hex, signature fine",
			req: func() *provider.Request {
				u := publicURL + "?bodySHA256=not-a-hash"
				r := jsonPost(u, jsonMessageBody)
				r.Header.Set(HeaderTwilioSignature, SignSchemeB(keyCurrent, u, nil))
				return r
			},
			wantReason: schema.ReasonPayloadHashMismatch,
		},
		{
			name: "precedence: bad signature beats payload hash mismatch",
			req: func() *provider.Request {
				u, sig := SignSchemeBJSON(keyWrong, publicURL, []byte(jsonMessageBody))
				r := jsonPost(u, `{"MessageSid":"forged"}`)
				r.Header.Set(HeaderSignature, sig)
				return r
			},
			wantReason: schema.ReasonBadSignature,
		},
	}
}

// Form bodies of the SDK-signed rows. Their parameters make the spellings
// differ: a repeated name with a duplicate value, names and values with
// U+FF61 (above U+E000 in the BMP) next to U+1F600 (outside it), whose
// byte order and UTF-16 order disagree.
const (
	sdkRepeatedDup  = "MessageSid=SM1&MessageStatus=received&Tag=same&Tag=same&Tag=other"
	sdkNonBMPNames  = "MessageSid=SM1&%EF%BD%A1=a&%F0%9F%98%80=b"
	sdkNonBMPValues = "MessageSid=SM1&Tag=%F0%9F%98%80&Tag=%EF%BD%A1&Tag=%EF%BD%A1"
	sdkMixed        = "MessageSid=SM1&%EF%BD%A1=a&Tag=b&%F0%9F%98%80=c&Tag=a&Tag=b&NumMedia=0"
	sdkMedia        = "MessageSid=SM1&MediaUrl=https%3A%2F%2Fm%2Fz&MessageStatus=received&MediaUrl=https%3A%2F%2Fm%2Fa"
)

// sdkSigned is a form POST of body to publicURL carrying an SDK-computed
// X-Twilio-Signature.
func sdkSigned(body, signature string) *provider.Request {
	r := formPost(publicURL, body)
	r.Header.Set(HeaderTwilioSignature, signature)
	return r
}

// flipLowBit changes a base64 character to the one whose 6-bit value
// differs in the lowest bit.
func flipLowBit(c byte) byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	i := strings.IndexByte(alphabet, c)
	return alphabet[i^1]
}

func TestVerify(t *testing.T) {
	for _, tc := range verifyCases() {
		t.Run(tc.name, func(t *testing.T) {
			keys := tc.keys
			if keys == nil {
				keys = []string{keyCurrent, keyPrevious}
			}
			v := newTestVerifier(t, keys...)
			req := tc.req()
			got, err := v.Verify(context.Background(), req)

			if tc.wantKey != "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if want := provider.SecretFingerprint(tc.wantKey); got.KeyID != want {
					t.Fatalf("KeyID = %q, want %q", got.KeyID, want)
				}
				return
			}

			var rej *provider.Rejection
			if !errors.As(err, &rej) {
				t.Fatalf("Verify = %+v, %v; want rejection %s", got, err, tc.wantReason)
			}
			if rej.Reason != tc.wantReason {
				t.Fatalf("reason = %s, want %s (detail: %s)", rej.Reason, tc.wantReason, rej.Detail)
			}
			for _, frag := range tc.detailHas {
				if !strings.Contains(rej.Detail, frag) {
					t.Errorf("detail lacks %q:\n%s", frag, rej.Detail)
				}
			}
			for _, frag := range tc.detailHasNot {
				if strings.Contains(rej.Detail, frag) {
					t.Errorf("detail has %q:\n%s", frag, rej.Detail)
				}
			}
			assertNoSecrets(t, rej.Detail, req)
		})
	}
}

// assertNoSecrets fails when a diagnosis contains a key, a received
// signature, or any signature a configured key would produce for the
// request's URLs (an expected value would let a forger skip the key).
func assertNoSecrets(t *testing.T, detail string, req *provider.Request) {
	t.Helper()
	for _, k := range []string{keyCurrent, keyPrevious, keyWrong} {
		if strings.Contains(detail, k) {
			t.Errorf("detail contains a signing key: %s", detail)
		}
		for _, u := range append([]string{req.URL}, req.Alternatives()...) {
			for _, v := range portVariants(u) {
				if strings.Contains(detail, SignSchemeA(k, v, req.Body)) ||
					strings.Contains(detail, SignSchemeASHA256(k, v, req.Body)) ||
					strings.Contains(detail, SignSchemeB(k, v, nil)) {
					t.Errorf("detail contains an expected signature: %s", detail)
				}
			}
		}
	}
	for _, h := range []string{HeaderSignature, HeaderTwilioSignature, HeaderSHA256Signature} {
		if s := strings.TrimSpace(req.Header.Get(h)); len(s) > 8 && strings.Contains(detail, s) {
			t.Errorf("detail contains the received %s: %s", h, detail)
		}
	}
}

// TestEveryReasonReached guards the table: each reason SignalWire can
// produce is exercised by at least one row.
func TestEveryReasonReached(t *testing.T) {
	reached := map[schema.Reason]bool{}
	for _, tc := range verifyCases() {
		reached[tc.wantReason] = true
	}
	for _, r := range []schema.Reason{
		schema.ReasonMissingSignature, schema.ReasonMalformed,
		schema.ReasonBadSignature, schema.ReasonPayloadHashMismatch,
	} {
		if !reached[r] {
			t.Errorf("no row rejects with %s", r)
		}
	}
}

// TestSignHelpersMatchDocs recomputes the helpers' output by hand from the
// definitions of docs/signatures.md#signalwire, so a bug shared by signer and verifier cannot hide.
func TestSignHelpersMatchDocs(t *testing.T) {
	body := []byte("CallSid=CA1&CallStatus=ringing")
	mac := hmac.New(sha1.New, []byte(keyCurrent))
	mac.Write([]byte(publicURL + string(body)))
	if got, want := SignSchemeA(keyCurrent, publicURL, body), hexString(mac.Sum(nil)); got != want {
		t.Errorf("SignSchemeA = %s, want %s", got, want)
	}
	mac = hmac.New(sha256.New, []byte(keyCurrent))
	mac.Write([]byte(publicURL + string(body)))
	if got, want := SignSchemeASHA256(keyCurrent, publicURL, body), hexString(mac.Sum(nil)); got != want {
		t.Errorf("SignSchemeASHA256 = %s, want %s", got, want)
	}

	form := url.Values{"To": {"+1555"}, "Body": {"hi"}, "MediaUrl": {"b", "a"}, "AccountSid": {"AC1"}}
	mac = hmac.New(sha1.New, []byte(keyCurrent))
	mac.Write([]byte(publicURL + "AccountSidAC1" + "Bodyhi" + "MediaUrlb" + "MediaUrla" + "To+1555"))
	if got, want := SignSchemeB(keyCurrent, publicURL, form), base64.StdEncoding.EncodeToString(mac.Sum(nil)); got != want {
		t.Errorf("SignSchemeB = %s, want %s", got, want)
	}

	u, sig := SignSchemeBJSON(keyCurrent, publicURL+"?a=1", []byte(`{}`))
	const emptyObjectSHA256 = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
	if want := publicURL + "?a=1&bodySHA256=" + emptyObjectSHA256; u != want {
		t.Errorf("SignSchemeBJSON url = %s, want %s", u, want)
	}
	mac = hmac.New(sha1.New, []byte(keyCurrent))
	mac.Write([]byte(u))
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); sig != want {
		t.Errorf("SignSchemeBJSON sig = %s, want %s", sig, want)
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestPortVariants(t *testing.T) {
	tests := []struct{ in, variant string }{
		{"https://h.example.com/hooks/sw", "https://h.example.com:443/hooks/sw"},
		{"http://h.example.com/hooks/sw?a=1:2", "http://h.example.com:80/hooks/sw?a=1:2"},
		{"https://h.example.com:443/x", "https://h.example.com/x"},
		{"https://h.example.com:8443/x?p=:9", "https://h.example.com/x?p=:9"},
		{"http://h.example.com:80", "http://h.example.com"},
		{"https://h.example.com", "https://h.example.com:443"},
		{"https://h.example.com?q=1", "https://h.example.com:443?q=1"},
		{"HTTPS://h.example.com/x", "HTTPS://h.example.com:443/x"},
		{"https://user:pw@h.example.com/x", "https://user:pw@h.example.com:443/x"},
		{"https://[2001:db8::1]/x", "https://[2001:db8::1]:443/x"},
		{"https://[2001:db8::1]:8443/x", "https://[2001:db8::1]/x"},
		{"ftp://h.example.com/x", ""},
		{"not a url", ""},
		{"https:///x", ""},
		{"https://h:abc/x", ""},
	}
	for _, tc := range tests {
		got := portVariants(tc.in)
		want := []string{tc.in}
		if tc.variant != "" {
			want = append(want, tc.variant)
		}
		if strings.Join(got, " | ") != strings.Join(want, " | ") {
			t.Errorf("portVariants(%q) = %q, want %q", tc.in, got, want)
		}
	}
}

func TestNewVerifierSettings(t *testing.T) {
	tests := []struct {
		name    string
		block   string
		wantErr string // substring; empty means valid
	}{
		{"one key", "signing_keys: [\"" + keyCurrent + "\"]", ""},
		{"two keys", "signing_keys:\n  - " + keyCurrent + "\n  - " + keyPrevious, ""},
		{"scalar key", "signing_keys: " + keyCurrent, ""},
		{"missing", "{}", "signing_keys: at least one signing key is required"},
		{"null", "signing_keys:", "signing_keys: at least one"},
		{"empty list", "signing_keys: []", "signing_keys: at least one"},
		{"blank entry", "signing_keys: [\"" + keyCurrent + "\", \"\"]", "signing_keys[1]: empty"},
		{"whitespace", "signing_keys: [\" " + keyCurrent + "\"]", "signing_keys[0]: has leading or trailing whitespace"},
		{"duplicate", "signing_keys: [" + keyCurrent + ", " + keyPrevious + ", " + keyCurrent + "]", "signing_keys[2]: same key as signing_keys[0]"},
		{"mapping", "signing_keys: {a: " + keyCurrent + "}", "signing_keys: expected a list of strings"},
		{"nested list", "signing_keys: [[" + keyCurrent + "]]", "signing_keys[0]: expected a string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New().NewVerifier(yamlSource(tc.block), provider.Deps{})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("NewVerifier: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			for _, k := range []string{keyCurrent, keyPrevious, keyCurrent[:10]} {
				if strings.Contains(err.Error(), k) {
					t.Fatalf("error reveals a key: %v", err)
				}
			}
		})
	}
}

func TestAck(t *testing.T) {
	ct, body := New().Ack("0190f5c2-0000-7000-8000-000000000000")
	if ct != "application/xml" {
		t.Errorf("content type %q", ct)
	}
	const want = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`
	if string(body) != want {
		t.Errorf("body %q", body)
	}
	body[0] = 'X' // a caller may modify its copy
	if _, again := New().Ack(""); string(again) != want {
		t.Error("Ack body shared between calls")
	}
	if New().Name() != "signalwire" {
		t.Error("Name")
	}
}

// TestVerifyIgnoresHeaderCase checks header lookups are canonical: a
// request built from the wire has canonical keys, but ingest may pass a
// header map built by hand.
func TestVerifyHeaderCanonicalisation(t *testing.T) {
	v := newTestVerifier(t, keyCurrent)
	r := formPost(publicURL, messageStatusForm("sent").Encode())
	h := http.Header{}
	h.Set("content-type", "application/x-www-form-urlencoded")
	h.Set("x-twilio-signature", SignSchemeB(keyCurrent, publicURL, messageStatusForm("sent")))
	r.Header = h
	if _, err := v.Verify(context.Background(), r); err != nil {
		t.Fatal(err)
	}
}
