package app

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookledger/hookledger/internal/config"
	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/internal/testinfra/chdbtest"
	"github.com/hookledger/hookledger/storage"
)

func TestMain(m *testing.M) { chdbtest.Main(m) }

// Test credentials. They exist only in tests.
const (
	swKey        = "PSKtestSigningKey0001"
	swOldKey     = "PSKtestSigningKey0000"
	vonageSecret = "vonage-test-signature-secret"
	vonageAPIKey = "abcd1234"
	mmKeyID      = "fd0d23bd-36ea-40ab-8d27-55fc3947604d"
	queryToken   = "test-query-token"
)

// mmKey is the MessageMedia signing key, generated once per test binary
// (RSA generation is slow under -race).
var mmKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func mmPublicKeyBase64() string {
	der, err := x509.MarshalPKIXPublicKey(&mmKey().PublicKey)
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// harness is a running App (all three tiers) on the test binary's shared
// real engines, with its own topics, consumer groups and database.
type harness struct {
	t       *testing.T
	app     *App
	cfg     *config.Config
	store   *storage.Store
	brokers []string
	ingest  string // http://host:port
	query   string
}

func testConfig(t *testing.T, brokers []string) *config.Config {
	raw, verified, dead := testinfra.Topics(t)
	doc := fmt.Sprintf(`
data_dir: %q
kafka:
  brokers: [%s]
  raw_topic: %s
  verified_topic: %s
  dead_letter_topic: %s
  partitions: 3
  consumer_group: %s
  ack_timeout: 10s
ingest:
  listen: 127.0.0.1:0
  audit: {rate_per_second: 0}
processor:
  flush_interval: 50ms
query:
  listen: 127.0.0.1:0
  tokens:
    - {name: ops, token: %s, tenants: ["*"]}
    - {name: globex-only, token: globex-token, tenants: [globex]}
sources:
  - id: sw-main
    provider: signalwire
    tenant: acme
    signalwire: {signing_keys: [%s, %s]}
  - id: vonage-main
    provider: vonage
    tenant: acme
    vonage:
      signature_secrets: [%s]
      api_key: %s
      sms_signature_method: md5hash
  - id: mm-main
    provider: messagemedia
    tenant: acme
    messagemedia:
      keys: [{key_id: %s, public_key: %s}]
`, t.TempDir(), strings.Join(brokers, ", "), raw, verified, dead, strings.ReplaceAll(raw, ".raw", ".group"),
		queryToken, swOldKey, swKey, vonageSecret, vonageAPIKey, mmKeyID, mmPublicKeyBase64())
	cfg, err := config.Parse([]byte(doc), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func startHarness(t *testing.T, opts ...Option) *harness {
	t.Helper()
	brokers := testinfra.KafkaBrokers(t)
	h := &harness{t: t, cfg: testConfig(t, brokers), store: chdbtest.Store(t), brokers: brokers}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	h.app = New(h.cfg, Tiers{Ingest: true, Process: true, Query: true}, log, append([]Option{WithStore(h.store)}, opts...)...)
	if err := h.app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.app.Stop)
	h.ingest, h.query = "http://"+h.app.Addr("ingest"), "http://"+h.app.Addr("query")
	testinfra.Eventually(t, 60*time.Second, "app ready", func() bool { return len(h.app.Ready()) == 0 })
	return h
}

// do sends req and returns the status and body.
func do(t *testing.T, req *http.Request) (int, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// get calls the query API with the ops token and decodes into out.
func (h *harness) get(path string, out any) int {
	return h.getAs(queryToken, path, out)
}

func (h *harness) getAs(token, path string, out any) int {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.query+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	status, body := do(h.t, req)
	if out != nil && status == http.StatusOK {
		if err := json.Unmarshal(body, out); err != nil {
			h.t.Fatalf("decode %s: %v: %s", path, err, body)
		}
	}
	return status
}
