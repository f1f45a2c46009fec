package vonage

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hookledger/hookledger/provider"
)

// memGuard is an in-memory provider.ReplayGuard for tests: it remembers a
// key until its expiry, measured against the test clock.
type memGuard struct {
	mu   sync.Mutex
	now  func() time.Time
	keys map[string]time.Time
}

func newMemGuard(now func() time.Time) *memGuard {
	return &memGuard{now: now, keys: map[string]time.Time{}}
}

func (g *memGuard) FirstUse(_ context.Context, key string, _, expires time.Time) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if exp, ok := g.keys[key]; ok && g.now().Before(exp) {
		return false, nil
	}
	g.keys[key] = expires
	return true, nil
}

func (g *memGuard) Forget(_ context.Context, key string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.keys, key)
	return nil
}

// failingGuard is a replay store that is down.
type failingGuard struct{}

var errGuardDown = errors.New("replay store unavailable")

func (failingGuard) FirstUse(context.Context, string, time.Time, time.Time) (bool, error) {
	return false, errGuardDown
}

func (failingGuard) Forget(context.Context, string) error { return errGuardDown }

// alwaysFirst never remembers anything: benchmarks reuse one token.
type alwaysFirst struct{}

func (alwaysFirst) FirstUse(context.Context, string, time.Time, time.Time) (bool, error) {
	return true, nil
}

func (alwaysFirst) Forget(context.Context, string) error { return nil }

// Fixed test world.
var (
	testNow     = time.Date(2024, 4, 4, 18, 32, 15, 0, time.UTC)
	testSecret  = "1sSdk2SmFoo8ZgBpDhIK9E5ZuRO0JNDfSOvdC4aTt0mTQ4Zk07"
	testSecret2 = "Ybkl6XLzRXrVeL1mFkLJQyLR8WvWbfTqxdnM0bDmFDhq2c5ujP"
	testAPIKey  = "abcd1234"
	testSource  = "vonage-main"
)

func yamlSource(id, block string) provider.Source {
	return provider.Source{ID: id, Tenant: "acme", Decode: func(into any) error {
		return yaml.Unmarshal([]byte(block), into)
	}}
}

// newTestVerifier builds a verifier from a settings block, with guard as its
// replay store (a fresh memGuard when nil).
func newTestVerifier(tb testing.TB, block string, guard provider.ReplayGuard) provider.Verifier {
	tb.Helper()
	if guard == nil {
		guard = newMemGuard(func() time.Time { return testNow })
	}
	v, err := New().NewVerifier(yamlSource(testSource, block), provider.Deps{
		Replays: guard,
		Now:     func() time.Time { return testNow },
	})
	if err != nil {
		tb.Fatalf("NewVerifier: %v", err)
	}
	return v
}

const (
	baseURL        = "https://hooks.example.com/hooks/vonage-main"
	settingsJWT    = "signature_secrets: [\"" + "1sSdk2SmFoo8ZgBpDhIK9E5ZuRO0JNDfSOvdC4aTt0mTQ4Zk07" + "\", \"" + "Ybkl6XLzRXrVeL1mFkLJQyLR8WvWbfTqxdnM0bDmFDhq2c5ujP" + "\"]\n"
	settingsAPIKey = settingsJWT + "api_key: abcd1234\n"
)

func settingsSMS(method string) string {
	return settingsJWT + "sms_signature_method: " + method + "\n"
}

// request builds a provider.Request received at testNow.
func request(method, rawQuery, contentType string, header http.Header, body []byte) *provider.Request {
	u := baseURL
	if rawQuery != "" {
		u += "?" + rawQuery
	}
	h := http.Header{}
	for k, vs := range header {
		h[k] = append([]string(nil), vs...)
	}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	return &provider.Request{Method: method, Proto: "HTTP/1.1", URL: u, Header: h, Body: body, ReceivedAt: testNow}
}

func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}
