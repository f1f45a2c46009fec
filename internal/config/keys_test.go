package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestReloadable(t *testing.T) {
	var live []string
	for _, k := range Keys() {
		if Reloadable(k.Path) && !strings.Contains(k.Path, "[]") {
			live = append(live, k.Path)
		}
	}
	// What App.Reload applies: sources (every key below included, since a
	// changed source is reported as "sources"), tokens and log.level.
	want := []string{"log.level", "query.tokens", "sources"}
	if !reflect.DeepEqual(live, want) {
		t.Errorf("reloadable keys = %q, want %q", live, want)
	}
	for _, k := range Keys() {
		if (k.Path == "sources[].tenant" || k.Path == "query.tokens[].tenants") && !k.Live {
			t.Errorf("%s is below a live key but not live", k.Path)
		}
	}
}

func TestKeysNameEnvAndDefaults(t *testing.T) {
	got := map[string]Key{}
	for _, k := range Keys() {
		if _, dup := got[k.Path]; dup {
			t.Errorf("key %s listed twice", k.Path)
		}
		got[k.Path] = k
	}
	for _, want := range []Key{
		{Path: "kafka.ack_timeout", Env: "HOOKLEDGER_KAFKA_ACK_TIMEOUT", Type: "duration", Default: "5s"},
		{Path: "ingest.max_connections", Env: "HOOKLEDGER_INGEST_MAX_CONNECTIONS", Type: "integer", Default: "0"},
		{Path: "kafka.brokers", Env: "HOOKLEDGER_KAFKA_BROKERS", Type: "list of strings", Default: "[]"},
		{Path: "sources[].public_url", Env: "HOOKLEDGER_SOURCES_<i>_PUBLIC_URL", Type: "string", Live: true},
		{Path: "query.tokens[].token", Env: "HOOKLEDGER_QUERY_TOKENS_<i>_TOKEN", Type: "string", Secret: "true", Live: true},
		{Path: "clickhouse.dsn", Env: "HOOKLEDGER_CLICKHOUSE_DSN", Type: "string", Default: `""`, Secret: "url"},
	} {
		k, ok := got[want.Path]
		k.Owner, k.Field = nil, ""
		if !ok || k != want {
			t.Errorf("key %s = %+v, want %+v", want.Path, k, want)
		}
	}
}
