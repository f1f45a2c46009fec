package messagemedia

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// ErrNotRSA is returned by ParsePublicKey for a well-formed key of another
// algorithm.
var ErrNotRSA = errors.New("not an RSA public key")

// ParsePublicKey parses an RSA public key written as MessageMedia's key API
// returns it (base64 of a DER SubjectPublicKeyInfo, no armour) or as PEM with
// a "PUBLIC KEY" (SubjectPublicKeyInfo) or "RSA PUBLIC KEY" (PKCS#1) block.
// Whitespace and line breaks inside the base64 are ignored, so a key pasted
// over several YAML lines works. It does not check the key size; callers
// enforce MinKeyBits. Errors never quote the input.
func ParsePublicKey(text string) (*rsa.PublicKey, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, errors.New("empty public key")
	}
	if strings.HasPrefix(text, "-----BEGIN") {
		return parsePEMPublicKey(text)
	}
	der, err := decodeBase64Loose(text)
	if err != nil {
		return nil, fmt.Errorf("neither PEM nor base64 DER: %w", err)
	}
	// The key API returns SubjectPublicKeyInfo; a bare PKCS#1 key is
	// accepted too because it is what some tools print for "RSA" keys.
	if pub, err := parseSPKI(der); err == nil || errors.Is(err, ErrNotRSA) {
		return pub, err
	}
	if pub, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return pub, nil
	}
	return nil, errors.New("base64 decodes, but not to a DER SubjectPublicKeyInfo or PKCS#1 RSA public key")
}

func parsePEMPublicKey(text string) (*rsa.PublicKey, error) {
	block, rest := pem.Decode([]byte(text))
	if block == nil {
		return nil, errors.New("invalid PEM block")
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		return nil, errors.New("unexpected data after the PEM block")
	}
	switch block.Type {
	case "PUBLIC KEY":
		return parseSPKI(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("RSA PUBLIC KEY block: %w", err)
		}
		return pub, nil
	default:
		// Only the type is echoed: it is a label, never key material.
		return nil, fmt.Errorf("PEM block type %q, want PUBLIC KEY or RSA PUBLIC KEY", block.Type)
	}
}

func parseSPKI(der []byte) (*rsa.PublicKey, error) {
	key, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("SubjectPublicKeyInfo: %w", err)
	}
	pub, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w (got %T)", ErrNotRSA, key)
	}
	return pub, nil
}

// decodeBase64Loose decodes standard base64 with or without padding,
// ignoring ASCII whitespace anywhere in the input.
func decodeBase64Loose(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, errors.New("invalid base64")
	}
	return b, nil
}

// PublicKeyBase64 encodes pub the way MessageMedia's key API returns it:
// base64 of the DER SubjectPublicKeyInfo, no armour.
func PublicKeyBase64(pub *rsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("marshal public key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

// PublicKeyPEM encodes pub as a "PUBLIC KEY" PEM block.
func PublicKeyPEM(pub *rsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("marshal public key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}
