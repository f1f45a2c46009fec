package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

const sample = `
data_dir: /var/lib/hookledger
kafka:
  brokers: [k1:9092]
query:
  tokens:
    - name: ops
      token: ${OPS_TOKEN}
      tenants: ["*"]
sources:
  - id: sw-main
    provider: signalwire
    tenant: acme
    signalwire:
      signing_keys: ["${SW_KEY}"]
  - id: vonage-main
    provider: vonage
    tenant: acme
    vonage:
      signature_secrets: ["s1"]
      max_age: 90s
`

func TestParseAppliesDefaultsFileSecretsAndEnv(t *testing.T) {
	cfg, err := Parse([]byte(sample), env(map[string]string{
		"OPS_TOKEN":                           "tok",
		"SW_KEY":                              "PSKabc",
		"HOOKLEDGER_CLICKHOUSE_DSN":           "clickhouse://u:p@ch:9000/hl",
		"HOOKLEDGER_INGEST_LISTEN":            "0.0.0.0:9090",
		"HOOKLEDGER_KAFKA_BROKERS":            "a:1, b:2",
		"HOOKLEDGER_SOURCES_1_VONAGE_MAX_AGE": "2m",
		"HOOKLEDGER_QUERY_MAX_CONNECTIONS":    "300",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "/var/lib/hookledger" || cfg.Kafka.RawTopic != "hookledger.raw" {
		t.Errorf("file or defaults lost: %+v", cfg)
	}
	if cfg.ClickHouse.DSN != "clickhouse://u:p@ch:9000/hl" || cfg.Ingest.Listen != "0.0.0.0:9090" {
		t.Errorf("env overrides not applied: dsn=%q listen=%q", cfg.ClickHouse.DSN, cfg.Ingest.Listen)
	}
	if cfg.Query.MaxConnections != 300 || cfg.Ingest.IdleTimeout != 30*time.Second {
		t.Errorf("connection limits: query max %d, ingest idle %v", cfg.Query.MaxConnections, cfg.Ingest.IdleTimeout)
	}
	if strings.Join(cfg.Kafka.Brokers, ",") != "a:1,b:2" {
		t.Errorf("brokers = %v", cfg.Kafka.Brokers)
	}
	if cfg.Query.Tokens[0].Token != "tok" {
		t.Errorf("secret not expanded")
	}
	var sw struct {
		SigningKeys []string `yaml:"signing_keys"`
	}
	if err := cfg.Sources[0].DecodeSettings(&sw); err != nil || sw.SigningKeys[0] != "PSKabc" {
		t.Errorf("signalwire block: %v %v", sw, err)
	}
	vonage := struct {
		SignatureSecrets []string      `yaml:"signature_secrets"`
		MaxAge           time.Duration `yaml:"max_age"`
	}{MaxAge: 5 * time.Minute}
	if err := cfg.Sources[1].DecodeSettings(&vonage); err != nil || vonage.MaxAge != 2*time.Minute {
		t.Errorf("vonage block: %+v %v", vonage, err)
	}
}

func TestParseRejectsWithFieldNames(t *testing.T) {
	for name, tc := range map[string]struct{ doc, field string }{
		"missing env":                {"query:\n  tokens: [{name: a, token: '${NOPE}', tenants: ['*']}]", "query.tokens[0].token"},
		"bad listen":                 {"ingest:\n  listen: nope", "ingest.listen"},
		"dup source":                 {"sources:\n- {id: a, provider: signalwire, tenant: t, signalwire: {}}\n- {id: a, provider: signalwire, tenant: t, signalwire: {}}", "sources[1].id"},
		"no tenant":                  {"sources:\n- {id: a, provider: signalwire, signalwire: {}}", "sources[0].tenant"},
		"no block":                   {"sources:\n- {id: a, provider: signalwire, tenant: t}", "sources[0].signalwire"},
		"bad base url":               {"ingest:\n  public_base_url: ftp://x", "ingest.public_base_url"},
		"token both forms":           {"query:\n  tokens: [{name: a, token: x, token_sha256: '00', tenants: ['*']}]", "query.tokens[0]"},
		"type error":                 {"ingest:\n  max_body_bytes: 1MB", "ingest.max_body_bytes"},
		"duration as int":            {"ingest: {ack_timeout: 5}", "ingest.ack_timeout"},
		"typo in a source":           {"sources:\n- {id: a, provider: signalwire, tenant: t, signalwire: {}, publik_url: x}", "sources[0].publik_url"},
		"negative prefix":            {"ingest:\n  audit: {body_prefix_bytes: -1}", "ingest.audit.body_prefix_bytes"},
		"zero burst":                 {"ingest:\n  audit: {rate_per_second: 10, burst: 0}", "ingest.audit.burst"},
		"negative max conns":         {"ingest: {max_connections: -1}", "ingest.max_connections"},
		"zero idle timeout":          {"query: {idle_timeout: 0s}", "query.idle_timeout"},
		"body memory too small":      {"ingest: {max_body_bytes: 1000, max_body_memory: 1500}", "ingest.max_body_memory"},
		"zero audit queue":           {"ingest: {audit: {queue_bytes: 0}}", "ingest.audit.queue_bytes"},
		"bad header name":            {"ingest:\n  redact_headers: [Authorization, 'X Api Key']", "ingest.redact_headers[1]"},
		"body over the record limit": {"ingest: {max_body_bytes: 16777216, max_body_memory: 67108864}", "ingest.max_body_bytes"},
		"prefix over max body":       {"ingest: {max_body_bytes: 1000, max_body_memory: 4000, audit: {body_prefix_bytes: 1001}}", "ingest.audit.body_prefix_bytes"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc), env(nil))
			var fe *FieldError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.field+":") {
				t.Fatalf("error %v does not name %s", err, tc.field)
			}
		})
	}
}

func TestEnvTypeErrorNamesTheField(t *testing.T) {
	_, err := Parse(nil, env(map[string]string{"HOOKLEDGER_INGEST_MAX_BODY_BYTES": "1MB"}))
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "ingest.max_body_bytes" {
		t.Fatalf("error %v does not name ingest.max_body_bytes", err)
	}
}

func TestEnvSetsPublicURLTheFileLeavesOut(t *testing.T) {
	doc := "sources:\n- {id: a, provider: signalwire, tenant: t, signalwire: {signing_keys: [k]}}"
	cfg, err := Parse([]byte(doc), env(map[string]string{"HOOKLEDGER_SOURCES_0_PUBLIC_URL": "https://hooks.example.com/sw/"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Sources[0].PublicURL; got != "https://hooks.example.com/sw/" {
		t.Fatalf("public_url = %q", got)
	}
	if unknown := cfg.UnknownEnv([]string{"HOOKLEDGER_SOURCES_0_PUBLIC_URL=x"}); len(unknown) != 0 {
		t.Fatalf("override reported as unknown: %q", unknown)
	}
}

func TestDecodeSettingsNamesTheField(t *testing.T) {
	cfg, err := Parse([]byte("sources:\n- {id: a, provider: signalwire, tenant: t, signalwire: {signing_keys: [k], max_skwe: 5m}}"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	var settings struct {
		SigningKeys []string `yaml:"signing_keys"`
	}
	err = cfg.Sources[0].DecodeSettings(&settings)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "sources[0].signalwire.max_skwe" {
		t.Fatalf("error %v does not name sources[0].signalwire.max_skwe", err)
	}
}

func TestParseRejectsUnknownKeys(t *testing.T) {
	if _, err := Parse([]byte("ingest:\n  max_body_byte: 3\n"), env(nil)); err == nil || !strings.Contains(err.Error(), "max_body_byte") {
		t.Fatalf("typo accepted: %v", err)
	}
	if _, err := Parse([]byte("sources:\n- {id: a, provider: vonage, tenant: t, signalwire: {}}"), env(nil)); err == nil {
		t.Fatal("provider block under the wrong name accepted")
	}
}

// FuzzParse: no document panics the loader, and an accepted config is
// valid by construction.
func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("sources:\n- {id: a, provider: x, tenant: t, x: {k: v}}\n"))
	f.Add([]byte("kafka: {brokers: [a:1], partitions: -1}"))
	f.Add([]byte("ingest: &a {listen: '${X}'}\nquery: *a"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		cfg, err := Parse(doc, env(map[string]string{"X": "127.0.0.1:1", "OPS_TOKEN": "t", "SW_KEY": "k"}))
		if err != nil {
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("accepted config fails validation: %v", err)
		}
	})
}

func TestUnknownEnvNamesMisspellings(t *testing.T) {
	cfg, err := Parse([]byte(sample), env(map[string]string{"OPS_TOKEN": "t", "SW_KEY": "k"}))
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.UnknownEnv([]string{
		"HOOKLEDGER_CLICKHOUSE_DSN=x", "HOOKLEDGER_CLICKHOSE_DSN=typo", "HOOKLEDGER_SOURCES_1_VONAGE_MAX_AGE=1m",
		"HOOKLEDGER_TEST_CLICKHOUSE_DSN=x", "HOOKLEDGER_CACHE_DIR=/c", "HOOKLEDGER_PPROF=127.0.0.1:6060", "PATH=/bin",
	})
	if len(got) != 1 || got[0] != "HOOKLEDGER_CLICKHOSE_DSN" {
		t.Fatalf("unknown = %v, want only the misspelling", got)
	}
}
