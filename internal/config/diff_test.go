package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestChanged(t *testing.T) {
	base := `
ingest: {listen: 127.0.0.1:8080}
log: {level: info}
query:
  tokens: [{name: ops, token: t1, tenants: ["*"]}]
sources:
  - id: sw-main
    provider: signalwire
    tenant: acme
    signalwire: {signing_keys: [PSKold]}
`
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"same file", base, nil},
		{"listen and level", `
ingest: {listen: 0.0.0.0:9090}
log: {level: debug}
query:
  tokens: [{name: ops, token: t1, tenants: ["*"]}]
sources:
  - id: sw-main
    provider: signalwire
    tenant: acme
    signalwire: {signing_keys: [PSKold]}
`, []string{"log.level", "ingest.listen"}},
		{"secrets and tokens", `
ingest: {listen: 127.0.0.1:8080}
log: {level: info}
query:
  tokens: [{name: ops, token: t2, tenants: ["*"]}]
sources:
  - id: sw-main
    provider: signalwire
    tenant: acme
    signalwire: {signing_keys: [PSKnew, PSKold]}
`, []string{"query.tokens", "sources"}},
		{"nested scalar and list", strings.Replace(base, "ingest: {listen: 127.0.0.1:8080}",
			"kafka: {brokers: [\"k1:9092\"], ack_timeout: 3s}\ningest: {listen: 127.0.0.1:8080, audit: {burst: 7}}", 1),
			[]string{"kafka.brokers", "kafka.ack_timeout", "ingest.audit.burst"}},
		{"inline connection limits", strings.Replace(base, "ingest: {listen: 127.0.0.1:8080}",
			"ingest: {listen: 127.0.0.1:8080, max_connections: 10, idle_timeout: 5s}", 1),
			[]string{"ingest.max_connections", "ingest.idle_timeout"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Parse([]byte(base), env(nil))
			if err != nil {
				t.Fatal(err)
			}
			b, err := Parse([]byte(tc.doc), env(nil))
			if err != nil {
				t.Fatal(err)
			}
			if got := Changed(a, b); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Changed = %q, want %q", got, tc.want)
			}
		})
	}
}
