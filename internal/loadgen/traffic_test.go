package loadgen

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookledger/hookledger/internal/config"
	"github.com/hookledger/hookledger/internal/jtiguard"
	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/provider/providers"
	"github.com/hookledger/hookledger/schema"
)

// TestScenariosAreGenuine: every scenario's requests verify with the
// provider's own verifier (sources configured as an operator would, one
// behind a public_url) and normalise to exactly one row about the id the
// benchmark will look up, of the kind it will look it up as.
func TestScenariosAreGenuine(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
ingest: {listen: "0.0.0.0:18080"}
query:
  tokens: [{name: hash-only, token_sha256: 0000000000000000000000000000000000000000000000000000000000000000, tenants: ["*"]}, {name: ops, token: q-token, tenants: [acme]}]
sources:
  - {id: sw, provider: signalwire, tenant: acme, public_url: "https://hooks.example.com/sw", signalwire: {signing_keys: [PSKk1, PSKk0]}}
  - {id: vonage, provider: vonage, tenant: acme, vonage: {signature_secrets: [v-secret], api_key: abcd1234, sms_signature_method: sha256}}
  - {id: mm, provider: messagemedia, tenant: acme, messagemedia: {keys: [{key_id: other, public_key: %[2]s}, {key_id: k1, public_key: %[1]s}]}}
`, base64.StdEncoding.EncodeToString(der), otherKey(t))), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	target, err := NewTarget(cfg, TargetOptions{MessageMediaKeyPEM: keyPEM})
	if err != nil {
		t.Fatal(err)
	}
	if target.IngestBase != "http://127.0.0.1:18080" || target.QueryToken != "q-token" || target.MessageMedia.KeyID != "k1" {
		t.Fatalf("target: ingest %s, token %q, MessageMedia key %q", target.IngestBase, target.QueryToken, target.MessageMedia.KeyID)
	}
	guard, err := jtiguard.Open(filepath.Join(t.TempDir(), "replay.log"), jtiguard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer guard.Close()
	reg := providers.All()
	verifiers := map[string]provider.Verifier{}
	for _, src := range cfg.Sources {
		p, _ := reg.Get(src.Provider)
		v, err := p.NewVerifier(provider.Source{ID: src.ID, Tenant: src.Tenant, Decode: src.DecodeSettings},
			provider.Deps{Replays: guard, Now: time.Now})
		if err != nil {
			t.Fatal(err)
		}
		verifiers[src.ID] = v
	}

	const size = 600
	scenarios := Scenarios(target, "0badcafe", size)
	if len(scenarios) != 9 {
		t.Fatalf("%d scenarios, want 9", len(scenarios))
	}
	seen := map[string]bool{}
	for _, sc := range scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			for n := range uint64(12) { // 12 covers the failure statuses (every tenth)
				r, err := sc.Build(n+uint64(len(seen))*100, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				if seen[r.ID] || !strings.Contains(r.ID, "0badcafe") {
					t.Fatalf("id %q repeated or without the run's nonce", r.ID)
				}
				seen[r.ID] = true
				if len(r.Body) < size || len(r.Body) > size+64 {
					t.Errorf("body of %d bytes, want about %d", len(r.Body), size)
				}
				src := sourceOf(target, sc.Provider)
				signed := src.SignBase + strings.TrimPrefix(r.Path, "/hooks/"+src.ID)
				req := &provider.Request{Method: r.Method, Proto: "HTTP/1.1", URL: signed, Header: r.Header, Body: r.Body, ReceivedAt: time.Now()}
				verified, err := verifiers[sc.Source].Verify(context.Background(), req)
				if err != nil {
					t.Fatalf("verify %s: %v", r.ID, err)
				}
				p, _ := reg.Get(sc.Provider)
				norm, err := p.Normalise(&schema.Record{Version: 1, ID: uuid.Must(uuid.NewV7()), ReceivedAt: req.ReceivedAt,
					Source: sc.Source, Provider: sc.Provider, Tenant: "acme", Method: r.Method, URL: signed,
					Headers: r.Header, Verdict: schema.VerdictAccepted, KeyID: verified.KeyID, Body: r.Body, BodyBytes: len(r.Body)})
				if err != nil {
					t.Fatalf("normalise %s: %v", r.ID, err)
				}
				switch {
				case norm.Rows() != 1:
					t.Fatalf("%s: %d rows, want 1", r.ID, norm.Rows())
				case sc.Kind == KindMessage && (len(norm.Messages) != 1 || norm.Messages[0].MessageID != r.ID):
					t.Fatalf("%s: message rows %+v", r.ID, norm.Messages)
				case sc.Kind == KindCall && (len(norm.Calls) != 1 || norm.Calls[0].CallID != r.ID):
					t.Fatalf("%s: call rows %+v", r.ID, norm.Calls)
				}
			}
		})
	}
}

func sourceOf(t *Target, name string) Source {
	switch name {
	case "signalwire":
		return t.SignalWire.Source
	case "vonage":
		return t.Vonage.Source
	default:
		return t.MessageMedia.Source
	}
}

func otherKey(t *testing.T) string {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return base64.StdEncoding.EncodeToString(der)
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	for _, tc := range []struct {
		in       []time.Duration
		p50, p99 time.Duration
	}{
		{nil, 0, 0},
		{ms(7), 7 * time.Millisecond, 7 * time.Millisecond},
		{ms(4, 1, 3, 2), 2 * time.Millisecond, 4 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 5 * time.Millisecond, 10 * time.Millisecond},
	} {
		if p50, p99 := latencySummary(tc.in); p50 != tc.p50 || p99 != tc.p99 {
			t.Errorf("%v: p50 %v p99 %v, want %v %v", tc.in, p50, p99, tc.p50, tc.p99)
		}
	}
}
