package messagemedia

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gopkg.in/yaml.v3"
)

const (
	stubAPIKey    = "mm-test-key"
	stubAPISecret = "mm-test-secret-Zq9"
)

// keyAPIStub stands in for MessageMedia's signature-key API, which this
// machine cannot reach. It implements the endpoints as documented: Basic
// auth on every call (401 otherwise), POST /v1/iam/signature_keys → 201 with
// the new key and its public key, PATCH …/enabled → 200 (404 for an unknown
// key id, one enabled key at a time), GET …/enabled → 200 without the
// public key (404 when none), DELETE …/enabled → 204 whether or not a key
// was enabled, 400 for a bad body and 405 for other methods.
type keyAPIStub struct {
	mu sync.Mutex
	// servedPublicKey is what a create answer carries as public_key.
	servedPublicKey string
	// createAnswer, when set, replaces the create answer's record, so tests
	// can have the "provider" return something broken.
	createAnswer func(record map[string]any)
	// echoSecretOn401 makes the 401 answer quote the password it was sent,
	// as a careless proxy might.
	echoSecretOn401 bool

	keys     map[string]map[string]any // key id → record as served (no public key)
	enabled  string                    // key id, "" when none
	requests []string                  // "METHOD path", in order
	bodies   []string                  // request bodies, in order
}

func newKeyAPIStub(t *testing.T, servedPublicKey string) (*keyAPIStub, *KeyAPIClient) {
	t.Helper()
	stub := &keyAPIStub{servedPublicKey: servedPublicKey, keys: map[string]map[string]any{}}
	srv := httptest.NewServer(stub)
	t.Cleanup(srv.Close)
	client, err := NewKeyAPIClient(srv.URL, stubAPIKey, stubAPISecret, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return stub, client
}

func (s *keyAPIStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var body map[string]string
	raw, _ := io.ReadAll(r.Body)
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	s.bodies = append(s.bodies, string(raw))

	user, pass, ok := r.BasicAuth()
	if !ok || user != stubAPIKey || pass != stubAPISecret {
		msg := "Unauthorized"
		if s.echoSecretOn401 {
			msg = "invalid credentials " + user + ":" + pass
		}
		writeStubJSON(w, http.StatusUnauthorized, map[string]any{"message": msg})
		return
	}
	if len(raw) > 0 {
		if r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(raw, &body) != nil {
			writeStubJSON(w, http.StatusBadRequest, map[string]any{"message": "body must be a JSON object"})
			return
		}
	}
	switch {
	case r.URL.Path == signatureKeysPath && r.Method == http.MethodPost:
		if _, _, ok := digestByName(body["digest"]); !ok || body["digest"] != strings.ToUpper(body["digest"]) || body["cipher"] != CipherRSA {
			writeStubJSON(w, http.StatusBadRequest, map[string]any{"message": "Invalid digest or cipher", "details": []string{"digest must be one of SHA224, SHA256, SHA512", "cipher must be RSA"}})
			return
		}
		id := uuid.NewString()
		record := map[string]any{"key_id": id, "cipher": body["cipher"], "digest": body["digest"],
			"created": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), "enabled": false}
		s.keys[id] = record
		answer := map[string]any{"public_key": s.servedPublicKey}
		for k, v := range record {
			answer[k] = v
		}
		if s.createAnswer != nil {
			s.createAnswer(answer)
		}
		writeStubJSON(w, http.StatusCreated, answer)
	case r.URL.Path == enabledKeyPath && r.Method == http.MethodPatch:
		record, ok := s.keys[body["key_id"]]
		if !ok {
			writeStubJSON(w, http.StatusNotFound, map[string]any{"message": "Signature key not found"})
			return
		}
		if s.enabled != "" {
			s.keys[s.enabled]["enabled"] = false
		}
		record["enabled"] = true
		s.enabled = body["key_id"]
		writeStubJSON(w, http.StatusOK, record)
	case r.URL.Path == enabledKeyPath && r.Method == http.MethodGet:
		if s.enabled == "" {
			writeStubJSON(w, http.StatusNotFound, map[string]any{"message": "No enabled signature key"})
			return
		}
		writeStubJSON(w, http.StatusOK, s.keys[s.enabled])
	case r.URL.Path == enabledKeyPath && r.Method == http.MethodDelete:
		if s.enabled != "" {
			s.keys[s.enabled]["enabled"] = false
			s.enabled = ""
		}
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == signatureKeysPath || r.URL.Path == enabledKeyPath:
		writeStubJSON(w, http.StatusMethodNotAllowed, map[string]any{"message": "Method not allowed"})
	default:
		writeStubJSON(w, http.StatusNotFound, map[string]any{"message": "Not found"})
	}
}

func writeStubJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *keyAPIStub) calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

func (s *keyAPIStub) lastBody() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodies[len(s.bodies)-1]
}

func (s *keyAPIStub) enabledKeyID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enabled
}

func primaryPublicKeyBase64(t *testing.T) string {
	t.Helper()
	text, err := PublicKeyBase64(&fixtureKeys().primary.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func TestKeyAPICreateEnableReadDisable(t *testing.T) {
	served := primaryPublicKeyBase64(t)
	stub, client := newKeyAPIStub(t, served)
	ctx := context.Background()

	if _, err := client.EnabledKey(ctx); !errors.Is(err, ErrNoEnabledKey) {
		t.Fatalf("EnabledKey on a fresh account: err = %v, want ErrNoEnabledKey", err)
	}

	created, err := client.CreateKey(ctx, "sha256") // any case is accepted
	if err != nil {
		t.Fatal(err)
	}
	if _, err := uuid.Parse(created.KeyID); err != nil {
		t.Errorf("KeyID %q is not a UUID", created.KeyID)
	}
	if created.Digest != DigestSHA256 || created.Cipher != CipherRSA || created.Enabled {
		t.Errorf("created = digest %q cipher %q enabled %t", created.Digest, created.Cipher, created.Enabled)
	}
	if created.PublicKey != served || created.RSA == nil || created.RSA.N.Cmp(fixtureKeys().primary.N) != 0 {
		t.Error("created key does not carry the served public key")
	}
	if got := stub.lastBody(); !jsonEqual(t, got, `{"digest":"SHA256","cipher":"RSA"}`) {
		t.Errorf("create request body = %s", got)
	}

	enabled, err := client.EnableKey(ctx, created.KeyID)
	if err != nil {
		t.Fatal(err)
	}
	if enabled.KeyID != created.KeyID || !enabled.Enabled || stub.enabledKeyID() != created.KeyID {
		t.Fatalf("EnableKey = %+v, stub enabled %q", enabled, stub.enabledKeyID())
	}
	if enabled.PublicKey != "" || enabled.RSA != nil {
		t.Error("the read-back of the enabled key has a public key; the API documents none there")
	}

	got, err := client.EnabledKey(ctx)
	if err != nil || got.KeyID != created.KeyID {
		t.Fatalf("EnabledKey = %+v, %v", got, err)
	}

	if err := client.DisableEnabledKey(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := client.EnabledKey(ctx); !errors.Is(err, ErrNoEnabledKey) {
		t.Fatalf("after disable: err = %v, want ErrNoEnabledKey", err)
	}
	if err := client.DisableEnabledKey(ctx); err != nil {
		t.Fatalf("disabling with nothing enabled must succeed (the API answers 204): %v", err)
	}

	want := []string{
		"GET " + enabledKeyPath,
		"POST " + signatureKeysPath,
		"PATCH " + enabledKeyPath, "GET " + enabledKeyPath,
		"GET " + enabledKeyPath,
		"DELETE " + enabledKeyPath, "GET " + enabledKeyPath,
		"DELETE " + enabledKeyPath,
	}
	if calls := stub.calls(); strings.Join(calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(calls, "\n"), strings.Join(want, "\n"))
	}
}

func jsonEqual(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// The snippet must load through the same code path as the config file and
// verify with the created key, pinned to its digest.
func TestConfigSnippetLoadsAsSourceConfig(t *testing.T) {
	_, client := newKeyAPIStub(t, primaryPublicKeyBase64(t))
	created, err := client.CreateKey(context.Background(), DigestSHA512)
	if err != nil {
		t.Fatal(err)
	}
	snippet, err := created.ConfigSnippet()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(snippet, "\n") != 3 {
		t.Errorf("snippet is not one three-line entry (a long key must not be folded):\n%s", snippet)
	}
	var settings Settings
	if err := yaml.Unmarshal([]byte("keys:\n"+snippet), &settings); err != nil {
		t.Fatalf("snippet is not YAML for keys: %v\n%s", err, snippet)
	}
	v, err := newVerifier(settings, nil)
	if err != nil {
		t.Fatalf("snippet does not load as a source's keys: %v", err)
	}
	k, ok := v.keys[strings.ToLower(created.KeyID)]
	if !ok || k.pin != DigestSHA512 || k.bits != 2048 {
		t.Errorf("loaded key = %+v (found %t), want pinned SHA512, 2048 bits", k, ok)
	}

	if _, err := (SignatureKey{KeyID: created.KeyID, Digest: DigestSHA512}).ConfigSnippet(); err == nil {
		t.Error("a snippet without a public key must be refused: it would not load")
	}
}

func TestKeyAPIRejectsUnusableServedKeys(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(record map[string]any)
		wantErr string
	}{
		{"512-bit key", func(r map[string]any) { r["public_key"] = weakKeyBase64(t) }, "512-bit RSA, at least 1024 required"},
		{"EC key", func(r map[string]any) { r["public_key"] = ecKeyBase64(t) }, "not an RSA public key"},
		{"not base64", func(r map[string]any) { r["public_key"] = "%%%not-a-key%%%" }, "public key unusable"},
		{"no public key", func(r map[string]any) { delete(r, "public_key") }, "came without its public key"},
		{"other digest", func(r map[string]any) { r["digest"] = "SHA224" }, `signs with digest "SHA224", asked for SHA256`},
		{"unknown digest", func(r map[string]any) { r["digest"] = "MD5" }, `digest "MD5"`},
		{"other cipher", func(r map[string]any) { r["cipher"] = "DSA" }, `cipher "DSA"`},
		{"no key id", func(r map[string]any) { delete(r, "key_id") }, "no key_id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stub, client := newKeyAPIStub(t, primaryPublicKeyBase64(t))
			stub.createAnswer = tc.edit
			_, err := client.CreateKey(context.Background(), DigestSHA256)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestKeyAPIErrors(t *testing.T) {
	ctx := context.Background()

	t.Run("wrong credentials surface as 401 without the secret", func(t *testing.T) {
		stub, _ := newKeyAPIStub(t, primaryPublicKeyBase64(t))
		stub.echoSecretOn401 = true
		srv := httptest.NewServer(stub)
		defer srv.Close()
		const wrongSecret = "wrong-secret-4242"
		client, err := NewKeyAPIClient(srv.URL, stubAPIKey, wrongSecret, srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		_, err = client.CreateKey(ctx, DigestSHA256)
		var apiErr *KeyAPIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
			t.Fatalf("err = %v, want a 401 KeyAPIError", err)
		}
		if strings.Contains(err.Error(), wrongSecret) || !strings.Contains(err.Error(), "[redacted]") {
			t.Errorf("error must carry the provider's message with the secret redacted: %v", err)
		}
	})

	t.Run("enabling an unknown key", func(t *testing.T) {
		_, client := newKeyAPIStub(t, primaryPublicKeyBase64(t))
		_, err := client.EnableKey(ctx, "0b7e5d2c-0000-4000-8000-000000000000")
		if !errors.Is(err, ErrKeyNotFound) {
			t.Fatalf("err = %v, want ErrKeyNotFound", err)
		}
	})

	t.Run("bad digest is refused before any request", func(t *testing.T) {
		stub, client := newKeyAPIStub(t, primaryPublicKeyBase64(t))
		if _, err := client.CreateKey(ctx, "SHA1"); err == nil {
			t.Fatal("SHA1 accepted")
		}
		if n := len(stub.calls()); n != 0 {
			t.Errorf("%d requests sent", n)
		}
	})

	t.Run("provider's 400 details are quoted", func(t *testing.T) {
		_, client := newKeyAPIStub(t, primaryPublicKeyBase64(t))
		_, err := client.call(ctx, http.MethodPost, signatureKeysPath, map[string]string{"digest": "SHA1", "cipher": "RSA"})
		var apiErr *KeyAPIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest ||
			!strings.Contains(err.Error(), "Invalid digest or cipher; digest must be one of") {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("cancelled context", func(t *testing.T) {
		_, client := newKeyAPIStub(t, primaryPublicKeyBase64(t))
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := client.EnabledKey(cancelled); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled wrapped", err)
		}
	})
}

func TestNewKeyAPIClientValidates(t *testing.T) {
	for _, base := range []string{"", "api.messagemedia.com", "ftp://api.messagemedia.com", "https://u:p@api.messagemedia.com", "https://api.messagemedia.com/?x=1"} {
		if _, err := NewKeyAPIClient(base, "k", "s", nil); err == nil {
			t.Errorf("base %q accepted", base)
		} else if strings.Contains(err.Error(), "u:p") {
			t.Errorf("error quotes credentials: %v", err)
		}
	}
	if _, err := NewKeyAPIClient(DefaultKeyAPIBase, "k", "", nil); err == nil {
		t.Error("empty secret accepted")
	}
	c, err := NewKeyAPIClient("https://stub.example/prefix/", "k", "s", nil)
	if err != nil || c.api.Base() != "https://stub.example/prefix" {
		t.Errorf("base = %q, %v", c.api.Base(), err)
	}
}

// What is quoted from an error answer: "" hands the choice back to
// providerapi, which then quotes the answer's own text.
func TestKeyAPIExplanation(t *testing.T) {
	for answer, want := range map[string]string{
		`{"message":"Invalid digest","details":["a","b"]}`: "Invalid digest; a; b",
		`{"message":"Unauthorized"}`:                       "Unauthorized",
		`{"details":["only details"]}`:                     "only details",
		`{"error":"other shape"}`:                          "",
		`<html>Bad Gateway</html>`:                         "",
		`"a JSON string"`:                                  "",
	} {
		if got := keyAPIExplanation([]byte(answer)); got != want {
			t.Errorf("keyAPIExplanation(%s) = %q, want %q", answer, got, want)
		}
	}
}
