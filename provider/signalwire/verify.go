package signalwire

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/schema"
)

// Canonical forms of the signature headers: http.Header.Get canonicalises
// its argument, allocating when the spelling is not canonical already.
var (
	canonicalSignature       = http.CanonicalHeaderKey(HeaderSignature)
	canonicalSHA256Signature = http.CanonicalHeaderKey(HeaderSHA256Signature)
	canonicalTwilioSignature = http.CanonicalHeaderKey(HeaderTwilioSignature)
)

// signingKey is one configured key with the id that names it in records.
type signingKey struct {
	secret []byte
	id     string // provider.SecretFingerprint(secret); never the secret
}

// verifier verifies the callbacks of one source. It is immutable after
// construction and safe for concurrent use.
type verifier struct {
	keys []signingKey // in configured order; the first that verifies wins
}

func newVerifier(keys []string) *verifier {
	v := &verifier{keys: make([]signingKey, len(keys))}
	for i, k := range keys {
		v.keys[i] = signingKey{secret: []byte(k), id: provider.SecretFingerprint(k)}
	}
	return v
}

// macCheck is one signature the signed bytes must produce: the HMAC with
// newHash must equal want (already decoded from hex or base64).
type macCheck struct {
	newHash func() hash.Hash
	want    []byte
}

// match is the outcome of trying every key over URL variants and
// string-to-sign tails.
type match struct {
	ok  bool
	key int    // index into verifier.keys
	url string // the URL variant that verified
}

// scheme describes what one verification attempt signs, so that the
// acceptance path and the diagnosis path use exactly the same bytes.
type scheme struct {
	name   string   // for diagnoses, e.g. "scheme A (X-SignalWire-Signature, hex HMAC-SHA1 of URL + raw body)"
	tails  [][]byte // what follows the URL in the signed bytes; any one may match
	checks []macCheck
}

// Verify implements provider.Verifier. Checks run in SPEC §4 precedence:
// missing_signature, malformed, bad_signature, payload_hash_mismatch.
// SignalWire signatures carry no timestamp or nonce, so stale_timestamp and
// replayed never apply.
func (v *verifier) Verify(_ context.Context, req *provider.Request) (provider.Verified, error) {
	sw := strings.TrimSpace(req.Header.Get(canonicalSignature))
	tw := strings.TrimSpace(req.Header.Get(canonicalTwilioSignature))
	if sw == "" && tw == "" {
		detail := "no " + HeaderSignature + " or " + HeaderTwilioSignature + " header"
		if strings.TrimSpace(req.Header.Get(canonicalSHA256Signature)) != "" {
			detail += " (" + HeaderSHA256Signature + " alone does not identify a scheme)"
		}
		return provider.Verified{}, provider.Reject(schema.ReasonMissingSignature, "%s", detail)
	}

	formParams, err := req.CheckPayload()
	if err != nil {
		return provider.Verified{}, provider.Reject(schema.ReasonMalformed, "%v", err)
	}

	// Scheme choice (SPEC §5): 40 hex digits in X-SignalWire-Signature is
	// scheme A; anything else is tried as scheme B. X-Twilio-Signature is
	// only consulted when X-SignalWire-Signature is absent: SignalWire sends
	// the same value in both.
	if sw != "" && isHexSHA1(sw) {
		return v.verifySchemeA(req, sw)
	}
	header, sig := HeaderSignature, sw
	if sig == "" {
		header, sig = HeaderTwilioSignature, tw
	}
	return v.verifySchemeB(req, header, sig, formParams)
}

// verifySchemeA checks hex HMAC-SHA1(key, URL + raw body) and, when
// present, the hex HMAC-SHA256 of the same bytes with the same key.
func (v *verifier) verifySchemeA(req *provider.Request, sigHex string) (provider.Verified, error) {
	sha1Sig, _ := hex.DecodeString(sigHex) // cannot fail: isHexSHA1
	s := scheme{
		name:   "scheme A (" + HeaderSignature + ", hex HMAC-SHA1 of URL + raw body)",
		tails:  [][]byte{req.Body},
		checks: []macCheck{{newHash: sha1.New, want: sha1Sig}},
	}
	if h := strings.TrimSpace(req.Header.Get(canonicalSHA256Signature)); h != "" {
		sha256Sig, err := hex.DecodeString(h)
		if err != nil || len(sha256Sig) != sha256.Size {
			return provider.Verified{}, provider.Reject(schema.ReasonBadSignature,
				"%s is not %d hex digits (a hex HMAC-SHA256)", HeaderSHA256Signature, 2*sha256.Size)
		}
		s.name = "scheme A (" + HeaderSignature + " hex HMAC-SHA1 and " + HeaderSHA256Signature + " hex HMAC-SHA256 of URL + raw body)"
		s.checks = append(s.checks, macCheck{newHash: sha256.New, want: sha256Sig})
	}

	if m := v.matchSigned(req.URL, s); m.ok {
		return provider.Verified{KeyID: v.keys[m.key].id}, nil
	}

	urls := portVariants(req.URL)
	detail := v.diagnose(req, urls, s)
	if len(s.checks) == 2 {
		// Say which half failed: a SHA-1 that verifies alone points at the
		// SHA-256 header (or a provider change), not at the key or URL.
		sha1Only := scheme{tails: s.tails, checks: s.checks[:1]}
		if m := v.match(urls, sha1Only); m.ok {
			detail += fmt.Sprintf("; the HMAC-SHA1 alone verifies over %s with key %s but %s does not",
				m.url, v.keys[m.key].id, HeaderSHA256Signature)
		}
	}
	return provider.Verified{}, provider.Reject(schema.ReasonBadSignature, "%s", detail)
}

// verifySchemeB checks base64 HMAC-SHA1(key, URL + sorted form parameters),
// or, when the URL carries bodySHA256, the URL alone and then the body hash.
func (v *verifier) verifySchemeB(req *provider.Request, header, sig string, formParams []provider.Param) (provider.Verified, error) {
	sigBytes, err := base64.StdEncoding.Strict().DecodeString(sig)
	// The decoder skips CR and LF anywhere in its input; re-encoding keeps
	// the accepted spelling of a signature to the one the provider sends.
	if err != nil || len(sigBytes) != sha1.Size || base64.StdEncoding.EncodeToString(sigBytes) != sig {
		return provider.Verified{}, provider.Reject(schema.ReasonBadSignature,
			"%s is neither 40 hex digits (scheme A) nor the base64 of a %d-byte HMAC-SHA1 (scheme B)", header, sha1.Size)
	}

	s := scheme{checks: []macCheck{{newHash: sha1.New, want: sigBytes}}}
	bodyHash, hasBodyHash := queryParam(req.RawQuery(), bodyHashParam)
	switch {
	case hasBodyHash:
		s.name = "scheme B (" + header + ", base64 HMAC-SHA1 of the URL carrying " + bodyHashParam + ")"
		s.tails = [][]byte{nil}
	case req.Method == http.MethodGet:
		s.name = "scheme B (" + header + ", base64 HMAC-SHA1 of the URL of a GET)"
		s.tails = [][]byte{nil}
	case req.IsForm():
		s.tails = paramTails(formParams)
		s.name = fmt.Sprintf("scheme B (%s, base64 HMAC-SHA1 of URL + %d form parameters sorted by name", header, len(formParams))
		if len(s.tails) > 1 {
			s.name += "; repeated names tried with values in received and in sorted order"
		}
		s.name += ")"
	case len(req.Body) == 0:
		s.name = "scheme B (" + header + ", base64 HMAC-SHA1 of the URL; empty body)"
		s.tails = [][]byte{nil}
	default:
		// Accepting this would authenticate the URL but not the body that
		// normalisation then reads.
		return provider.Verified{}, provider.Reject(schema.ReasonBadSignature,
			"scheme B (%s) does not cover this %d-byte %q body: form bodies are signed as parameters, JSON bodies only through %s in the URL, which is absent",
			header, len(req.Body), req.Header.Get("Content-Type"), bodyHashParam)
	}

	m := v.matchSigned(req.URL, s)
	if !m.ok {
		return provider.Verified{}, provider.Reject(schema.ReasonBadSignature, "%s", v.diagnose(req, portVariants(req.URL), s))
	}
	keyID := v.keys[m.key].id
	if hasBodyHash {
		sum := sha256.Sum256(req.Body)
		claimed, err := hex.DecodeString(bodyHash)
		if err != nil || !hmac.Equal(claimed, sum[:]) {
			return provider.Verified{}, provider.Reject(schema.ReasonPayloadHashMismatch,
				"signature verified over %s with key %s, but %s in the URL is not the SHA-256 of the %d-byte body",
				m.url, keyID, bodyHashParam, len(req.Body))
		}
	}
	return provider.Verified{KeyID: keyID}, nil
}

// matchSigned tries the URL as signed, then its port variant (SPEC §5),
// computing the variant only when the URL as signed does not verify.
func (v *verifier) matchSigned(signedURL string, s scheme) match {
	if m := v.matchURL(signedURL, s); m.ok {
		return m
	}
	if variant, ok := portVariant(signedURL); ok {
		return v.matchURL(variant, s)
	}
	return match{}
}

// match tries every URL and returns the first match.
func (v *verifier) match(urls []string, s scheme) match {
	for _, u := range urls {
		if m := v.matchURL(u, s); m.ok {
			return m
		}
	}
	return match{}
}

// matchURL tries every key (in configured order) and tail over one URL and
// returns the first combination for which every check of s holds.
func (v *verifier) matchURL(signedURL string, s scheme) match {
	for k := range v.keys {
		for _, tail := range s.tails {
			if macsMatch(v.keys[k].secret, signedURL, tail, s.checks) {
				return match{ok: true, key: k, url: signedURL}
			}
		}
	}
	return match{}
}

// macsMatch reports whether HMAC(secret, signedURL + tail) equals the wanted
// value of every check. Comparisons are constant-time.
func macsMatch(secret []byte, signedURL string, tail []byte, checks []macCheck) bool {
	var sum [sha256.Size]byte
	for _, c := range checks {
		mac := hmac.New(c.newHash, secret)
		mac.Write([]byte(signedURL))
		mac.Write(tail)
		if !hmac.Equal(mac.Sum(sum[:0]), c.want) {
			return false
		}
	}
	return true
}

// diagnose explains a failed match for the audit record: the URL variants
// tried, the alternative URLs ingest could have been called with, and
// whether one of those would have verified (a near miss, usually a wrong
// public_url behind a proxy). It names keys by fingerprint only and never
// includes a signature.
func (v *verifier) diagnose(req *provider.Request, tried []string, s scheme) string {
	seen := make(map[string]bool, len(tried))
	for _, u := range tried {
		seen[u] = true
	}
	var alternatives []string
	for _, alt := range req.Alternatives() {
		for _, u := range portVariants(alt) {
			if !seen[u] {
				seen[u] = true
				alternatives = append(alternatives, u)
			}
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "%s: none of %d configured keys verifies over URL variants [%s]",
		s.name, len(v.keys), strings.Join(tried, ", "))
	if len(alternatives) == 0 {
		b.WriteString("; no alternative URLs to try")
		return b.String()
	}
	fmt.Fprintf(&b, "; alternative URLs tried for diagnosis [%s]", strings.Join(alternatives, ", "))
	if m := v.match(alternatives, s); m.ok {
		fmt.Fprintf(&b, "; NEAR MISS: would have verified over %s with key %s (still rejected): the provider signed a URL other than the one this source reconstructs; check public_url, public_base_url and trust_forwarded_headers",
			m.url, v.keys[m.key].id)
	} else {
		b.WriteString("; none would have verified: wrong signing key, or the provider signed a URL not listed here")
	}
	return b.String()
}

// paramTails returns the scheme B strings-to-sign after the URL: parameters
// sorted by name with repeated values in received order, and, only when it
// differs, with repeated values sorted too.
func paramTails(params []provider.Param) [][]byte {
	byName := sortParams(params, false)
	received := appendParams(make([]byte, 0, paramsLen(params)), byName)
	if slices.IsSortedFunc(byName, compareParams) {
		return [][]byte{received}
	}
	sorted := appendParams(make([]byte, 0, len(received)), sortParams(params, true))
	return [][]byte{received, sorted}
}

// paramsLen is the length of the scheme B parameter string.
func paramsLen(params []provider.Param) int {
	n := 0
	for _, p := range params {
		n += len(p.Name) + len(p.Value)
	}
	return n
}

// queryParam returns the decoded value of the first parameter called name
// in a raw query. Pairs that do not decode are skipped: they cannot be the
// one looked for.
func queryParam(rawQuery, name string) (string, bool) {
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		rawName, rawValue, _ := strings.Cut(pair, "=")
		n, err := url.QueryUnescape(rawName)
		if err != nil || n != name {
			continue
		}
		if value, err := url.QueryUnescape(rawValue); err == nil {
			return value, true
		}
	}
	return "", false
}

// isHexSHA1 reports whether s is 40 hex digits (either case): the shape of
// a scheme A signature.
func isHexSHA1(s string) bool {
	if len(s) != 2*sha1.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
