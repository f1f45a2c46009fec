package provider

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hookledger/hookledger/schema"
)

// Request is one callback as a verifier sees it.
//
// Invariant: Body is the raw body byte-exact; URL is the URL the provider
// signed, rebuilt from the raw query string exactly as received (docs/ingest.md#the-signed-url).
type Request struct {
	Method string
	Proto  string // as received, e.g. "HTTP/1.1"
	URL    string // absolute: scheme://host[:port]/path[?rawquery]
	// AltURLs lists other plausible URLs the provider may have signed
	// (other scheme, host, port, forwarded headers, path prefix); nil means
	// none. Verifiers never accept a request because of them; they call it
	// only to explain a failure ("would have verified with ..."), so the
	// cost of building them is paid by rejections, not by every callback.
	AltURLs    func() []string
	Header     http.Header
	Body       []byte
	ReceivedAt time.Time
}

// Alternatives returns AltURLs' list, or nil when there is none.
func (r *Request) Alternatives() []string {
	if r.AltURLs == nil {
		return nil
	}
	return r.AltURLs()
}

// URLs is an AltURLs of fixed values.
func URLs(urls ...string) func() []string {
	return func() []string { return urls }
}

// RawQuery returns the raw query of the signed URL (without '?').
func (r *Request) RawQuery() string {
	if i := strings.IndexByte(r.URL, '?'); i >= 0 {
		return r.URL[i+1:]
	}
	return ""
}

// IsForm reports whether the body is application/x-www-form-urlencoded.
func (r *Request) IsForm() bool {
	return mediaType(r.Header.Get("Content-Type")) == "application/x-www-form-urlencoded"
}

// IsJSON reports whether the body is JSON, by content type or, when the
// content type is missing, by its first non-space byte.
func (r *Request) IsJSON() bool {
	mt := mediaType(r.Header.Get("Content-Type"))
	if mt == "application/json" || strings.HasSuffix(mt, "+json") {
		return true
	}
	if mt != "" {
		return false
	}
	for _, b := range r.Body {
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		case '{', '[':
			return true
		}
		return false
	}
	return false
}

func mediaType(contentType string) string {
	if contentType == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0]))
	}
	return mt
}

// Param is one name=value pair in received order.
type Param struct{ Name, Value string }

// ParseParams decodes an urlencoded string into its pairs in received order
// (url.ParseQuery loses the order, which some signatures depend on).
func ParseParams(encoded string) ([]Param, error) {
	var out []Param
	for encoded != "" {
		var pair string
		pair, encoded, _ = strings.Cut(encoded, "&")
		if pair == "" {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		n, err := queryUnescape(name)
		if err != nil {
			return nil, err
		}
		v, err := queryUnescape(value)
		if err != nil {
			return nil, err
		}
		out = append(out, Param{Name: n, Value: v})
	}
	return out, nil
}

// queryUnescape is url.QueryUnescape with a vectorised fast path for the
// common text that has nothing to decode (url.QueryUnescape scans it byte
// by byte).
func queryUnescape(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, nil
	}
	return url.QueryUnescape(s)
}

// PayloadParams returns the callback payload as parameters for a GET (its
// query) or a form POST (its body), in received order. For other bodies it
// returns nil, nil.
func (r *Request) PayloadParams() ([]Param, error) {
	if r.Method == http.MethodGet {
		return ParseParams(r.RawQuery())
	}
	if r.IsForm() {
		return ParseParams(string(r.Body))
	}
	return nil, nil
}

// SecretFingerprint names a shared secret in records and logs without
// revealing it: "sha256:" and the first 12 hex digits of its SHA-256.
func SecretFingerprint(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return "sha256:" + hex.EncodeToString(sum[:])[:12]
}

// RecordRequest is the request a stored record describes, so normalisation
// reads the payload exactly as verification did.
func RecordRequest(rec *schema.Record) *Request {
	return &Request{Method: rec.Method, URL: rec.URL, Header: rec.Headers, Body: rec.Body, ReceivedAt: rec.ReceivedAt}
}

// FirstValues maps each parameter name to the first value received for it:
// the "one string per name" reading of a payload (docs/ingest.md#routes).
func FirstValues(params []Param) map[string]string {
	out := make(map[string]string, len(params))
	for _, p := range params {
		if _, seen := out[p.Name]; !seen {
			out[p.Name] = p.Value
		}
	}
	return out
}

// Clip bounds request-derived text quoted in a rejection's diagnosis: at
// most n bytes, then "…".
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// MaxParams bounds the parameters of a payload that verification parses: a
// GET query or a form body with more '&'-separated pairs (empty ones
// included) is malformed before any parse or signature work (docs/ingest.md#rejection-reasons-and-their-precedence), and
// so is a JSON object with more members where a verifier decodes its
// members (the Vonage SMS API sig), so that a forged body cannot buy CPU
// by the parameter.
//
// No provider comes near it, as their documented payloads show: a SignalWire call status
// carries about 15 fields, an inbound MMS 8 plus MediaUrl{N} and
// MediaContentType{N} for at most 10 media (about 30), a Vonage SMS API
// receipt or concatenated inbound part about 16, and the JSON callbacks of
// Vonage and MessageMedia 10 to 20 top-level members. 1,000 leaves a
// margin of more than 30 times the largest.
const MaxParams = 1000

// ErrTooManyParams marks a payload over MaxParams.
var ErrTooManyParams = fmt.Errorf("more than %d parameters, more than any provider sends", MaxParams)

var ampersand = []byte{'&'}

// CheckParamCount returns an error wrapping ErrTooManyParams when the
// payload of r (a GET's query, a form POST's body) has more than MaxParams
// '&'-separated pairs. It decodes nothing and allocates nothing: verifiers
// call it before any parse.
func (r *Request) CheckParamCount() error {
	var pairs int
	switch {
	case r.Method == http.MethodGet:
		pairs = strings.Count(r.RawQuery(), "&") + 1
	case r.IsForm():
		pairs = bytes.Count(r.Body, ampersand) + 1
	}
	if pairs > MaxParams {
		return fmt.Errorf("%d '&'-separated pairs: %w", pairs, ErrTooManyParams)
	}
	return nil
}

// CheckPayload reports a payload that cannot be parsed, which is
// malformed (docs/ingest.md#rejection-reasons-and-their-precedence) whatever the provider or scheme: a GET's query that is not
// urlencoding, a form POST's body that is not, a JSON POST's body that is
// not JSON, and a query or form body over MaxParams (checked first, before
// any decoding). A body of any other type is not judged here. It returns
// the parameters of a form POST (nil otherwise), for the verifiers that
// sign them.
func (r *Request) CheckPayload() ([]Param, error) {
	if err := r.CheckParamCount(); err != nil {
		return nil, err
	}
	if r.Method == http.MethodGet {
		if _, err := ParseParams(r.RawQuery()); err != nil {
			return nil, fmt.Errorf("query is not valid urlencoding: %w", err)
		}
		return nil, nil
	}
	switch {
	case r.IsForm():
		params, err := ParseParams(string(r.Body))
		if err != nil {
			return nil, fmt.Errorf("urlencoded body does not parse: %w", err)
		}
		return params, nil
	case r.IsJSON():
		if !json.Valid(r.Body) {
			return nil, fmt.Errorf("JSON body (%d bytes) is not valid JSON", len(r.Body))
		}
	}
	return nil, nil
}
