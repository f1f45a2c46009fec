package messagemedia

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/hookledger/hookledger/provider/providerapi"
)

// DefaultKeyAPIBase is where MessageMedia's signature-key API lives.
const DefaultKeyAPIBase = "https://api.messagemedia.com"

// Paths of the signature-key API, relative to the base URL.
const (
	signatureKeysPath = "/v1/iam/signature_keys"
	enabledKeyPath    = "/v1/iam/signature_keys/enabled"
)

// ErrNoEnabledKey is returned by KeyAPIClient.EnabledKey when the account has
// no enabled signature key (the API answers 404). MessageMedia then sends
// callbacks unsigned.
var ErrNoEnabledKey = errors.New("no signature key is enabled")

// ErrKeyNotFound is returned by KeyAPIClient.EnableKey when the account has
// no key with that id (the API answers 404).
var ErrKeyNotFound = errors.New("no signature key with that id")

// keyAPIName prefixes every error about the key API.
const keyAPIName = "messagemedia key API"

// KeyAPIClient calls MessageMedia's signature-key API with HTTP Basic auth.
//
// Invariants: the API secret is only ever sent in the Authorization header;
// it never appears in an error, even when the provider echoes it back (the
// secret lives only in the providerapi.Client, which guarantees both). A
// SignatureKey returned with a non-empty PublicKey has passed the same
// checks a source's config applies (RSA, at least MinKeyBits), so what the
// CLI prints can be pasted into the config and will load.
type KeyAPIClient struct {
	api *providerapi.Client
}

// NewKeyAPIClient returns a client for the key API at base (e.g.
// DefaultKeyAPIBase, or a local stub in tests). base must be an absolute
// http or https URL without user info, query or fragment; whether plain
// http is acceptable is the caller's policy. httpClient nil means
// http.DefaultClient, which has no timeout: callers bound each call through
// its context or pass a client with one.
func NewKeyAPIClient(base, apiKey, apiSecret string, httpClient *http.Client) (*KeyAPIClient, error) {
	api, err := providerapi.New(keyAPIName, base, apiKey, apiSecret, httpClient)
	if err != nil {
		return nil, err
	}
	return &KeyAPIClient{api: api}, nil
}

// SignatureKey is a signature key as the key API describes it.
type SignatureKey struct {
	KeyID   string `json:"key_id"`
	Cipher  string `json:"cipher"`
	Digest  string `json:"digest"`
	Created string `json:"created"`
	Enabled bool   `json:"enabled"`
	// PublicKey is base64 DER SubjectPublicKeyInfo, exactly as served. The
	// API documents it only in the answer to the create call; the other
	// endpoints describe the key without it, so it may be empty.
	PublicKey string `json:"public_key"`
	// RSA is PublicKey parsed; nil exactly when PublicKey is empty.
	RSA *rsa.PublicKey `json:"-"`
}

// CreateKey asks MessageMedia to mint a new RSA key pair signing with
// digest (SHA224, SHA256 or SHA512, any case). MessageMedia keeps the
// private half; the answer carries the public half. The new key is not
// enabled.
//
// The answer is checked before it is returned: a key id, cipher RSA, the
// digest asked for, and a public key that parses as RSA of at least
// MinKeyBits. When that check fails the key still exists at MessageMedia
// (unenabled, so harmless); the error names its id.
func (c *KeyAPIClient) CreateKey(ctx context.Context, digest string) (SignatureKey, error) {
	canonical, _, ok := digestByName(digest)
	if !ok {
		return SignatureKey{}, fmt.Errorf("messagemedia key API: digest %q is not one of SHA224, SHA256, SHA512", digest)
	}
	body, err := c.call(ctx, http.MethodPost, signatureKeysPath, map[string]string{"digest": canonical, "cipher": CipherRSA})
	if err != nil {
		return SignatureKey{}, err
	}
	key, err := decodeSignatureKey(body)
	if err != nil {
		return SignatureKey{}, fmt.Errorf("messagemedia key API: create: %w", err)
	}
	if got, _, _ := digestByName(key.Digest); got != canonical {
		return SignatureKey{}, fmt.Errorf("messagemedia key API: created key %s signs with digest %q, asked for %s", key.KeyID, key.Digest, canonical)
	}
	if key.PublicKey == "" {
		return SignatureKey{}, fmt.Errorf("messagemedia key API: created key %s came without its public key", key.KeyID)
	}
	return key, nil
}

// EnableKey makes keyID the account's enabled key: from then on MessageMedia
// signs every callback with it. Only one key is enabled at a time, so this
// retires the previously enabled one at once; a source must already list
// the new key or its callbacks are rejected as unknown_key.
//
// The change is confirmed by reading the enabled key back rather than by
// trusting the PATCH answer, whose body is the only part of the exchange
// this client does not need to understand. The returned record is that
// read-back, which carries no public key.
func (c *KeyAPIClient) EnableKey(ctx context.Context, keyID string) (SignatureKey, error) {
	if strings.TrimSpace(keyID) == "" {
		return SignatureKey{}, errors.New("messagemedia key API: enable: key id is required")
	}
	_, err := c.call(ctx, http.MethodPatch, enabledKeyPath, map[string]string{"key_id": keyID})
	if apiErr := (*KeyAPIError)(nil); errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound {
		return SignatureKey{}, fmt.Errorf("messagemedia key API: enable %s: %w", keyID, ErrKeyNotFound)
	}
	if err != nil {
		return SignatureKey{}, err
	}
	enabled, err := c.EnabledKey(ctx)
	if errors.Is(err, ErrNoEnabledKey) {
		return SignatureKey{}, fmt.Errorf("messagemedia key API: enable %s: accepted, but reading back finds %w", keyID, err)
	}
	if err != nil {
		return SignatureKey{}, fmt.Errorf("messagemedia key API: enable %s: confirm: %w", keyID, err)
	}
	if !strings.EqualFold(enabled.KeyID, keyID) {
		return SignatureKey{}, fmt.Errorf("messagemedia key API: enable %s: accepted, but key %s is the enabled one", keyID, enabled.KeyID)
	}
	return enabled, nil
}

// EnabledKey returns the account's enabled key, or ErrNoEnabledKey.
func (c *KeyAPIClient) EnabledKey(ctx context.Context) (SignatureKey, error) {
	body, err := c.call(ctx, http.MethodGet, enabledKeyPath, nil)
	if apiErr := (*KeyAPIError)(nil); errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound {
		return SignatureKey{}, ErrNoEnabledKey
	}
	if err != nil {
		return SignatureKey{}, err
	}
	key, err := decodeSignatureKey(body)
	if err != nil {
		return SignatureKey{}, fmt.Errorf("messagemedia key API: enabled key: %w", err)
	}
	return key, nil
}

// DisableEnabledKey disables whichever key is enabled. The API answers 204
// whether or not one was, so this is idempotent. Afterwards MessageMedia
// sends callbacks unsigned, which sources with keys reject.
func (c *KeyAPIClient) DisableEnabledKey(ctx context.Context) error {
	_, err := c.call(ctx, http.MethodDelete, enabledKeyPath, nil)
	return err
}

// ConfigSnippet returns the YAML list entry for k under a messagemedia
// source's `keys:` (key_id, public_key as served, digest pinned). It is
// produced by the YAML encoder from KeySettings, so it always quotes
// correctly and uses the field names the config loader reads. It fails when
// the public key is unknown, because an entry without one does not load.
func (k SignatureKey) ConfigSnippet() (string, error) {
	if k.PublicKey == "" {
		return "", errors.New("the public key is unknown: MessageMedia returns it only when the key is created")
	}
	out, err := yaml.Marshal([]KeySettings{{KeyID: k.KeyID, PublicKey: k.PublicKey, Digest: k.Digest}})
	if err != nil {
		return "", fmt.Errorf("encode config snippet: %w", err)
	}
	return string(out), nil
}

// decodeSignatureKey decodes and checks one key record. Errors never quote
// the record: it may be anything a misbehaving endpoint sent.
func decodeSignatureKey(body []byte) (SignatureKey, error) {
	var key SignatureKey
	if err := json.Unmarshal(body, &key); err != nil {
		return SignatureKey{}, fmt.Errorf("answer is not a signature key record: %w", err)
	}
	if strings.TrimSpace(key.KeyID) == "" {
		return SignatureKey{}, errors.New("answer has no key_id")
	}
	// Cipher and digest end up in the config snippet and decide how
	// callbacks are verified; anything unexpected means the answer is not
	// what this client understands.
	if key.Cipher != "" && !strings.EqualFold(key.Cipher, CipherRSA) {
		return SignatureKey{}, fmt.Errorf("key %s uses cipher %q; hookledger verifies RSA only", key.KeyID, key.Cipher)
	}
	if key.Digest != "" {
		canonical, _, ok := digestByName(key.Digest)
		if !ok {
			return SignatureKey{}, fmt.Errorf("key %s uses digest %q; want SHA224, SHA256 or SHA512", key.KeyID, key.Digest)
		}
		key.Digest = canonical
	}
	if key.PublicKey != "" {
		pub, err := ParsePublicKey(key.PublicKey)
		if err != nil {
			return SignatureKey{}, fmt.Errorf("key %s: public key unusable: %w", key.KeyID, err)
		}
		if bits := pub.N.BitLen(); bits < MinKeyBits {
			return SignatureKey{}, fmt.Errorf("key %s: public key is %d-bit RSA, at least %d required", key.KeyID, bits, MinKeyBits)
		}
		key.RSA = pub
	}
	return key, nil
}

// KeyAPIError is a non-2xx answer from the key API.
// It names providerapi.StatusError, the error type the management API
// clients share: errors.As tells it from other errors, and its API field
// ("messagemedia key API" here) tells which client returned it.
// Message is MessageMedia's own explanation ("message" and any "details")
// when it gave one: bounded, on one line, with the API secret removed.
type KeyAPIError = providerapi.StatusError

// call sends one request and returns the body of a 2xx answer; any other
// status becomes a *KeyAPIError. payload, when not nil, is sent as JSON.
func (c *KeyAPIClient) call(ctx context.Context, method, path string, payload any) ([]byte, error) {
	var encoded []byte // stays nil without a payload, so no body is sent
	if payload != nil {
		var err error
		if encoded, err = json.Marshal(payload); err != nil {
			return nil, fmt.Errorf("%s: %s %s: encode request: %w", keyAPIName, method, path, err)
		}
	}
	return c.api.Do(ctx, method, path, encoded, keyAPIExplanation)
}

// keyAPIExplanation extracts the explanation from an error answer: the
// "message" field MessageMedia's JSON errors carry and any "details", joined
// with "; ". It is "" when the answer is not such a document, and then the
// answer's own text is quoted instead.
func keyAPIExplanation(answer []byte) string {
	var structured struct {
		Message string   `json:"message"`
		Details []string `json:"details"`
	}
	if json.Unmarshal(answer, &structured) != nil {
		return ""
	}
	text := strings.Join(append([]string{structured.Message}, structured.Details...), "; ")
	return strings.TrimPrefix(text, "; ")
}
