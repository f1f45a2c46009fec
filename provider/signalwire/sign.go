package signalwire

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/url"
	"slices"
	"strings"

	"github.com/hookledger/hookledger/provider"
)

// bodyHashParam is the query parameter through which scheme B covers a JSON
// body: the URL is signed and carries the body's hex SHA-256.
const bodyHashParam = "bodySHA256"

// SignSchemeA returns the scheme A X-SignalWire-Signature: lowercase hex HMAC-SHA1(key, signedURL + body).
func SignSchemeA(key, signedURL string, body []byte) string {
	return hex.EncodeToString(macOf(sha1.New, key, signedURL, body))
}

// SignSchemeASHA256 returns the scheme A X-SignalWire-SHA256-Signature: lowercase hex HMAC-SHA256(key, signedURL + body).
func SignSchemeASHA256(key, signedURL string, body []byte) string {
	return hex.EncodeToString(macOf(sha256.New, key, signedURL, body))
}

// SignSchemeB returns the scheme B signature of an urlencoded POST (form) or, with a nil form, of a GET: base64 HMAC-SHA1(key, signedURL + name+value of every parameter, names sorted, values in their slice order).
func SignSchemeB(key, signedURL string, form url.Values) string {
	params := make([]provider.Param, 0, len(form))
	for name, values := range form {
		for _, v := range values {
			params = append(params, provider.Param{Name: name, Value: v})
		}
	}
	// url.Values has no order between names; sortParams is stable, so the
	// values of one name keep their slice order.
	tail := appendParams(nil, sortParams(params, false))
	return base64.StdEncoding.EncodeToString(macOf(sha1.New, key, signedURL, tail))
}

// SignSchemeBJSON signs a JSON body the scheme B way: it returns signedURL with bodySHA256=<hex SHA-256 of body> appended to its query (the URL to call) and the base64 HMAC-SHA1(key, that URL) signature.
func SignSchemeBJSON(key, signedURL string, body []byte) (urlWithHash, signature string) {
	urlWithHash = WithBodySHA256(signedURL, body)
	return urlWithHash, base64.StdEncoding.EncodeToString(macOf(sha1.New, key, urlWithHash, nil))
}

// WithBodySHA256 returns signedURL with bodySHA256=<lowercase hex SHA-256 of body> appended to its raw query.
func WithBodySHA256(signedURL string, body []byte) string {
	sum := sha256.Sum256(body)
	sep := "?"
	if strings.Contains(signedURL, "?") {
		sep = "&"
	}
	return signedURL + sep + bodyHashParam + "=" + hex.EncodeToString(sum[:])
}

// macOf returns HMAC(key, signedURL + tail) with the given hash.
func macOf(newHash func() hash.Hash, key, signedURL string, tail []byte) []byte {
	mac := hmac.New(newHash, []byte(key))
	mac.Write([]byte(signedURL))
	mac.Write(tail)
	return mac.Sum(nil)
}

// sortParams returns a sorted copy of params: by name in byte order, the
// values of a repeated name in received order (stable) or, with sortValues,
// sorted too. params is not modified.
func sortParams(params []provider.Param, sortValues bool) []provider.Param {
	sorted := slices.Clone(params)
	if sortValues {
		slices.SortStableFunc(sorted, compareParams)
	} else {
		slices.SortStableFunc(sorted, func(a, b provider.Param) int { return strings.Compare(a.Name, b.Name) })
	}
	return sorted
}

// compareParams orders parameters by name, then value, in byte order.
func compareParams(a, b provider.Param) int {
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return strings.Compare(a.Value, b.Value)
}

// appendParams appends name+value of each parameter, in the given order,
// to dst: the scheme B string-to-sign after the URL.
func appendParams(dst []byte, params []provider.Param) []byte {
	for _, p := range params {
		dst = append(dst, p.Name...)
		dst = append(dst, p.Value...)
	}
	return dst
}
