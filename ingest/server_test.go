package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hookledger/hookledger/internal/config"
	"github.com/hookledger/hookledger/internal/jtiguard"
	"github.com/hookledger/hookledger/internal/kafkalog"
	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/provider/providers"
	"github.com/hookledger/hookledger/provider/signalwire"
	"github.com/hookledger/hookledger/provider/vonage"
	"github.com/hookledger/hookledger/schema"
)

func TestMain(m *testing.M) { testinfra.Main(m) }

const (
	testSWKey        = "PSKingestTestKey"
	testVonageSecret = "ingest-test-vonage-secret"
)

func testSources(t testing.TB, guard provider.ReplayGuard) Sources {
	t.Helper()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
sources:
  - {id: sw, provider: signalwire, tenant: acme, signalwire: {signing_keys: [%s]}}
  - {id: vonage, provider: vonage, tenant: acme, vonage: {signature_secrets: [%s]}}
`, testSWKey, testVonageSecret)), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	src, err := BuildSources(cfg.Sources, providers.All(), provider.Deps{Replays: guard, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// testServer serves s on loopback; topics are unique to the test.
type testServer struct {
	*Server
	url           string
	raw, verified string
	brokers       []string
	registry      *prometheus.Registry
}

func startServer(t *testing.T, brokers []string, o Options, guard provider.ReplayGuard) *testServer {
	t.Helper()
	raw, verified, _ := testinfra.Topics(t)
	if o.AckTimeout == 0 {
		o.AckTimeout = 10 * time.Second
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = 1 << 20
	}
	o.RawTopic = raw
	if !testing.Verbose() {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	reg := prometheus.NewRegistry()
	o.Metrics = reg
	prod := kafkalog.NewProducer(brokers)
	s := New(o, prod, testSources(t, guard))
	s.Start()
	e := echo.New()
	s.Register(e)
	hs := httptest.NewServer(e)
	t.Cleanup(func() { hs.Close(); s.Stop(); _ = prod.Close() })
	return &testServer{Server: s, url: hs.URL, raw: raw, verified: verified, brokers: brokers, registry: reg}
}

func openGuard(t *testing.T) *jtiguard.Guard {
	g, err := jtiguard.Open(filepath.Join(t.TempDir(), "jti"), jtiguard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	return g
}

func records(t *testing.T, brokers []string, topic string) []*schema.Record {
	t.Helper()
	var out []*schema.Record
	err := kafkalog.Scan(context.Background(), brokers, topic, func(f kafkalog.Fetched) error {
		rec, err := schema.DecodeRecord(f.Value, f.Headers)
		if err != nil {
			return err
		}
		out = append(out, rec)
		return nil
	})
	if err != nil && !strings.Contains(err.Error(), "not found") {
		t.Fatal(err)
	}
	return out
}

// toForward returns the records of the raw topic the processor's forwarder
// copies to the verified topic: the accepted ones.
func toForward(t *testing.T, brokers []string, raw string) []*schema.Record {
	t.Helper()
	var out []*schema.Record
	err := kafkalog.Scan(context.Background(), brokers, raw, func(f kafkalog.Fetched) error {
		if !schema.ToForward(f.Headers) {
			return nil
		}
		rec, err := schema.DecodeRecord(f.Value, f.Headers)
		if err != nil {
			return err
		}
		if rec.Verdict != schema.VerdictAccepted {
			return fmt.Errorf("%s: marked for forwarding but %s", rec.ID, rec.Verdict)
		}
		out = append(out, rec)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func ensureTopics(t *testing.T, brokers []string, topics ...string) {
	var specs []kafkalog.TopicSpec
	for _, tp := range topics {
		specs = append(specs, kafkalog.TopicSpec{Name: tp, Partitions: 2, ReplicationFactor: 1})
	}
	if err := kafkalog.EnsureTopics(context.Background(), brokers, specs); err != nil {
		t.Fatal(err)
	}
}

// TestUnavailableKafkaAnswers503AndReleasesTheJTI uses a real broker
// address with nothing listening: the produce cannot be acknowledged, the
// answer is 503 with Retry-After, and the Vonage retry of the same signed
// request is then accepted by a healthy ingest sharing the replay memory.
func TestUnavailableKafkaAnswers503AndReleasesTheJTI(t *testing.T) {
	guard := openGuard(t)
	body := []byte(`{"message_uuid":"aaaaaaaa-bbbb-4ccc-8ddd-000000000001","to":"447700900000","from":"Acme","timestamp":"2026-11-22T10:00:00Z","status":"delivered","channel":"sms"}`)
	tok, err := vonage.SignCallbackJWT(testVonageSecret, "", "jti-503", time.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	send := func(base string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, base+"/hooks/vonage", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	dead := startServer(t, []string{testinfra.FreeAddr(t)}, Options{AckTimeout: 500 * time.Millisecond}, guard)
	resp := send(dead.url)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("dead kafka: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp.Header.Get(HeaderEventID) == "" {
		t.Errorf("503 answer has no %s", HeaderEventID)
	}
	if got := testutil.ToFloat64(dead.metrics.unavailable); got != 1 {
		t.Errorf("unavailable counter = %v", got)
	}

	brokers := testinfra.KafkaBrokers(t)
	live := startServer(t, brokers, Options{}, guard)
	ensureTopics(t, brokers, live.raw, live.verified)
	if resp := send(live.url); resp.StatusCode != http.StatusOK {
		t.Fatalf("provider retry after 503: %d, want 200", resp.StatusCode)
	}
	if resp := send(live.url); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("replay of a stored callback: %d, want 401", resp.StatusCode)
	}
	if n := len(toForward(t, brokers, live.raw)); n != 1 {
		t.Fatalf("raw topic has %d accepted records to forward, want 1", n)
	}
}

// TestRejectionAuditIsRateLimited: a forged flood from one address is
// answered 401 every time, but only the burst reaches Kafka; the rest is
// counted as dropped.
func TestRejectionAuditIsRateLimited(t *testing.T) {
	brokers := testinfra.KafkaBrokers(t)
	s := startServer(t, brokers, Options{AuditRate: 0.001, AuditBurst: 3, AuditBodyPrefix: 64}, openGuard(t))
	ensureTopics(t, brokers, s.raw, s.verified)
	const flood = 20
	for i := 0; i < flood; i++ {
		req, _ := http.NewRequest(http.MethodPost, s.url+"/hooks/sw", strings.NewReader(fmt.Sprintf("MessageSid=SM%d&MessageStatus=sent", i)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(signalwire.HeaderSignature, strings.Repeat("ab", 20))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("forged request %d: %d", i, resp.StatusCode)
		}
	}
	s.Stop() // drains the audit queue
	dropped := testutil.ToFloat64(s.metrics.auditDropped.WithLabelValues("rate_limited"))
	if dropped != flood-3 {
		t.Errorf("dropped = %v, want %d", dropped, flood-3)
	}
	audited := records(t, brokers, s.raw)
	if len(audited) != 3 {
		t.Fatalf("raw topic has %d audit records, want the burst of 3", len(audited))
	}
	for _, rec := range audited {
		if rec.Verdict != schema.VerdictRejected || rec.Reason != schema.ReasonBadSignature || rec.Detail == "" {
			t.Errorf("audit record %+v", rec)
		}
	}
}

// TestOversizedBodyIsRejectedWithABoundedPrefix: 413 at once, and the audit
// record keeps only a prefix of the body with its declared size.
func TestOversizedBodyIsRejectedWithABoundedPrefix(t *testing.T) {
	brokers := testinfra.KafkaBrokers(t)
	s := startServer(t, brokers, Options{MaxBodyBytes: 1000, AuditBodyPrefix: 100}, openGuard(t))
	ensureTopics(t, brokers, s.raw, s.verified)
	resp, err := http.Post(s.url+"/hooks/sw", "application/x-www-form-urlencoded", strings.NewReader(strings.Repeat("x", 5000)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
	s.Stop()
	recs := records(t, brokers, s.raw)
	if len(recs) != 1 {
		t.Fatalf("%d audit records", len(recs))
	}
	if r := recs[0]; r.Reason != schema.ReasonBodyTooLarge || len(r.Body) != 100 || r.BodyBytes != 5000 || !r.BodyTruncated {
		t.Fatalf("audit record: reason %s, body %d bytes of %d, truncated %v", r.Reason, len(r.Body), r.BodyBytes, r.BodyTruncated)
	}
}
