package vonage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/schema"
)

// Issuer is the `iss` claim of every Vonage signed callback.
const Issuer = "Vonage"

// jwtAlgorithm is the only accepted `alg` (docs/signatures.md#vonage).
const jwtAlgorithm = "HS256"

// replayMemoryWithoutWindow is how long a jti is remembered when max_age is
// 0s. Without an iat window a captured token stays acceptable forever, so
// its jti must still be remembered; a day bounds the store while covering
// any retry schedule a provider uses.
const replayMemoryWithoutWindow = 24 * time.Hour

// Claims are the claims of a Vonage signed callback JWT that hookledger
// checks. Other claims (sub, aud, ...) are ignored.
//
// Claims implements jwt.Claims so that jwt/v5 can decode into it; claim
// validation itself is done by verifyJWT, in the order of docs/ingest.md#rejection-reasons-and-their-precedence (jwt/v5's own
// is disabled).
type Claims struct {
	IssuedAt      *jwt.NumericDate `json:"iat"`
	ExpiresAt     *jwt.NumericDate `json:"exp,omitempty"` // optional; honoured when present
	NotBefore     *jwt.NumericDate `json:"nbf,omitempty"` // optional; honoured when present
	ID            string           `json:"jti"`
	Issuer        string           `json:"iss"`
	APIKey        string           `json:"api_key,omitempty"`
	ApplicationID string           `json:"application_id,omitempty"`
	PayloadHash   string           `json:"payload_hash,omitempty"`
}

// GetIssuedAt implements jwt.Claims.
func (c *Claims) GetIssuedAt() (*jwt.NumericDate, error) { return c.IssuedAt, nil }

// GetIssuer implements jwt.Claims.
func (c *Claims) GetIssuer() (string, error) { return c.Issuer, nil }

// GetExpirationTime implements jwt.Claims.
func (c *Claims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt, nil }

// GetNotBefore implements jwt.Claims.
func (c *Claims) GetNotBefore() (*jwt.NumericDate, error) { return c.NotBefore, nil }

// GetSubject implements jwt.Claims.
func (c *Claims) GetSubject() (string, error) { return "", nil }

// GetAudience implements jwt.Claims.
func (c *Claims) GetAudience() (jwt.ClaimStrings, error) { return nil, nil }

// PayloadHash returns the payload_hash claim value for payload: lowercase hex
// SHA-256.
func PayloadHash(payload []byte) string {
	sum := sha256.Sum256(payload)
	return hex.EncodeToString(sum[:])
}

// SignJWT returns an HS256 token over claims signed with secret, exactly as
// Vonage signs callbacks (claims are encoded as given; use it for odd claims).
func SignJWT(secret string, claims jwt.Claims) (string, error) {
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
}

// SignCallbackJWT returns the Authorization bearer token Vonage sends with a
// callback whose hashed payload is payload (the body of a POST; for a GET,
// GETPayload of its query), issued at iat with the given jti and api_key.
func SignCallbackJWT(secret, apiKey, jti string, iat time.Time, payload []byte) (string, error) {
	return SignJWT(secret, &Claims{
		IssuedAt:    jwt.NewNumericDate(iat),
		ID:          jti,
		Issuer:      Issuer,
		APIKey:      apiKey,
		PayloadHash: PayloadHash(payload),
	})
}

// GETPayload returns what payload_hash covers for a GET callback: the query
// parameters as a compact JSON object of strings in received order (first
// value per name), without HTML escaping.
func GETPayload(rawQuery string) ([]byte, error) {
	p, err := paramsPayload(rawQuery)
	if err != nil {
		return nil, err
	}
	return queryJSON(p.params), nil
}

// queryJSON encodes params as a JSON object in their order. encoding/json is
// used for each string (its escaping is what Vonage's serialiser produces)
// with HTML escaping off, because "&", "<" and ">" are sent literally.
func queryJSON(params []provider.Param) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	writeString := func(s string) {
		_ = enc.Encode(s)           // encoding a string cannot fail
		buf.Truncate(buf.Len() - 1) // Encode appends a newline
	}
	buf.WriteByte('{')
	for i, p := range params {
		if i > 0 {
			buf.WriteByte(',')
		}
		writeString(p.Name)
		buf.WriteByte(':')
		writeString(p.Value)
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

// bearerToken returns the token of an "Authorization: Bearer <token>"
// header (scheme case-insensitive) and whether the header names Bearer.
func bearerToken(h http.Header) (string, bool) {
	auth := strings.TrimSpace(h.Get("Authorization"))
	scheme, token, _ := strings.Cut(auth, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// verifyJWT checks a Vonage signed-callback JWT (docs/signatures.md#vonage). jwt/v5 decodes the
// token and computes the HMAC, but its own validation order (method, then
// signature, then claims) is not that of docs/ingest.md#rejection-reasons-and-their-precedence, so claims validation is off and
// every check is made here, first failure wins:
//
//  1. malformed: a line break in the token, a JSON or form payload that
//     does not parse, not three segments, header or claims not base64url
//     JSON objects, a claim of the wrong type, no iat, no jti;
//  2. unsupported_algorithm: alg is not HS256 (none, RS256, HS512, absent);
//  3. bad_signature: no secret verifies (an undecodable signature segment
//     included), or iss is not "Vonage", or api_key differs from the
//     configured one;
//  4. payload_hash_mismatch: payload_hash (absent included) matches none of
//     the forms of the payload (see checkPayloadHash);
//  5. stale_timestamp: iat further than max_age from the receive time, or,
//     when the token carries them, exp not after the receive time or nbf
//     after it (as the SDKs' validator, jsonwebtoken, judges them: no
//     leeway; max_age 0s disables the iat window only);
//  6. replayed: the jti was seen within max_age (checked last, so that a
//     rejected request never consumes a jti).
func (v *verifier) verifyJWT(ctx context.Context, req *provider.Request, raw string, now time.Time) (provider.Verified, error) {
	if raw == "" {
		return provider.Verified{}, provider.Reject(schema.ReasonMalformed, "Authorization: Bearer carries no token")
	}
	if strings.ContainsAny(raw, "\r\n") {
		// base64 decoders skip line breaks, so without this a genuine
		// token with one inserted into its signature would still verify.
		return provider.Verified{}, provider.Reject(schema.ReasonMalformed, "bad JWT structure: the token contains a line break")
	}
	if _, err := req.CheckPayload(); err != nil {
		// A body of another type is only bound by payload_hash; one that
		// claims to be JSON or a form and does not parse is malformed.
		return provider.Verified{}, provider.Reject(schema.ReasonMalformed, "payload does not parse: %v", err)
	}
	var claims Claims
	token, parts, err := v.parser.ParseUnverified(raw, &claims)
	signatureUndecodable, algUnknown := false, false
	switch {
	case err == nil:
	case errors.Is(err, jwt.ErrTokenMalformed) && token != nil && token.Method != nil:
		// ParseUnverified sets Method only after the header and claims
		// decoded, so the failing part is the signature segment: that is
		// an undecodable signature (bad_signature), judged after the alg.
		signatureUndecodable = true
	case errors.Is(err, jwt.ErrTokenUnverifiable) && token != nil:
		// Header and claims decoded, but alg is absent or names no
		// algorithm jwt/v5 knows: unsupported, once the claims are known
		// to be well formed.
		algUnknown = true
	default:
		return provider.Verified{}, provider.Reject(schema.ReasonMalformed, "bad JWT structure: %s", jwtErrorText(err))
	}
	if claims.IssuedAt == nil {
		return provider.Verified{}, provider.Reject(schema.ReasonMalformed, "JWT has no iat claim")
	}
	if claims.ID == "" {
		// Without a jti a replay cannot be detected; Vonage always sends
		// one, so a token without it is not a Vonage callback token.
		return provider.Verified{}, provider.Reject(schema.ReasonMalformed, "JWT has no jti claim")
	}
	if algUnknown || token.Method.Alg() != jwtAlgorithm {
		return provider.Verified{}, rejectAlg(token)
	}

	keyIndex := -1
	if !signatureUndecodable {
		signing := parts[0] + "." + parts[1]
		for i, secret := range v.secrets {
			if jwt.SigningMethodHS256.Verify(signing, token.Signature, secret) == nil {
				keyIndex = i
				break
			}
		}
	}
	if keyIndex < 0 {
		why := "no signature secret verifies it"
		if signatureUndecodable {
			why = "its signature segment is not base64url"
		}
		return provider.Verified{}, provider.Reject(schema.ReasonBadSignature,
			"HS256 JWT: %s; tried %s; token claims api_key %q application_id %q",
			why, strings.Join(v.keyIDs, ", "), provider.Clip(claims.APIKey, 64), provider.Clip(claims.ApplicationID, 64))
	}
	if claims.Issuer != Issuer {
		return provider.Verified{}, provider.Reject(schema.ReasonBadSignature,
			"JWT verifies with %s but iss is %q, not %q", v.keyIDs[keyIndex], provider.Clip(claims.Issuer, 64), Issuer)
	}
	if v.apiKey != "" && claims.APIKey != v.apiKey {
		return provider.Verified{}, provider.Reject(schema.ReasonBadSignature,
			"JWT verifies with %s but api_key claim %q is not the configured api_key %q",
			v.keyIDs[keyIndex], provider.Clip(claims.APIKey, 64), v.apiKey)
	}
	if rej := checkPayloadHash(req, claims.PayloadHash); rej != nil {
		return provider.Verified{}, rej
	}
	iat := claims.IssuedAt.Time
	if rej := checkWindow("JWT iat", iat, now, v.maxAge); rej != nil {
		return provider.Verified{}, rej
	}
	if rej := checkValidity(&claims, now); rej != nil {
		return provider.Verified{}, rej
	}

	// The window accepts iat up to max_age old inclusive; one more second
	// (iat's resolution) keeps the jti remembered at that very instant.
	expires := iat.Add(v.maxAge + time.Second)
	if v.maxAge <= 0 {
		expires = now.Add(replayMemoryWithoutWindow)
	}
	replayKey := v.replayPrefix + claims.ID
	first, err := v.replays.FirstUse(ctx, replayKey, iat, expires)
	if errors.Is(err, provider.ErrReplayMemoryLost) {
		return provider.Verified{}, provider.Reject(schema.ReasonReplayed,
			"JWT jti %q cannot be told from a replay: %v", provider.Clip(claims.ID, 80), err)
	}
	if err != nil {
		return provider.Verified{}, fmt.Errorf("vonage: replay guard: %w", err)
	}
	if !first {
		return provider.Verified{}, provider.Reject(schema.ReasonReplayed,
			"JWT jti %q was already used within max_age %s", provider.Clip(claims.ID, 80), v.maxAge)
	}
	return provider.Verified{
		KeyID:   v.keyIDs[keyIndex],
		Release: func(ctx context.Context) error { return v.replays.Forget(ctx, replayKey) },
	}, nil
}

// checkValidity rejects a token used outside the validity its exp and nbf
// claims state, when it has them: expired at exp (a token is valid only
// before it), not yet valid before nbf.
func checkValidity(c *Claims, now time.Time) *provider.Rejection {
	if c.ExpiresAt != nil && !now.Before(c.ExpiresAt.Time) {
		return provider.Reject(schema.ReasonStaleTimestamp, "JWT exp %s is not after the receive time %s: the token has expired",
			c.ExpiresAt.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if c.NotBefore != nil && now.Before(c.NotBefore.Time) {
		return provider.Reject(schema.ReasonStaleTimestamp, "JWT nbf %s is after the receive time %s: the token is not valid yet",
			c.NotBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

// rejectAlg names the offending alg; the header value is attacker-chosen, so
// it is bounded.
func rejectAlg(token *jwt.Token) *provider.Rejection {
	alg, _ := token.Header["alg"].(string)
	if alg == "" {
		return provider.Reject(schema.ReasonUnsupportedAlgorithm, "JWT header has no alg; only HS256 is accepted")
	}
	return provider.Reject(schema.ReasonUnsupportedAlgorithm, "JWT alg %q is not accepted; only HS256", provider.Clip(alg, 32))
}

// jwtErrorText is jwt/v5's description of a structural failure. It names the
// failing part ("could not base64 decode header") and never echoes the token.
func jwtErrorText(err error) string {
	return provider.Clip(err.Error(), 200)
}

// checkPayloadHash compares the payload_hash claim with every form of the
// payload Vonage may have hashed. For a POST: the raw body, and the body
// with insignificant JSON whitespace removed (a re-serialising proxy or
// pretty printer). For a GET: its query as a compact JSON object; the body
// only when there is one, and the empty payload only when the query is
// empty too, so that a token minted for an empty payload never vouches for
// a GET's parameters.
func checkPayloadHash(req *provider.Request, claim string) *provider.Rejection {
	if claim == "" {
		return provider.Reject(schema.ReasonPayloadHashMismatch, "JWT has no payload_hash claim, so nothing binds it to the payload")
	}
	got := []byte(strings.ToLower(claim))
	tried := make([]string, 0, 3)
	match := func(label string, payload []byte) bool {
		tried = append(tried, label)
		return subtle.ConstantTimeCompare(got, []byte(PayloadHash(payload))) == 1
	}
	isGet := req.Method == http.MethodGet
	if isGet {
		p, err := paramsPayload(req.RawQuery())
		if err != nil {
			tried = append(tried, "query as JSON object (query not decodable)")
		} else if match(fmt.Sprintf("query as JSON object (%d parameters)", len(p.params)), queryJSON(p.params)) {
			return nil
		} else if len(p.params) == 0 && len(req.Body) == 0 && match("empty payload", nil) {
			return nil
		}
	}
	if len(req.Body) > 0 || !isGet {
		if match(fmt.Sprintf("raw body (%d bytes)", len(req.Body)), req.Body) {
			return nil
		}
		var compact bytes.Buffer
		if len(req.Body) > 0 && json.Compact(&compact, req.Body) == nil && compact.Len() != len(req.Body) {
			if match(fmt.Sprintf("compacted JSON body (%d bytes)", compact.Len()), compact.Bytes()) {
				return nil
			}
		}
	}
	return provider.Reject(schema.ReasonPayloadHashMismatch,
		"payload_hash matches none of: %s", strings.Join(tried, "; "))
}
