package vonage

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"hash"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/schema"
)

// SMS API signature methods (the account's "signature method" setting), as
// written in sms_signature_method.
const (
	SMSMethodMD5Hash = "md5hash" // hex MD5(signing string + secret)
	SMSMethodMD5     = "md5"     // hex HMAC-MD5(secret, signing string)
	SMSMethodSHA1    = "sha1"    // hex HMAC-SHA1(secret, signing string)
	SMSMethodSHA256  = "sha256"  // hex HMAC-SHA256(secret, signing string)
	SMSMethodSHA512  = "sha512"  // hex HMAC-SHA512(secret, signing string)
)

// smsMethods lists the methods in the order near misses are diagnosed.
var smsMethods = []string{SMSMethodMD5Hash, SMSMethodMD5, SMSMethodSHA1, SMSMethodSHA256, SMSMethodSHA512}

// SMS API parameter names that take part in verification.
const (
	paramSig       = "sig"
	paramTimestamp = "timestamp"
)

// smsHashes maps an HMAC method to its hash; md5hash is not an HMAC.
func smsHash(method string) func() hash.Hash {
	switch method {
	case SMSMethodMD5:
		return md5.New
	case SMSMethodSHA1:
		return sha1.New
	case SMSMethodSHA256:
		return sha256.New
	case SMSMethodSHA512:
		return sha512.New
	}
	return nil
}

func validSMSMethod(method string) bool {
	for _, m := range smsMethods {
		if m == method {
			return true
		}
	}
	return false
}

// smsSigningString is "&name=value" for every parameter but sig, sorted by
// name in byte order, with '&' and '=' inside values replaced by '_'.
// params must hold one entry per name (see payload).
func smsSigningString(params []provider.Param) string {
	return smsSigningStrings(params)[0]
}

// smsSigningStrings returns smsSigningString and, when it differs, the same
// string with the names in UTF-16 order, as @vonage/sms (JavaScript's
// Array.prototype.sort) builds it to verify. The orders differ only for
// names with characters beyond the BMP.
func smsSigningStrings(params []provider.Param) []string {
	sorted := make([]provider.Param, 0, len(params))
	size := 0
	for _, p := range params {
		if p.Name == paramSig {
			continue
		}
		sorted = append(sorted, p)
		size += len(p.Name) + len(p.Value) + 2
	}
	byName := func(a, b provider.Param) int { return strings.Compare(a.Name, b.Name) }
	byUTF16 := func(a, b provider.Param) int { return provider.CompareUTF16(a.Name, b.Name) }
	slices.SortFunc(sorted, byName)
	out := []string{appendSigning(size, sorted)}
	if !slices.IsSortedFunc(sorted, byUTF16) {
		slices.SortStableFunc(sorted, byUTF16)
		out = append(out, appendSigning(size, sorted))
	}
	return out
}

// appendSigning writes "&name=value" for each parameter in order, with '&'
// and '=' inside values replaced by '_'.
func appendSigning(size int, params []provider.Param) string {
	var b strings.Builder
	b.Grow(size)
	for _, p := range params {
		b.WriteByte('&')
		b.WriteString(p.Name)
		b.WriteByte('=')
		for i := 0; i < len(p.Value); i++ {
			c := p.Value[i]
			if c == '&' || c == '=' {
				c = '_'
			}
			b.WriteByte(c)
		}
	}
	return b.String()
}

// smsDigest computes the lowercase hex signature of signing under method.
func smsDigest(method, signing string, secret []byte) (string, error) {
	if method == SMSMethodMD5Hash {
		h := md5.New()
		h.Write([]byte(signing))
		h.Write(secret)
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	newHash := smsHash(method)
	if newHash == nil {
		return "", fmt.Errorf("unknown SMS signature method %q", method)
	}
	m := hmac.New(newHash, secret)
	m.Write([]byte(signing))
	return hex.EncodeToString(m.Sum(nil)), nil
}

// SignSMS returns the `sig` value Vonage's SMS API sends for params (any
// `sig` among them is ignored; repeated names keep their first value).
func SignSMS(method, secret string, params []provider.Param) (string, error) {
	p := &payload{index: make(map[string]int, len(params))}
	for _, kv := range params {
		p.add(kv.Name, kv.Value)
	}
	return smsDigest(method, smsSigningString(p.params), []byte(secret))
}

// SignSMSForm returns params urlencoded in the given order with a genuine
// `sig` appended: a signed SMS API query string or form body.
func SignSMSForm(method, secret string, params []provider.Param) (string, error) {
	sig, err := SignSMS(method, secret, params)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, p := range params {
		if p.Name == paramSig {
			continue
		}
		b.WriteString(url.QueryEscape(p.Name))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(p.Value))
		b.WriteByte('&')
	}
	b.WriteString("sig=")
	b.WriteString(sig)
	return b.String(), nil
}

// SignSMSJSON returns params as a JSON object of strings in the given order
// with a genuine `sig` member appended: a signed SMS API JSON POST body.
func SignSMSJSON(method, secret string, params []provider.Param) ([]byte, error) {
	sig, err := SignSMS(method, secret, params)
	if err != nil {
		return nil, err
	}
	signed := make([]provider.Param, 0, len(params)+1)
	for _, p := range params {
		if p.Name != paramSig {
			signed = append(signed, p)
		}
	}
	return queryJSON(append(signed, provider.Param{Name: paramSig, Value: sig})), nil
}

// verifySMS checks an SMS API `sig` (docs/signatures.md#vonage) over p, in the precedence
// order of docs/ingest.md#rejection-reasons-and-their-precedence: a missing or non-numeric timestamp is malformed, then
// the signature, then the timestamp window. SMS API callbacks carry no jti;
// their nonce is not remembered (only a JWT carries a one-time token worth remembering).
func (v *verifier) verifySMS(p *payload, sig string, now time.Time) (provider.Verified, error) {
	tsText, ok := p.get(paramTimestamp)
	if !ok {
		return provider.Verified{}, provider.Reject(schema.ReasonMalformed,
			"SMS API callback has sig but no timestamp parameter")
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return provider.Verified{}, provider.Reject(schema.ReasonMalformed,
			"SMS API timestamp %q is not unix seconds", provider.Clip(tsText, 32))
	}

	signings := smsSigningStrings(p.params)
	got := strings.ToLower(strings.TrimSpace(sig))
	for _, signing := range signings {
		for i, secret := range v.secrets {
			want, err := smsDigest(v.smsMethod, signing, secret)
			if err != nil {
				return provider.Verified{}, err // unreachable: the method was validated
			}
			if subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1 {
				if rej := checkWindow("SMS API timestamp", time.Unix(ts, 0), now, v.maxAge); rej != nil {
					return provider.Verified{}, rej
				}
				return provider.Verified{KeyID: v.keyIDs[i]}, nil
			}
		}
	}
	orders := "names in byte order"
	if len(signings) > 1 {
		orders = "names in byte order and in UTF-16 order"
	}
	return provider.Verified{}, provider.Reject(schema.ReasonBadSignature,
		"SMS API sig (%d hex digits) matched no secret with sms_signature_method %s; tried %s over %d parameters (%s)%s",
		len(got), v.smsMethod, strings.Join(v.keyIDs, ", "), len(p.params)-1, orders, v.smsNearMiss(signings, got))
}

// smsDiagnosisBudget bounds the bytes the near-miss search of one rejected
// sig hashes (other methods × secrets × signing strings). A genuine
// callback's signing string, a few hundred bytes, fits hundreds of times;
// a forged megabyte payload is not searched, so its rejection costs no
// more than the verification a genuine payload of its size pays.
const smsDiagnosisBudget = 256 << 10

// smsNearMiss explains a failed sig when another method would have verified
// it: the usual sign of an account whose signature method differs from the
// configured one. The request is still rejected.
func (v *verifier) smsNearMiss(signings []string, got string) string {
	cost := 0
	for _, s := range signings {
		cost += (len(smsMethods) - 1) * len(v.secrets) * len(s)
	}
	if cost > smsDiagnosisBudget {
		return "; other methods not tried (the signing string exceeds the diagnosis budget)"
	}
	for _, method := range smsMethods {
		if method == v.smsMethod {
			continue
		}
		for _, signing := range signings {
			for i, secret := range v.secrets {
				want, err := smsDigest(method, signing, secret)
				if err == nil && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1 {
					return fmt.Sprintf("; it would verify with sms_signature_method %s and secret %s", method, v.keyIDs[i])
				}
			}
		}
	}
	return ""
}

// checkWindow rejects t as stale when it is more than maxAge away from now
// in either direction (clocks drift both ways); maxAge 0 disables it.
func checkWindow(what string, t, now time.Time, maxAge time.Duration) *provider.Rejection {
	if maxAge <= 0 {
		return nil
	}
	skew := now.Sub(t)
	if skew > maxAge || skew < -maxAge {
		return provider.Reject(schema.ReasonStaleTimestamp,
			"%s %s is %s from the receive time %s, outside max_age %s",
			what, t.UTC().Format(time.RFC3339), skew.Round(time.Second), now.UTC().Format(time.RFC3339), maxAge)
	}
	return nil
}
