package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookledger/hookledger/internal/config"
	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/provider/providers"
	"github.com/hookledger/hookledger/provider/vonage"
)

// A config file with one mistake per case, as an operator writes it.
// Errors name the key's path and its line in the file, suggest the
// nearest valid key, never name a Go type, and never quote a value (it
// could be a secret put in the wrong field).
func TestErrorsNameKeyAndLine(t *testing.T) {
	const head = "# hookledger\ndata_dir: /var/lib/hookledger\n" // lines 1-2
	for _, tc := range []struct {
		name, doc string
		env       map[string]string
		want      []string // substrings of the error
		never     []string
	}{
		{
			name:  "misspelt top-level key",
			doc:   head + "ingset:\n  listen: 0.0.0.0:8080\n",
			want:  []string{`hookledger.yaml:3: ingset: unknown key; did you mean "ingest"?`},
			never: []string{"config.Config", "not found in type"},
		},
		{
			name: "misspelt nested key",
			doc:  head + "kafka:\n  brokers: [k1:9092]\n  ack_timout: 3s\n",
			want: []string{`hookledger.yaml:5: kafka.ack_timout: unknown key; did you mean "ack_timeout"?`},
		},
		{
			name: "misspelt provider",
			doc: head + "sources:\n  - id: vonage-main\n    provider: vonnage\n    tenant: acme\n" +
				"    vonage:\n      signature_secrets: [VONSECRET-1]\n",
			want:  []string{`hookledger.yaml:5: sources[0].provider: unknown provider; did you mean "vonage", the name of the settings block on line 7?`},
			never: []string{`must be named "vonnage"`, "VONSECRET-1"},
		},
		{
			name: "misspelt source key",
			doc: head + "sources:\n  - id: vonage-main\n    provider: vonage\n    tennant: acme\n" +
				"    vonage:\n      signature_secrets: [VONSECRET-1]\n",
			want:  []string{`hookledger.yaml:6: sources[0].tennant: unknown key; did you mean "tenant"?`},
			never: []string{"provider block", "VONSECRET-1"},
		},
		{
			name: "settings block of another provider",
			doc: head + "sources:\n  - id: sw-main\n    provider: signalwire\n    tenant: acme\n" +
				"    vonage:\n      signature_secrets: [VONSECRET-1]\n",
			want: []string{`hookledger.yaml:7: sources[0].vonage: unknown key: the settings block of a signalwire source is named "signalwire"`},
		},
		{
			name:  "secret in a duration",
			doc:   head + "kafka:\n  ack_timeout: VONSECRET-2\n",
			want:  []string{"hookledger.yaml:4: kafka.ack_timeout: expected a duration such as 5m"},
			never: []string{"VONSECRET-2", "time.Duration", "!!str"},
		},
		{
			name:  "secret in a number",
			doc:   head + "ingest:\n  max_body_bytes: VONSECRET-2\n",
			want:  []string{"hookledger.yaml:4: ingest.max_body_bytes: expected a whole number"},
			never: []string{"VONSECRET-2", "int64"},
		},
		{
			name:  "secret in an enumeration",
			doc:   head + "log:\n  level: VONSECRET-2\n",
			want:  []string{"hookledger.yaml:4: log.level: must be debug, info, warn or error"},
			never: []string{"VONSECRET-2"},
		},
		{
			name:  "secret in a URL",
			doc:   head + "ingest:\n  public_base_url: VONSECRET-2\n",
			want:  []string{"hookledger.yaml:4: ingest.public_base_url: must be an absolute http(s) URL"},
			never: []string{"VONSECRET-2"},
		},
		{
			name:  "value from the environment",
			doc:   head,
			env:   map[string]string{"HOOKLEDGER_KAFKA_ACK_TIMEOUT": "VONSECRET-2"},
			want:  []string{"kafka.ack_timeout: expected a duration such as 5m, 90s or 0s (set by HOOKLEDGER_KAFKA_ACK_TIMEOUT)"},
			never: []string{"VONSECRET-2"},
		},
		{
			name: "every mistake, in file order",
			doc:  head + "kafka:\n  partitions: many\n  ack_timeout: soon\n",
			want: []string{"hookledger.yaml:4: kafka.partitions: expected a whole number\nhookledger.yaml:5: kafka.ack_timeout: expected a duration"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "hookledger.yaml")
			if err := os.WriteFile(path, []byte(tc.doc), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := config.Load(path, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok },
				config.WithProviders(providers.All().Names()))
			if err == nil {
				t.Fatal("accepted")
			}
			msg := strings.ReplaceAll(err.Error(), filepath.Dir(path)+string(filepath.Separator), "")
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not contain %q:\n%s", w, msg)
				}
			}
			for _, n := range tc.never {
				if strings.Contains(msg, n) {
					t.Errorf("error contains %q:\n%s", n, msg)
				}
			}
		})
	}
}

// Provider blocks are decoded by the provider packages through
// DecodeSettings: their errors name the full path and the file's line too,
// and never the value.
func TestSettingsErrorsNameKeyAndLine(t *testing.T) {
	doc := "# hookledger\nsources:\n  - id: vonage-main\n    provider: vonage\n    tenant: acme\n    vonage:\n" +
		"      signature_secrets: [VONSECRET-1]\n      max_age: \"VONSECRET-2\"\n      api_kye: abcd\n"
	cfg, err := config.Parse([]byte(doc), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	src := cfg.Sources[0]
	_, err = vonage.New().NewVerifier(provider.Source{ID: src.ID, Tenant: src.Tenant, Decode: src.DecodeSettings}, provider.Deps{})
	if err == nil {
		t.Fatal("accepted")
	}
	msg := src.SettingsError(err).Error()
	for _, w := range []string{
		"line 8: sources[0].vonage.max_age: expected a duration such as 5m, 90s or 0s",
		`line 9: sources[0].vonage.api_kye: unknown key; did you mean "api_key"?`,
	} {
		if !strings.Contains(msg, w) {
			t.Errorf("error does not contain %q:\n%s", w, msg)
		}
	}
	for _, n := range []string{"VONSECRET", "decode settings", "(line"} {
		if strings.Contains(msg, n) {
			t.Errorf("error contains %q:\n%s", n, msg)
		}
	}
}

// Aliases decode as YAML defines them; a merge key or alias that refers
// to its own mapping ends (an error where it nests), never a hang.
func TestAliasesAndMergeKeys(t *testing.T) {
	cfg, err := config.Parse([]byte("query:\n  listen: &q 127.0.0.1:9000\nprocessor: {listen: *q}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Processor.Listen != "127.0.0.1:9000" {
		t.Fatalf("processor.listen %q", cfg.Processor.Listen)
	}
	// A mapping merged into itself adds nothing; it must not recurse.
	if _, err := config.Parse([]byte("ingest: &a\n  <<: *a\n  listen: 127.0.0.1:1\n"), nil); err != nil {
		t.Errorf("self merge: %v", err)
	}
	if _, err := config.Parse([]byte("ingest: &a {audit: *a}\n"), nil); err == nil {
		t.Error("a mapping nested in itself accepted")
	}
}
