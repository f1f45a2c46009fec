package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The secrets of checkedConfig; none may appear in what config check prints.
var checkedSecrets = []string{
	"query-token-Qz81", "ff6d2c8a3e9f0b1d4c7a5e2f8b0d3c6a9e1f4b7d2c5a8e0f3b6d9c2a5e8f1b4d",
	"sw-key-Lk20", "sw-key-old-Mx37", "vonage-secret-Pw55", "dsn-password-Rt09",
}

const checkedConfig = `
data_dir: ./check-data
clickhouse:
  dsn: clickhouse://writer:dsn-password-Rt09@ch1:9000/hookledger
query:
  tokens:
    - {name: ops, token: query-token-Qz81, tenants: ["*"]}
    - {name: acme, token_sha256: ff6d2c8a3e9f0b1d4c7a5e2f8b0d3c6a9e1f4b7d2c5a8e0f3b6d9c2a5e8f1b4d, tenants: [acme]}
sources:
  - id: sw-main
    provider: signalwire
    tenant: acme
    signalwire: {signing_keys: [sw-key-Lk20, sw-key-old-Mx37]}
  - id: vonage-main
    provider: vonage
    tenant: acme
    vonage:
      signature_secrets: ["${CHECK_VONAGE_SECRET}"]
      api_key: abcd1234
`

func TestConfigCheckPrintsEffectiveConfigWithoutSecrets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hookledger.yaml")
	if err := os.WriteFile(path, []byte(checkedConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CHECK_VONAGE_SECRET", "vonage-secret-Pw55")
	t.Setenv("HOOKLEDGER_INGEST_LISTEN", "0.0.0.0:9090")

	code, out, errOut := runCLI(t, "config", "check", "--config", path)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	for _, secret := range checkedSecrets {
		if strings.Contains(out+errOut, secret) {
			t.Errorf("config check printed the secret %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{
		"listen: 0.0.0.0:9090",             // env override applied
		"raw_topic: hookledger.raw",        // default applied
		"max_age: 5m0s",                    // provider default applied
		"api_key: abcd1234",                // not a secret
		"token: <redacted>",                // the token
		"token_sha256: <redacted>",         // and its digest
		"- <redacted>",                     // each signing key, so their number shows
		"clickhouse://writer:redacted@ch1", // the DSN without its password
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("the output is not YAML: %v", err)
	}
}

func TestConfigCheckRefusesAnInvalidFile(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"core key", "ingest: {max_body_bytes: 0}\n", "ingest.max_body_bytes: must be at least 1"},
		{"provider block", `
sources:
  - id: sw-main
    provider: signalwire
    tenant: acme
    signalwire: {signing_keys: ["sw-key-Lk20 "]}
`, "hookledger.yaml:6: sources[0].signalwire.signing_keys[0]: has leading or trailing whitespace"}, // key path and line (config.FieldError)
		{"token", "query: {tokens: [{name: ops, tenants: [\"*\"]}]}\n", "query.tokens[0]: needs token or token_sha256"},
		{"unknown key", "ingest: {lisen: x}\n", "lisen"},
		{"misspelt provider", "sources:\n  - id: v\n    provider: vonnage\n    tenant: acme\n    vonage: {signature_secrets: [sw-key-Lk20]}\n",
			`hookledger.yaml:3: sources[0].provider: unknown provider; did you mean "vonage"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "hookledger.yaml")
			if err := os.WriteFile(path, []byte(tc.doc), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runCLI(t, "config", "check", "--config", path)
			if code == 0 || out != "" {
				t.Fatalf("exit %d, stdout %q: an invalid file must fail and print nothing", code, out)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr %q lacks %q", errOut, tc.want)
			}
			if strings.Contains(errOut, "sw-key-Lk20") {
				t.Errorf("stderr quotes the signing key: %s", errOut)
			}
		})
	}
}

// config check warns about what a start would warn about: an override of
// no key, no sources, no tokens; the file still checks out.
func TestConfigCheckWarnsLikeAStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hookledger.yaml")
	if err := os.WriteFile(path, []byte("data_dir: ./d\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOOKLEDGER_QUERY_LISTN", "x")
	t.Setenv("HOOKLEDGER_BENCH_QUERY_TOKEN", "tool variable, not config")
	code, _, errOut := runCLI(t, "config", "check", "--config", path)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	for _, want := range []string{"HOOKLEDGER_QUERY_LISTN overrides no config key", "sources is empty", "query.tokens is empty"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, "HOOKLEDGER_BENCH_QUERY_TOKEN") {
		t.Errorf("a tool variable was called misspelled:\n%s", errOut)
	}
}
