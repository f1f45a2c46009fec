package messagemedia

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hookledger/hookledger/provider"
)

// Key ids as MessageMedia's key API mints them.
const (
	keyIDPrimary = "fd0d23bd-36ea-40ab-8d27-55fc3947604d" // 2048-bit, digest from header
	keyIDPinned  = "7ac1a4c6-2b5e-4b8e-9d43-2f1e6c0b9a11" // 1024-bit, pinned to SHA512
	keyIDUnknown = "0b7e5d2c-0000-4000-8000-000000000000" // not configured anywhere
)

// testKeys are generated once per test binary: RSA key generation is slow,
// especially under -race. They are never mutated after generation.
type testKeys struct {
	primary *rsa.PrivateKey // 2048-bit, configured as keyIDPrimary
	pinned  *rsa.PrivateKey // 1024-bit, configured as keyIDPinned
	rogue   *rsa.PrivateKey // 1024-bit, configured nowhere
}

var fixtureKeys = sync.OnceValue(func() testKeys {
	gen := func(bits int) *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			panic(err)
		}
		return k
	}
	return testKeys{primary: gen(2048), pinned: gen(1024), rogue: gen(1024)}
})

// receivedAt is the pinned "now" of every table row.
var receivedAt = time.Date(2024, 4, 4, 18, 32, 15, 0, time.UTC)

const (
	hookURL = "https://hooks.example.com/hooks/mm-main?x=1"

	deliveryReportBody = `{"callback_url":"https://hooks.example.com/hooks/mm-main?x=1",` +
		`"delivery_report_id":"01e1fa0a-6e27-4945-9cdb-18644b4de043","source_number":"+61491570157",` +
		`"date_received":"2024-04-04T18:32:13.642Z","status":"delivered","delay":0,"billing_units":1,` +
		`"submitted_date":"2024-04-04T18:32:12.639Z","original_text":"Your code is 1234",` +
		`"message_id":"877c19ef-fa2e-4cec-827a-e1df9b5509f7",` +
		`"vendor_account_id":{"vendor_id":"MessageMedia","account_id":"DeveloperPortal7000"},` +
		`"error_code":"","metadata":{"key1":"value1"}}`

	replyBody = `{"callback_url":"https://hooks.example.com/hooks/mm-main?x=1","content":"Yes, see you then ✓",` +
		`"date_received":"2024-04-04T18:31:59.123Z","destination_number":"+61491570156",` +
		`"message_id":"877c19ef-fa2e-4cec-827a-e1df9b5509f7","metadata":{"key1":"value1"},` +
		`"reply_id":"a175e797-2b54-468b-9850-41a3eab32f74","source_number":"+61491570157",` +
		`"vendor_account_id":{"vendor_id":"MessageMedia","account_id":"DeveloperPortal7000"}}`
)

// settingsYAML is the `messagemedia:` block of the test source.
func settingsYAML(t testing.TB, maxSkew string) string {
	t.Helper()
	keys := fixtureKeys()
	primary, err := PublicKeyBase64(&keys.primary.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pinned, err := PublicKeyPEM(&keys.pinned.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("keys:\n")
	b.WriteString("  - key_id: " + keyIDPrimary + "\n    public_key: " + primary + "\n")
	b.WriteString("  - key_id: " + keyIDPinned + "\n    digest: SHA512\n    public_key: |\n")
	for _, line := range strings.Split(strings.TrimSpace(pinned), "\n") {
		b.WriteString("      " + line + "\n")
	}
	if maxSkew != "" {
		b.WriteString("max_skew: " + maxSkew + "\n")
	}
	return b.String()
}

// yamlSource builds a provider.Source whose Decode reads settings the way the
// config loader does (yaml.v3 into the settings struct).
func yamlSource(text string) provider.Source {
	return provider.Source{
		ID:     "mm-main",
		Tenant: "acme",
		Decode: func(into any) error {
			var node yaml.Node
			if err := yaml.Unmarshal([]byte(text), &node); err != nil {
				return err
			}
			if len(node.Content) == 0 { // empty block: keep defaults
				return nil
			}
			return node.Content[0].Decode(into)
		},
	}
}

func newTestVerifier(t testing.TB, maxSkew string) provider.Verifier {
	t.Helper()
	v, err := New().NewVerifier(yamlSource(settingsYAML(t, maxSkew)), provider.Deps{Now: func() time.Time { return receivedAt }})
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

// signedRequest returns a genuine MessageMedia webhook to url signed by priv
// as keyID with digest, Date = receivedAt + dateOffset.
func signedRequest(t testing.TB, priv *rsa.PrivateKey, keyID, digest, method, url, body string, dateOffset time.Duration) *provider.Request {
	t.Helper()
	req := &provider.Request{
		Method:     method,
		Proto:      "HTTP/1.1",
		URL:        url,
		Header:     http.Header{"Content-Type": {"application/json"}, "User-Agent": {"MessageMedia-Webhooks"}},
		Body:       []byte(body),
		ReceivedAt: receivedAt,
	}
	if body == "" {
		req.Header.Del("Content-Type")
		req.Body = nil
	}
	if err := SignRequest(req, priv, keyID, digest, receivedAt.Add(dateOffset)); err != nil {
		t.Fatalf("SignRequest: %v", err)
	}
	return req
}
