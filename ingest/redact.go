package ingest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strings"
)

// redactor replaces the values of credential-bearing headers (Authorization,
// Cookie, ...) in the record ingest writes, before it reaches Kafka, so the
// audit never serves a credential. What an operator needs to diagnose stays:
// the header is kept with a value saying it was redacted, a short keyed hash
// of the original value to tell whether two requests sent the same
// credential, and for a bearer JWT its header and claims, without the
// signature that would make it usable.
//
// The hash is an HMAC under a key of this installation, not a plain digest:
// a short unkeyed hash of a Basic credential would let anyone who reads the
// audit test password guesses offline.
//
// Invariant: verification always sees the request's own headers; only the
// record's copy is redacted. Nothing downstream needs a credential: the
// normalisers read the payload and Content-Type, and replay re-normalises
// without re-verifying. Provider signature headers (X-SignalWire-Signature,
// X-MessageMedia-Signature, ...) are MACs or signatures of one request, not
// credentials, and are kept unless configured otherwise.
type redactor struct {
	names map[string]bool // canonical header names
	key   []byte
}

// maxJWTPart bounds the decoded JWT header and claims kept in a record.
const maxJWTPart = 2048

func newRedactor(names []string, key []byte) *redactor {
	r := &redactor{names: make(map[string]bool, len(names)), key: key}
	for _, n := range names {
		r.names[http.CanonicalHeaderKey(n)] = true
	}
	return r
}

// headers returns the record's copy of h: value slices are shared with h
// (neither is modified afterwards) except those of redacted headers.
func (r *redactor) headers(h http.Header) http.Header {
	out := make(http.Header, len(h)+1)
	for k, vs := range h {
		if !r.names[k] {
			out[k] = vs
			continue
		}
		red := make([]string, len(vs))
		for i, v := range vs {
			red[i] = r.value(k, v)
		}
		out[k] = red
	}
	return out
}

// value is the redacted form of one value of header name, e.g.
// "[redacted hmac:1a2b3c4d5e6f] Bearer JWT header={...} claims={...}".
// Only the (Proxy-)Authorization scheme name is kept beside the hash: the
// first word of any other header could be the credential itself.
func (r *redactor) value(name, v string) string {
	mac := hmac.New(sha256.New, r.key)
	mac.Write([]byte(v))
	out := "[redacted hmac:" + hex.EncodeToString(mac.Sum(nil))[:12] + "]"
	if name != "Authorization" && name != "Proxy-Authorization" {
		return out
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || !isSchemeName(scheme) {
		return out
	}
	out += " " + scheme
	if strings.EqualFold(scheme, "Bearer") {
		if header, claims, ok := jwtParts(strings.TrimSpace(token)); ok {
			out += " JWT header=" + header + " claims=" + claims
		}
	}
	return out
}

// jwtParts decodes the header and claims of a compact JWT when both are
// JSON objects of bounded size; the signature is left out.
func jwtParts(token string) (header, claims string, ok bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", "", false
	}
	var decoded [2]string
	for i, p := range parts[:2] {
		if base64.RawURLEncoding.DecodedLen(len(p)) > maxJWTPart {
			return "", "", false
		}
		b, err := base64.RawURLEncoding.DecodeString(p)
		if err != nil || !json.Valid(b) || len(b) == 0 || b[0] != '{' {
			return "", "", false
		}
		decoded[i] = string(b)
	}
	return decoded[0], decoded[1], true
}

// isSchemeName reports whether s looks like an auth scheme name (Basic,
// Bearer, Digest, AWS4-HMAC-SHA256): short, letters, digits and '-'.
func isSchemeName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// LoadRedactionKey returns the HMAC key of redacted header hashes stored at
// path, creating a random one (mode 0600) on first use, so hashes stay
// comparable across restarts of an installation.
func LoadRedactionKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if err == nil && len(key) >= 32 {
		return key, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("ingest: redaction key: %w", err)
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("ingest: redaction key: %w", err)
	}
	if err := os.WriteFile(path, key, 0o600); err != nil {
		return nil, fmt.Errorf("ingest: redaction key: %w", err)
	}
	return key, nil
}
