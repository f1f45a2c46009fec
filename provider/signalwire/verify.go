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
	ok   bool
	key  int    // index into verifier.keys
	url  string // the URL variant that verified
	tail int    // index into scheme.tails.tails (and scheme.spellings)
}

// scheme describes what one verification attempt signs, so that the
// acceptance path and the diagnosis path use exactly the same bytes.
type scheme struct {
	// name describes the scheme in diagnoses, with %s for header, e.g.
	// "scheme A (%s, hex HMAC-SHA1 of URL + raw body)". It is formatted
	// only when a diagnosis is written (see describe).
	name   string
	header string
	tails  tailTree // what follows the URL in the signed bytes; any one may match
	// spellings, for form parameters, lists per tail the parameter
	// spellings that write it; nil for one fixed tail.
	spellings []spellingSet
	skipped   spellingSet // spellings not tried (see paramSpellings)
	params    int         // form parameters signed
	checks    []macCheck
}

// describe is the scheme's name in diagnoses; for form parameters it lists
// the spellings tried.
func (s scheme) describe() string {
	if s.spellings == nil {
		return fmt.Sprintf(s.name, s.header)
	}
	labels := make([]string, len(s.spellings))
	for i, set := range s.spellings {
		labels[i] = set.String()
	}
	notTried := ""
	if s.skipped != 0 {
		notTried = fmt.Sprintf("; not tried, as they differ from those tried by more than the spelling budget: [%s]",
			strings.ReplaceAll(s.skipped.String(), " = ", "; "))
	}
	return fmt.Sprintf("scheme B (%s, base64 HMAC-SHA1 of URL + %d form parameters; parameter spellings tried: [%s]%s)",
		s.header, s.params, strings.Join(labels, "; "), notTried)
}

// diagnosisBudget bounds the bytes the near-miss search of one rejection
// hashes (alternative URLs × keys × string to sign). A genuine callback's
// search, a few KiB of parameters over a dozen URLs and two keys, fits
// many times over; a forged megabyte body gets no alternative searched, so
// a rejection never costs more than the verification every genuine
// callback of its size may pay (every key over the URL and its port
// variant).
const diagnosisBudget = 256 << 10

// Verify implements provider.Verifier. Checks run in the order of docs/ingest.md#rejection-reasons-and-their-precedence:
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

	// Scheme choice (docs/signatures.md#signalwire): 40 hex digits in X-SignalWire-Signature is
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
		name:   "scheme A (%s, hex HMAC-SHA1 of URL + raw body)",
		header: HeaderSignature,
		tails:  singleTail(req.Body),
		checks: []macCheck{{newHash: sha1.New, want: sha1Sig}},
	}
	if h := strings.TrimSpace(req.Header.Get(canonicalSHA256Signature)); h != "" {
		sha256Sig, err := hex.DecodeString(h)
		if err != nil || len(sha256Sig) != sha256.Size {
			return provider.Verified{}, provider.Reject(schema.ReasonBadSignature,
				"%s is not %d hex digits (a hex HMAC-SHA256)", HeaderSHA256Signature, 2*sha256.Size)
		}
		s.name = "scheme A (%s hex HMAC-SHA1 and " + HeaderSHA256Signature + " hex HMAC-SHA256 of URL + raw body)"
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
// The form is parsed once (by the caller) and each distinct spelling of its
// parameter string built once (paramSpellings); per key and URL variant the
// spellings are hashed together, sharing their common prefix (tailTree).
func (v *verifier) verifySchemeB(req *provider.Request, header, sig string, formParams []provider.Param) (provider.Verified, error) {
	sigBytes, err := base64.StdEncoding.Strict().DecodeString(sig)
	// The decoder skips CR and LF anywhere in its input; re-encoding keeps
	// the accepted spelling of a signature to the one the provider sends.
	if err != nil || len(sigBytes) != sha1.Size || base64.StdEncoding.EncodeToString(sigBytes) != sig {
		return provider.Verified{}, provider.Reject(schema.ReasonBadSignature,
			"%s is neither 40 hex digits (scheme A) nor the base64 of a %d-byte HMAC-SHA1 (scheme B)", header, sha1.Size)
	}

	s := scheme{header: header, checks: []macCheck{{newHash: sha1.New, want: sigBytes}}, tails: singleTail(nil)}
	bodyHash, hasBodyHash := queryParam(req.RawQuery(), bodyHashParam)
	switch {
	case hasBodyHash:
		s.name = "scheme B (%s, base64 HMAC-SHA1 of the URL carrying " + bodyHashParam + ")"
	case req.Method == http.MethodGet:
		s.name = "scheme B (%s, base64 HMAC-SHA1 of the URL of a GET)"
	case req.IsForm():
		s.tails, s.spellings, s.skipped = formTails(formParams)
		s.params = len(formParams)
	case len(req.Body) == 0:
		s.name = "scheme B (%s, base64 HMAC-SHA1 of the URL; empty body)"
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

// matchSigned tries the URL as signed, then its port variant (docs/signatures.md#signalwire),
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

// matchURL tries every key (in configured order) over one URL and every
// tail of s, and returns the first combination for which every check of s
// holds. The first check is computed over all tails at once (see
// tailTree); the others, when there are any, only for the tail it matched.
func (v *verifier) matchURL(signedURL string, s scheme) match {
	first := s.checks[0]
	for k := range v.keys {
		mac := hmac.New(first.newHash, v.keys[k].secret)
		mac.Write([]byte(signedURL))
		tail, ok := s.tails.match(mac, first.want)
		if ok && macsMatch(v.keys[k].secret, signedURL, s.tails.tail(tail), s.checks[1:]) {
			return match{ok: true, key: k, url: signedURL, tail: tail}
		}
	}
	return match{}
}

// macsMatch reports whether HMAC(secret, signedURL + tail) equals the wanted
// value of every check. Comparisons are constant-time.
func macsMatch(secret []byte, signedURL string, tail []byte, checks []macCheck) bool {
	if len(checks) == 0 {
		return true
	}
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
		s.describe(), len(v.keys), strings.Join(tried, ", "))
	if len(alternatives) == 0 {
		b.WriteString("; no alternative URLs to try")
		b.WriteString(wrongWhat(s))
		return b.String()
	}
	searched := alternatives[:min(len(alternatives), v.affordable(alternatives, s))]
	fmt.Fprintf(&b, "; alternative URLs tried for diagnosis [%s]", strings.Join(searched, ", "))
	if len(searched) < len(alternatives) {
		fmt.Fprintf(&b, " (%d more not searched: a %d-byte string to sign exceeds the diagnosis budget)",
			len(alternatives)-len(searched), s.tails.size)
	}
	if m := v.match(searched, s); m.ok {
		fmt.Fprintf(&b, "; NEAR MISS: would have verified over %s with key %s%s (still rejected): the provider signed a URL other than the one this source reconstructs; check public_url, public_base_url and trust_forwarded_headers",
			m.url, v.keys[m.key].id, s.spelledAs(m))
		return b.String()
	}
	b.WriteString("; none would have verified")
	b.WriteString(wrongWhat(s))
	return b.String()
}

// wrongWhat lists what can explain a signature that verifies nowhere. When
// parameters are signed, they are as much a suspect as the key.
func wrongWhat(s scheme) string {
	if s.spellings == nil {
		return ": wrong signing key, or the provider signed a URL not listed here"
	}
	return ": wrong signing key, the provider signed a URL not listed here, or the form parameters differ from those it signed (changed in transit, or written in a spelling not tried)"
}

// spelledAs names the parameter spelling of m when the scheme has several.
func (s scheme) spelledAs(m match) string {
	if len(s.spellings) < 2 {
		return ""
	}
	return " (parameters spelled: " + s.spellings[m.tail].String() + ")"
}

// affordable is how many of urls the near-miss search can try within
// diagnosisBudget.
func (v *verifier) affordable(urls []string, s scheme) int {
	spent := 0
	for i, u := range urls {
		spent += len(v.keys) * len(s.checks) * (len(u) + s.tails.size)
		if spent > diagnosisBudget {
			return i
		}
	}
	return len(urls)
}

// formTails returns the distinct scheme B parameter strings of a form body
// (see paramSpellings), for each the spellings that write it, and the
// spellings not tried.
func formTails(params []provider.Param) (tailTree, []spellingSet, spellingSet) {
	spelled, skipped := paramSpellings(params)
	tails := make([][]byte, len(spelled))
	sets := make([]spellingSet, len(spelled))
	for i, sp := range spelled {
		tails[i], sets[i] = sp.tail, sp.spellings
	}
	return newTailTree(tails), sets, skipped
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
