package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hookledger/hookledger/internal/kafkalog"
	"github.com/hookledger/hookledger/internal/testinfra"
)

// readyz returns the status and body of GET /readyz.
func readyz(t *testing.T, addr string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// startBroker starts a real embedded Kafka broker (kfake over TCP) at addr,
// keeping its log in dir.
func startBroker(t *testing.T, addr, dir string) *kafkalog.Embedded {
	t.Helper()
	emb, err := kafkalog.StartEmbedded(kafkalog.EmbeddedOptions{Dir: dir, Addr: addr, Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	return emb
}

// `hookledger ingest` waits for an unreachable broker instead of exiting:
// it logs the broker and the error, answers /readyz 503 meanwhile, survives
// SIGHUP, becomes ready when the broker comes up, reports not-ready again
// when it goes away while running, and stops at once on SIGTERM.
func TestIngestWaitsForKafka(t *testing.T) {
	brokerAddr := testinfra.FreeAddr(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "hookledger.yaml")
	if err := os.WriteFile(cfg, []byte("data_dir: "+filepath.Join(dir, "data")+"\n"+
		"kafka: {brokers: [\""+brokerAddr+"\"]}\n"+
		"ingest: {listen: 127.0.0.1:0}\n"+
		"sources:\n  - {id: sw-main, provider: signalwire, tenant: acme, signalwire: {signing_keys: [PSKtestKey0001]}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, nil, "ingest", "--config", cfg)
	addr := p.waitLog(`msg=listening tier=ingest addr=(\S+)`)[1]
	p.waitLog(`level=WARN msg="waiting for kafka" brokers=` + brokerAddr + ` attempt=\d+ err=".*connection refused`)
	if code, body := readyz(t, addr); code != http.StatusServiceUnavailable || !strings.Contains(body, "kafka") {
		t.Fatalf("/readyz while waiting: %d %s", code, body)
	}
	resp, err := http.Post("http://"+addr+"/hooks/sw-main", "application/x-www-form-urlencoded", strings.NewReader("MessageSid=SM1"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("callback while waiting: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	// SIGHUP during start-up is kept, not fatal.
	p.signal(syscall.SIGHUP)
	p.waitLog(`level=WARN msg="waiting for kafka".* attempt=[3-9]`)
	if !p.alive() {
		t.Fatal("SIGHUP during start-up stopped hookledger")
	}

	brokerDir := t.TempDir()
	broker := startBroker(t, brokerAddr, brokerDir)
	p.waitLog(`msg="kafka is reachable"`)
	p.waitLog(`msg="SIGHUP: reloading the config"`)
	testinfra.Eventually(t, 60*time.Second, "ready once kafka is up", func() bool { code, _ := readyz(t, addr); return code == http.StatusOK })

	broker.Close()
	p.waitLog(`level=WARN msg="kafka does not answer; not ready until it does" brokers=` + brokerAddr)
	if code, body := readyz(t, addr); code != http.StatusServiceUnavailable || !strings.Contains(body, "kafka") {
		t.Fatalf("/readyz with kafka down: %d %s", code, body)
	}
	broker = startBroker(t, brokerAddr, brokerDir)
	defer broker.Close()
	p.waitLog(`msg="kafka answers again; ready"`)
	testinfra.Eventually(t, 60*time.Second, "ready again", func() bool { code, _ := readyz(t, addr); return code == http.StatusOK })

	p.signal(syscall.SIGTERM)
	if code, sig := p.exit(); code != 0 {
		t.Fatalf("exit %d %s after SIGTERM", code, sig)
	}
}

// SIGTERM while a tier waits for its broker stops it cleanly.
func TestTerminateWhileWaitingForKafka(t *testing.T) {
	dir := t.TempDir()
	p := start(t, []string{
		"HOOKLEDGER_KAFKA_BROKERS=" + testinfra.FreeAddr(t),
		"HOOKLEDGER_INGEST_LISTEN=127.0.0.1:0", "HOOKLEDGER_DATA_DIR=" + filepath.Join(dir, "data"),
	}, "ingest")
	p.waitLog(`msg="waiting for kafka"`)
	p.signal(syscall.SIGTERM)
	if code, sig := p.exit(); code != 0 {
		t.Fatalf("exit %d %s after SIGTERM while waiting", code, sig)
	}
	p.waitLog(`msg="stopped during start-up"`)
}

// `hookledger query` waits for an unreachable ClickHouse server the same
// way, naming its address (never the DSN's password).
func TestQueryWaitsForClickHouse(t *testing.T) {
	chAddr := testinfra.FreeAddr(t)
	dir := t.TempDir()
	p := start(t, []string{
		"HOOKLEDGER_CLICKHOUSE_DSN=clickhouse://hookledger:s3cretpass@" + chAddr + "/hookledger",
		"HOOKLEDGER_QUERY_LISTEN=127.0.0.1:0", "HOOKLEDGER_DATA_DIR=" + filepath.Join(dir, "data"),
	}, "query")
	addr := p.waitLog(`msg=listening tier=query addr=(\S+)`)[1]
	p.waitLog(`level=WARN msg="waiting for clickhouse" addr=` + chAddr + ` attempt=1 err=".*connection refused`)
	if code, body := readyz(t, addr); code != http.StatusServiceUnavailable || !strings.Contains(body, "clickhouse") {
		t.Fatalf("/readyz while waiting: %d %s", code, body)
	}
	p.signal(syscall.SIGTERM)
	if code, sig := p.exit(); code != 0 {
		t.Fatalf("exit %d %s after SIGTERM while waiting", code, sig)
	}
	if strings.Contains(p.text(), "s3cretpass") {
		t.Error("the DSN password is in the log")
	}
}
