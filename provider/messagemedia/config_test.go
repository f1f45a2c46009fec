package messagemedia

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/hookledger/hookledger/provider"
)

func TestProviderName(t *testing.T) {
	if got := New().Name(); got != "messagemedia" {
		t.Fatalf("Name = %q", got)
	}
}

// weakKeyBase64 is a syntactically valid 512-bit RSA public key (its modulus
// is not a real RSA modulus; only its size matters here). Go refuses to
// generate keys under 1024 bits, so it is built by hand.
func weakKeyBase64(t *testing.T) string {
	n := new(big.Int).SetBit(new(big.Int), 511, 1)
	n.Add(n, big.NewInt(1))
	der, err := x509.MarshalPKIXPublicKey(&rsa.PublicKey{N: n, E: 65537})
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func ecKeyBase64(t *testing.T) string {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func TestNewVerifierSettings(t *testing.T) {
	keys := fixtureKeys()
	good, err := PublicKeyBase64(&keys.primary.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1PEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&keys.pinned.PublicKey)}))
	indent := func(s string) string {
		return "      " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n      ") + "\n"
	}
	one := func(extra string) string {
		return "keys:\n  - key_id: " + keyIDPrimary + "\n    public_key: " + good + "\n" + extra
	}

	for _, tc := range []struct {
		name    string
		yaml    string
		wantErr string // "" = valid
		skew    time.Duration
	}{
		{name: "defaults", yaml: one(""), skew: DefaultMaxSkew},
		{name: "max_skew 90s", yaml: one("max_skew: 90s\n"), skew: 90 * time.Second},
		{name: "max_skew 0s disables", yaml: one("max_skew: 0s\n"), skew: 0},
		{name: "RSA PUBLIC KEY PEM", yaml: "keys:\n  - key_id: k1\n    public_key: |\n" + indent(pkcs1PEM), skew: DefaultMaxSkew},
		{name: "base64 wrapped over lines", yaml: "keys:\n  - key_id: k1\n    public_key: |\n" + indent(wrap(good, 64)), skew: DefaultMaxSkew},
		{name: "every digest pin", yaml: "keys:\n" +
			"  - {key_id: a, digest: SHA224, public_key: " + good + "}\n" +
			"  - {key_id: b, digest: sha256, public_key: " + good + "}\n" +
			"  - {key_id: c, digest: SHA512, public_key: " + good + "}\n", skew: DefaultMaxSkew},

		{name: "no block", yaml: "", wantErr: "keys: at least one key is required"},
		{name: "empty keys", yaml: "keys: []\n", wantErr: "keys: at least one key is required"},
		{name: "no key_id", yaml: "keys:\n  - public_key: " + good + "\n", wantErr: "keys[0].key_id: required"},
		{name: "duplicate key_id", yaml: one("") + "  - key_id: " + strings.ToUpper(keyIDPrimary) + "\n    public_key: " + good + "\n",
			wantErr: "keys[1].key_id: duplicate of keys[0].key_id"},
		{name: "no public_key", yaml: "keys:\n  - key_id: k1\n", wantErr: "keys[0].public_key: required"},
		{name: "garbage public_key", yaml: "keys:\n  - key_id: k1\n    public_key: not-a-key!\n", wantErr: "keys[0].public_key: neither PEM nor base64 DER"},
		{name: "EC public_key", yaml: "keys:\n  - key_id: k1\n    public_key: " + ecKeyBase64(t) + "\n", wantErr: "keys[0].public_key: not an RSA public key"},
		{name: "512-bit key", yaml: "keys:\n  - key_id: k1\n    public_key: " + weakKeyBase64(t) + "\n", wantErr: "keys[0].public_key: RSA key is 512 bits, at least 1024 required"},
		{name: "bad digest pin", yaml: "keys:\n  - key_id: k1\n    digest: SHA1\n    public_key: " + good + "\n", wantErr: `keys[0].digest: must be one of`}, // the value is never quoted
		{name: "negative max_skew", yaml: one("max_skew: -1m\n"), wantErr: "max_skew: must not be negative"},
		{name: "unparseable max_skew", yaml: one("max_skew: soon\n"), wantErr: "decode settings"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New().NewVerifier(yamlSource(tc.yaml), provider.Deps{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), good[:40]) {
					t.Fatalf("error quotes key material: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewVerifier: %v", err)
			}
			if got := v.(*Verifier).maxSkew; got != tc.skew {
				t.Fatalf("maxSkew = %s, want %s", got, tc.skew)
			}
		})
	}
}

func wrap(s string, width int) string {
	var b strings.Builder
	for len(s) > width {
		b.WriteString(s[:width] + "\n")
		s = s[width:]
	}
	b.WriteString(s)
	return b.String()
}

func TestParsePublicKey(t *testing.T) {
	pub := &fixtureKeys().pinned.PublicKey
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := x509.MarshalPKCS1PublicKey(pub)
	pemSPKI, err := PublicKeyPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, text string
		wantErr    string
	}{
		{"base64 SPKI as the key API returns it", base64.StdEncoding.EncodeToString(spki), ""},
		{"base64 SPKI without padding", strings.TrimRight(base64.StdEncoding.EncodeToString(spki), "="), ""},
		{"base64 PKCS#1", base64.StdEncoding.EncodeToString(pkcs1), ""},
		{"PEM PUBLIC KEY", pemSPKI, ""},
		{"PEM RSA PUBLIC KEY", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: pkcs1})), ""},
		{"PEM with surrounding space", "\n  " + pemSPKI + "\n", ""},
		{"empty", "  ", "empty public key"},
		{"PEM private key type", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: spki})), `PEM block type "PRIVATE KEY"`},
		{"PEM truncated", pemSPKI[:40], "invalid PEM block"},
		{"PEM trailing data", pemSPKI + "extra", "unexpected data after the PEM block"},
		{"PUBLIC KEY holding PKCS#1", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkcs1})), "SubjectPublicKeyInfo"},
		{"RSA PUBLIC KEY holding SPKI", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: spki})), "RSA PUBLIC KEY block"},
		{"base64 of junk", base64.StdEncoding.EncodeToString([]byte("hello world")), "not to a DER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePublicKey(tc.text)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePublicKey: %v", err)
			}
			if !got.Equal(pub) {
				t.Fatal("parsed key differs")
			}
		})
	}
	_, err = ParsePublicKey(ecKeyBase64(t))
	if !errors.Is(err, ErrNotRSA) {
		t.Fatalf("EC key: err = %v, want ErrNotRSA", err)
	}
}
