// Package messagemedia implements hookledger's support for Sinch
// MessageMedia: verification of its RSA-signed webhooks (docs/signatures.md#messagemedia) and
// normalisation of its delivery reports and replies (docs/vocabularies.md).
//
// MessageMedia signs each webhook with a private key whose public half the
// account owner fetched from the signature-key API; the webhook names the key
// in X-MessageMedia-Key-Id, so a source lists every key it accepts (several
// during a rotation) and the verifier picks one by id.
package messagemedia

import (
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hookledger/hookledger/provider"
)

// Name is the provider's name in config and records.
const Name = "messagemedia"

// DefaultMaxSkew is how far the Date header may be from the receive time
// when a source does not say (docs/configuration.md#sourcesmessagemediamax_skew).
const DefaultMaxSkew = 5 * time.Minute

// MinKeyBits is the smallest accepted RSA modulus. MessageMedia's own example
// key is 1024-bit, so nothing stronger can be required.
const MinKeyBits = 1024

// Digest names as MessageMedia writes them in X-MessageMedia-Digest-Type and
// in the signature-key API.
const (
	DigestSHA224 = "SHA224"
	DigestSHA256 = "SHA256"
	DigestSHA512 = "SHA512"
)

// CipherRSA is the only cipher MessageMedia signs with.
const CipherRSA = "RSA"

// Settings is a source's `messagemedia:` block.
type Settings struct {
	// Keys are the public keys the source accepts, chosen by key id.
	Keys []KeySettings `yaml:"keys"`
	// MaxSkew bounds |receive time - Date| in both directions; 0s disables
	// the check.
	MaxSkew time.Duration `yaml:"max_skew"`
}

// DefaultSettings are the values an omitted key takes.
func DefaultSettings() Settings {
	return Settings{MaxSkew: DefaultMaxSkew}
}

// KeySettings is one configured MessageMedia signature key.
type KeySettings struct {
	// KeyID is the key's id as the key API returns it (a UUID); it is what
	// the webhook carries in X-MessageMedia-Key-Id.
	KeyID string `yaml:"key_id"`
	// PublicKey is base64 DER SubjectPublicKeyInfo (as the key API returns
	// it) or PEM ("PUBLIC KEY" or "RSA PUBLIC KEY").
	PublicKey string `yaml:"public_key"`
	// Digest optionally pins the digest this key signs with; empty accepts
	// whichever of SHA224/SHA256/SHA512 the header names.
	Digest string `yaml:"digest"`
}

// Provider is the MessageMedia provider. It holds no state.
type Provider struct{}

// New returns the MessageMedia provider.
func New() *Provider { return &Provider{} }

// Name returns "messagemedia".
func (*Provider) Name() string { return Name }

// NewVerifier validates the source's settings and builds its verifier.
// Errors name the offending field relative to the `messagemedia:` block.
func (*Provider) NewVerifier(src provider.Source, deps provider.Deps) (provider.Verifier, error) {
	settings := DefaultSettings()
	if src.Decode == nil {
		return nil, errors.New("messagemedia: source has no settings decoder")
	}
	if err := src.Decode(&settings); err != nil {
		return nil, fmt.Errorf("decode settings: %w", err)
	}
	return newVerifier(settings, deps.Now)
}

// verifierKey is one configured key, parsed and validated.
type verifierKey struct {
	id   string // as configured, reported as Verified.KeyID
	pub  *rsa.PublicKey
	pin  string // canonical digest name, or "" when not pinned
	bits int
}

// newVerifier turns validated settings into a Verifier. now is the fallback
// clock for requests without a ReceivedAt; it may be nil.
func newVerifier(s Settings, now func() time.Time) (*Verifier, error) {
	if s.MaxSkew < 0 {
		return nil, fmt.Errorf("max_skew: must not be negative (0s disables the check), got %s", s.MaxSkew)
	}
	if len(s.Keys) == 0 {
		return nil, errors.New("keys: at least one key is required")
	}
	v := &Verifier{
		keys:    make(map[string]verifierKey, len(s.Keys)),
		maxSkew: s.MaxSkew,
		now:     now,
	}
	firstIndex := make(map[string]int, len(s.Keys))
	for i, k := range s.Keys {
		id := strings.TrimSpace(k.KeyID)
		if id == "" {
			return nil, fmt.Errorf("keys[%d].key_id: required", i)
		}
		lookup := strings.ToLower(id)
		if j, dup := firstIndex[lookup]; dup {
			return nil, fmt.Errorf("keys[%d].key_id: duplicate of keys[%d].key_id", i, j)
		}
		firstIndex[lookup] = i
		if strings.TrimSpace(k.PublicKey) == "" {
			return nil, fmt.Errorf("keys[%d].public_key: required", i)
		}
		pub, err := ParsePublicKey(k.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("keys[%d].public_key: %w", i, err)
		}
		bits := pub.N.BitLen()
		if bits < MinKeyBits {
			return nil, fmt.Errorf("keys[%d].public_key: RSA key is %d bits, at least %d required", i, bits, MinKeyBits)
		}
		pin := ""
		if strings.TrimSpace(k.Digest) != "" {
			name, _, ok := digestByName(k.Digest)
			if !ok {
				return nil, fmt.Errorf("keys[%d].digest: must be one of SHA224, SHA256, SHA512", i)
			}
			pin = name
		}
		v.keys[lookup] = verifierKey{id: id, pub: pub, pin: pin, bits: bits}
	}
	return v, nil
}

// digestByName maps a digest name (case-insensitive) to its canonical name
// and hash. Only the three digests MessageMedia documents are accepted.
func digestByName(name string) (canonical string, h crypto.Hash, ok bool) {
	switch strings.ToUpper(strings.TrimSpace(name)) {
	case DigestSHA224:
		return DigestSHA224, crypto.SHA224, true
	case DigestSHA256:
		return DigestSHA256, crypto.SHA256, true
	case DigestSHA512:
		return DigestSHA512, crypto.SHA512, true
	}
	return "", 0, false
}
