package vonage

import (
	"strings"
	"testing"
	"time"

	"github.com/hookledger/hookledger/provider"
)

func TestSettingsDefaultsAndOverrides(t *testing.T) {
	cases := []struct {
		block      string
		wantMaxAge time.Duration
		wantMethod string
	}{
		{settingsJWT, DefaultMaxAge, ""},
		{settingsJWT + "max_age: 0s\n", 0, ""},
		{settingsJWT + "max_age: 90s\nsms_signature_method: ' SHA256 '\n", 90 * time.Second, "sha256"},
		{"signature_secrets: only-one-secret\n", DefaultMaxAge, ""},
	}
	for _, tc := range cases {
		v := newTestVerifier(t, tc.block, nil).(*verifier)
		if v.maxAge != tc.wantMaxAge || v.smsMethod != tc.wantMethod {
			t.Errorf("%q: max_age %v method %q, want %v %q", tc.block, v.maxAge, v.smsMethod, tc.wantMaxAge, tc.wantMethod)
		}
	}
}

func TestSettingsErrors(t *testing.T) {
	cases := []struct{ block, wantField string }{
		{"api_key: abc\n", "signature_secrets: at least one"},
		{"signature_secrets: []\n", "signature_secrets: at least one"},
		{`signature_secrets: ["ok-secret", ""]` + "\n", "signature_secrets[1]: empty"},
		{`signature_secrets: ["supersecret "]` + "\n", "signature_secrets[0]: has leading or trailing whitespace"},
		{`signature_secrets: ["supersecret", "supersecret"]` + "\n", "signature_secrets[1]: same secret as signature_secrets[0]"},
		{`signature_secrets: [{nested: supersecret}]` + "\n", "signature_secrets[0]: expected a string"},
		{`signature_secrets: {a: supersecret}` + "\n", "signature_secrets: expected a list"},
		{settingsJWT + "max_age: -5m\n", "max_age: must not be negative"},
		// The value is never quoted: it could be a secret in the wrong field.
		{settingsJWT + "max_age: soon\n", "max_age: expected a duration"},
		{settingsJWT + "max_age: 300\n", "max_age: expected a duration"},
		{settingsJWT + "sms_signature_method: sha3\n", "sms_signature_method: must be one of"},
	}
	for _, tc := range cases {
		_, err := New().NewVerifier(yamlSource("s", tc.block), provider.Deps{Replays: alwaysFirst{}})
		if err == nil {
			t.Errorf("%q: accepted", tc.block)
			continue
		}
		if !strings.Contains(err.Error(), tc.wantField) {
			t.Errorf("%q: error %q does not name %q", tc.block, err, tc.wantField)
		}
		for _, secret := range []string{"supersecret", testSecret, testSecret2} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%q: error reveals a secret: %q", tc.block, err)
			}
		}
	}
}

func TestNewVerifierNeedsReplayGuard(t *testing.T) {
	if _, err := New().NewVerifier(yamlSource("s", settingsJWT), provider.Deps{}); err == nil {
		t.Fatal("accepted a nil replay guard")
	}
}

func TestProviderName(t *testing.T) {
	if New().Name() != "vonage" {
		t.Fatal(New().Name())
	}
}
