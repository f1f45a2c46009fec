package messagemedia

import (
	"context"
	"crypto"
	"crypto/rsa"
	_ "crypto/sha256" // registers SHA-224 and SHA-256 for crypto.Hash.New
	_ "crypto/sha512" // registers SHA-512 for crypto.Hash.New
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/schema"
)

// The headers of a signed MessageMedia webhook (docs/signatures.md#messagemedia).
const (
	HeaderKeyID      = "X-MessageMedia-Key-Id"
	HeaderCipherType = "X-MessageMedia-Cipher-Type"
	HeaderDigestType = "X-MessageMedia-Digest-Type"
	HeaderSignature  = "X-MessageMedia-Signature"
	HeaderDate       = "Date"
)

// fallbackProto is always tried next to the protocol as received: the
// provider's signer writes HTTP/1.1 even when a proxy in front of ingest
// upgraded or downgraded the connection.
const fallbackProto = "HTTP/1.1"

// maxDetailField bounds how much of a request-controlled value (key id,
// header, request line) is quoted into a rejection detail, so an attacker
// cannot bloat audit records through it.
const maxDetailField = 200

// Verifier verifies the webhooks of one MessageMedia source.
//
// Invariant: immutable after construction, so one Verifier serves
// concurrent requests; every key in keys is RSA of at least MinKeyBits and
// its map key is the lower-cased configured key id.
type Verifier struct {
	keys    map[string]verifierKey
	maxSkew time.Duration // 0 disables the Date window
	now     func() time.Time
}

// Verify checks req as docs/signatures.md#messagemedia describes. The checks run in the
// precedence order of docs/ingest.md#rejection-reasons-and-their-precedence, so the first failing one names the reason:
// missing_signature, malformed, unsupported_algorithm, unknown_key,
// bad_signature, stale_timestamp. Verified.KeyID is the configured key_id.
func (v *Verifier) Verify(_ context.Context, req *provider.Request) (provider.Verified, error) {
	signature := strings.TrimSpace(headerValue(req.Header, HeaderSignature))
	if signature == "" {
		return provider.Verified{}, provider.Reject(schema.ReasonMissingSignature, "no %s header", HeaderSignature)
	}

	keyID := strings.TrimSpace(headerValue(req.Header, HeaderKeyID))
	cipher := strings.TrimSpace(headerValue(req.Header, HeaderCipherType))
	digest := strings.TrimSpace(headerValue(req.Header, HeaderDigestType))
	// The Date value is signed exactly as received; only its parse is lenient.
	dateValue := headerValue(req.Header, HeaderDate)
	var missing []string
	for _, h := range []struct{ name, value string }{
		{HeaderKeyID, keyID}, {HeaderCipherType, cipher}, {HeaderDigestType, digest},
		{HeaderDate, strings.TrimSpace(dateValue)},
	} {
		if h.value == "" {
			missing = append(missing, h.name)
		}
	}
	if len(missing) > 0 {
		return provider.Verified{}, provider.Reject(schema.ReasonMalformed,
			"%s present but the signing header set is incomplete: missing %s", HeaderSignature, strings.Join(missing, ", "))
	}
	signedAt, err := http.ParseTime(strings.TrimSpace(dateValue))
	if err != nil {
		return provider.Verified{}, provider.Reject(schema.ReasonMalformed,
			"Date %q is not an HTTP date (RFC 1123, RFC 850 or ANSI C)", provider.Clip(dateValue, maxDetailField))
	}
	if _, err := req.CheckPayload(); err != nil {
		return provider.Verified{}, provider.Reject(schema.ReasonMalformed, "%v", err)
	}

	if !strings.EqualFold(cipher, CipherRSA) {
		return provider.Verified{}, provider.Reject(schema.ReasonUnsupportedAlgorithm,
			"%s %q: only RSA is supported", HeaderCipherType, provider.Clip(cipher, maxDetailField))
	}
	digestName, hash, ok := digestByName(digest)
	if !ok {
		return provider.Verified{}, provider.Reject(schema.ReasonUnsupportedAlgorithm,
			"%s %q: only SHA224, SHA256 and SHA512 are supported", HeaderDigestType, provider.Clip(digest, maxDetailField))
	}

	key, ok := v.keys[strings.ToLower(keyID)]
	if !ok {
		return provider.Verified{}, provider.Reject(schema.ReasonUnknownKey,
			"%s %q is not configured for this source (configured: %s)", HeaderKeyID, provider.Clip(keyID, maxDetailField), v.configuredKeyIDs())
	}
	// A pin is per key, so it can only be checked once the key is known.
	if key.pin != "" && key.pin != digestName {
		return provider.Verified{}, provider.Reject(schema.ReasonUnsupportedAlgorithm,
			"%s %s, but key %s is pinned to %s", HeaderDigestType, digestName, key.id, key.pin)
	}

	sig, err := decodeBase64Loose(signature)
	if err != nil || len(sig) == 0 {
		return provider.Verified{}, provider.Reject(schema.ReasonBadSignature,
			"%s is not valid base64 (key %s)", HeaderSignature, key.id)
	}

	protos := protocols(req.Proto)
	uri := RequestURI(req.URL)
	tried := make([]string, 0, len(protos))
	verified := false
	for _, proto := range protos {
		line := RequestLine(req.Method, uri, proto)
		tried = append(tried, line)
		if verifySigned(key.pub, hash, sig, line, dateValue, req.Body) {
			verified = true
			break
		}
	}
	if !verified {
		return provider.Verified{}, &provider.Rejection{
			Reason: schema.ReasonBadSignature,
			Detail: v.diagnose(req, key, digestName, hash, sig, dateValue, uri, protos, tried),
		}
	}

	if v.maxSkew > 0 {
		now := v.receivedAt(req)
		if skew := now.Sub(signedAt); skew > v.maxSkew || skew < -v.maxSkew {
			direction := "before"
			if skew < 0 {
				direction = "after"
			}
			return provider.Verified{}, provider.Reject(schema.ReasonStaleTimestamp,
				"Date %s is %s %s the receive time %s; max_skew is %s",
				signedAt.UTC().Format(time.RFC3339), skew.Abs().Round(time.Second), direction,
				now.UTC().Format(time.RFC3339), v.maxSkew)
		}
	}
	return provider.Verified{KeyID: key.id}, nil
}

// diagnose explains a signature that verified with no request line built
// from the signed URL: what was tried, and whether a request line from one of
// the alternative URLs (AltURLs) would have verified, which points at a wrong
// public_url or public_base_url. A near miss is still a rejection.
func (v *Verifier) diagnose(req *provider.Request, key verifierKey, digestName string, hash crypto.Hash,
	sig []byte, dateValue, uri string, protos, tried []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "RSA PKCS#1 v1.5 %s with key %s (%d-bit) over request line + Date + %d-byte body; request lines tried: %s",
		digestName, key.id, key.bits, len(req.Body), quoteList(tried))
	if want := (key.bits + 7) / 8; len(sig) != want {
		fmt.Fprintf(&b, "; the signature is %d bytes but a %d-bit key signs %d bytes (signed with another key?)", len(sig), key.bits, want)
	}
	seen := map[string]bool{uri: true}
	var altTried []string
	alternatives := req.Alternatives()
	for _, alt := range alternatives {
		altURI := RequestURI(alt)
		if seen[altURI] {
			continue
		}
		seen[altURI] = true
		for _, proto := range protos {
			line := RequestLine(req.Method, altURI, proto)
			altTried = append(altTried, line)
			if verifySigned(key.pub, hash, sig, line, dateValue, req.Body) {
				fmt.Fprintf(&b, "; NEAR MISS: the signature verifies with request line %q from alternative URL %q, "+
					"so the provider signed a different request-URI than ingest reconstructed (check the source's public_url, "+
					"ingest.public_base_url or a proxy rewriting the path); still rejected", provider.Clip(line, maxDetailField), provider.Clip(alt, maxDetailField))
				return b.String()
			}
		}
	}
	switch {
	case len(altTried) > 0:
		fmt.Fprintf(&b, "; alternative request lines tried: %s; none verified", quoteList(altTried))
	case len(alternatives) > 0:
		b.WriteString("; no alternative URL gives a different request line")
	default:
		b.WriteString("; no alternative URLs to try")
	}
	return b.String()
}

// verifySigned reports whether sig is pub's PKCS#1 v1.5 signature of
// line + date + body under hash. RSA verification compares in constant time.
func verifySigned(pub *rsa.PublicKey, hash crypto.Hash, sig []byte, line, date string, body []byte) bool {
	return rsa.VerifyPKCS1v15(pub, hash, signedDigest(hash, line, date, body), sig) == nil
}

// signedDigest hashes the signed bytes without concatenating them, so a large
// body is not copied.
func signedDigest(hash crypto.Hash, line, date string, body []byte) []byte {
	h := hash.New()
	_, _ = io.WriteString(h, line)
	_, _ = io.WriteString(h, date)
	_, _ = h.Write(body)
	return h.Sum(nil)
}

// protocols lists the protocols to try in the request line: as received,
// then HTTP/1.1 (once).
func protocols(received string) []string {
	if received == "" || received == fallbackProto {
		return []string{fallbackProto}
	}
	return []string{received, fallbackProto}
}

// RequestLine builds the request line MessageMedia signs:
// METHOD SP request-URI SP protocol, e.g. "POST /hooks/mm-main?x=1 HTTP/1.1".
func RequestLine(method, requestURI, proto string) string {
	return method + " " + requestURI + " " + proto
}

// RequestURI returns the request-URI (path and raw query) of an absolute
// or origin-form URL exactly as written: nothing is decoded or re-encoded,
// because the provider signed the bytes it sent. A URL without a path gives
// "/" (plus its query). The result always starts with "/".
func RequestURI(rawURL string) string {
	rest := rawURL
	if i := strings.Index(rawURL, "://"); i > 0 && isScheme(rawURL[:i]) {
		rest = rawURL[i+3:]
		j := strings.IndexAny(rest, "/?")
		if j < 0 {
			return "/"
		}
		rest = rest[j:]
	}
	if rest == "" || rest[0] != '/' {
		// "?q" after a bare host, or something that is no URL at all: the
		// request-URI on the wire always starts with "/".
		return "/" + rest
	}
	return rest
}

// isScheme reports whether s is a URL scheme (RFC 3986 §3.1).
func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

func (v *Verifier) receivedAt(req *provider.Request) time.Time {
	if !req.ReceivedAt.IsZero() {
		return req.ReceivedAt
	}
	if v.now != nil {
		return v.now()
	}
	return time.Now()
}

func (v *Verifier) configuredKeyIDs() string {
	ids := make([]string, 0, len(v.keys))
	for _, k := range v.keys {
		ids = append(ids, k.id)
	}
	sort.Strings(ids)
	return strings.Join(ids, ", ")
}

// headerValue returns the first value of the named header. It falls back to
// a case-insensitive scan because records and tests may carry header maps
// that were not built by net/http and so are not canonicalised.
func headerValue(h http.Header, name string) string {
	if vs := h.Values(name); len(vs) > 0 {
		return vs[0]
	}
	for k, vs := range h {
		if len(vs) > 0 && strings.EqualFold(k, name) {
			return vs[0]
		}
	}
	return ""
}

func quoteList(items []string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = fmt.Sprintf("%q", provider.Clip(s, maxDetailField))
	}
	return strings.Join(quoted, ", ")
}
