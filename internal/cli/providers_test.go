package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"gopkg.in/yaml.v3"

	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/provider/messagemedia"
)

// These tests run the commands end to end through Execute against local
// stubs of the providers' APIs: this machine cannot reach MessageMedia or
// Vonage, and the commands must never be pointed at a real account by a
// test. Every test sets all the variables the commands read.

const (
	testMMKey        = "mm-cli-key"
	testMMSecret     = "mm-cli-secret-Wd3"
	testVonageKey    = "vn-cli-key"
	testVonageSecret = "vn-cli-secret-Hj5"
	testVonageAppID  = "0f4e4c1d-8a4f-4f3b-9a4e-2c5e9c3d7b10"
)

// runCLI runs hookledger with args and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Execute(context.Background(), args, &out, &errOut, nil)
	return code, out.String(), errOut.String()
}

// setProviderEnv points both providers' commands at base with valid
// credentials; tests override single variables after it.
func setProviderEnv(t *testing.T, base string) {
	t.Helper()
	for name, value := range map[string]string{
		envMessageMediaAPIKey: testMMKey, envMessageMediaAPISecret: testMMSecret, envMessageMediaAPIBase: base,
		envVonageAPIKey: testVonageKey, envVonageAPISecret: testVonageSecret, envVonageAPIBase: base,
	} {
		t.Setenv(name, value)
	}
}

// requireBasicAuth answers 401 unless the request carries user:pass.
func requireBasicAuth(user, pass string, unauthorized func(http.ResponseWriter), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
			unauthorized(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func respondJSON(w http.ResponseWriter, status int, contentType string, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// mmStub is MessageMedia's signature-key API as documented: POST
// /v1/iam/signature_keys → 201 with the public key; PATCH …/enabled → 200
// or 404 for an unknown key; GET …/enabled → 200 without the public key, or
// 404 when none is enabled; DELETE …/enabled → 204 either way; 401 without
// the right Basic credentials; the mux answers 405 for other methods.
type mmStub struct {
	mu           sync.Mutex
	publicKey    string // base64 DER served by create
	keys         map[string]map[string]any
	enabled      string
	requests     int
	showKeyOnGet bool // serve public_key on GET …/enabled too (not documented, but harmless)
}

var cliTestKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func newMMStub(t *testing.T, publicKey string) (*mmStub, *httptest.Server) {
	t.Helper()
	s := &mmStub{publicKey: publicKey, keys: map[string]map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/iam/signature_keys", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Digest, Cipher string }
		if json.NewDecoder(r.Body).Decode(&req) != nil || req.Cipher != "RSA" ||
			(req.Digest != "SHA224" && req.Digest != "SHA256" && req.Digest != "SHA512") {
			respondJSON(w, http.StatusBadRequest, "application/json", map[string]string{"message": "invalid digest or cipher"})
			return
		}
		id := uuid.NewString()
		s.keys[id] = map[string]any{"key_id": id, "cipher": req.Cipher, "digest": req.Digest, "created": "2024-04-04T18:32:15.000Z", "enabled": false}
		answer := map[string]any{"public_key": s.publicKey}
		for k, v := range s.keys[id] {
			answer[k] = v
		}
		respondJSON(w, http.StatusCreated, "application/json", answer)
	})
	mux.HandleFunc("PATCH /v1/iam/signature_keys/enabled", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			KeyID string `json:"key_id"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		key, ok := s.keys[req.KeyID]
		if !ok {
			respondJSON(w, http.StatusNotFound, "application/json", map[string]string{"message": "signature key not found"})
			return
		}
		if old, ok := s.keys[s.enabled]; ok {
			old["enabled"] = false
		}
		key["enabled"], s.enabled = true, req.KeyID
		respondJSON(w, http.StatusOK, "application/json", key)
	})
	mux.HandleFunc("GET /v1/iam/signature_keys/enabled", func(w http.ResponseWriter, _ *http.Request) {
		key, ok := s.keys[s.enabled]
		if !ok {
			respondJSON(w, http.StatusNotFound, "application/json", map[string]string{"message": "no enabled signature key"})
			return
		}
		answer := map[string]any{}
		for k, v := range key {
			answer[k] = v
		}
		if s.showKeyOnGet {
			answer["public_key"] = s.publicKey
		}
		respondJSON(w, http.StatusOK, "application/json", answer)
	})
	mux.HandleFunc("DELETE /v1/iam/signature_keys/enabled", func(w http.ResponseWriter, _ *http.Request) {
		if key, ok := s.keys[s.enabled]; ok {
			key["enabled"], s.enabled = false, ""
		}
		w.WriteHeader(http.StatusNoContent)
	})
	unauthorized := func(w http.ResponseWriter) {
		respondJSON(w, http.StatusUnauthorized, "application/json", map[string]string{"message": "Unauthorized"})
	}
	authed := requireBasicAuth(testMMKey, testMMSecret, unauthorized, mux)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock() // one request at a time: the handlers share the key table
		defer s.mu.Unlock()
		s.requests++
		authed.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return s, srv
}

// state returns the enabled key id and the number of requests served.
func (s *mmStub) state() (enabled string, requests int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enabled, s.requests
}

func goodPublicKey(t *testing.T) string {
	t.Helper()
	text, err := messagemedia.PublicKeyBase64(&cliTestKey().PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// snippetFrom cuts the config snippet out of the command's output: the
// lines after the "keys: list" heading that belong to the YAML entry.
func snippetFrom(t *testing.T, stdout string) string {
	t.Helper()
	_, after, ok := strings.Cut(stdout, "save the file):\n")
	if !ok {
		t.Fatalf("no snippet in output:\n%s", stdout)
	}
	var lines []string
	for _, line := range strings.SplitAfter(after, "\n") {
		if !strings.HasPrefix(line, "- ") && !strings.HasPrefix(line, "  ") {
			break
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "")
}

// loadsAsSource decodes snippet under a messagemedia source's keys: and
// builds its verifier, exactly as the config loader does.
func loadsAsSource(t *testing.T, snippet string) {
	t.Helper()
	src := provider.Source{ID: "mm-main", Tenant: "acme", Decode: func(into any) error {
		return yaml.Unmarshal([]byte("keys:\n"+snippet), into)
	}}
	if _, err := messagemedia.New().NewVerifier(src, provider.Deps{}); err != nil {
		t.Fatalf("printed snippet does not load as a source config: %v\n%s", err, snippet)
	}
}

func TestMessageMediaKeysCreateAndEnable(t *testing.T) {
	stub, srv := newMMStub(t, goodPublicKey(t))
	setProviderEnv(t, srv.URL) // the base URL comes from MESSAGEMEDIA_API_BASE here

	code, stdout, stderr := runCLI(t, "messagemedia", "keys", "create", "--digest", "sha512", "--enable")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	enabled, _ := stub.state()
	for _, want := range []string{
		"Created MessageMedia signature key " + enabled + "\n",
		"  digest:  SHA512\n", "  cipher:  RSA (2048-bit)\n",
		"(base64 DER, as the key API returns it):\n" + goodPublicKey(t) + "\n",
		"-----BEGIN PUBLIC KEY-----\n",
		"- key_id: " + enabled + "\n  public_key: " + goodPublicKey(t) + "\n  digest: SHA512\n",
		"Enabled: MessageMedia now signs every callback with " + enabled,
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	loadsAsSource(t, snippetFrom(t, stdout))
	if strings.Contains(stdout+stderr, testMMSecret) {
		t.Error("output contains the API secret")
	}
}

func TestMessageMediaKeysCreateWithoutEnable(t *testing.T) {
	stub, srv := newMMStub(t, goodPublicKey(t))
	setProviderEnv(t, "https://unused.invalid")

	code, stdout, stderr := runCLI(t, "messagemedia", "keys", "create", "--api-base", srv.URL) // the flag wins over the env
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if enabled, requests := stub.state(); enabled != "" || requests != 1 {
		t.Errorf("enabled %q after %d requests; create alone must not enable", enabled, requests)
	}
	if !strings.Contains(stdout, "  digest:  SHA256\n") || !strings.Contains(stdout, "Not enabled. Once every source lists it: hookledger messagemedia keys enable ") {
		t.Errorf("stdout:\n%s", stdout)
	}
	loadsAsSource(t, snippetFrom(t, stdout))
}

func TestMessageMediaKeysEnabled(t *testing.T) {
	stub, srv := newMMStub(t, goodPublicKey(t))
	setProviderEnv(t, srv.URL)

	code, stdout, stderr := runCLI(t, "messagemedia", "keys", "enabled")
	if code != 0 || !strings.Contains(stdout, "No MessageMedia signature key is enabled") {
		t.Fatalf("none enabled: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}

	if code, _, stderr := runCLI(t, "messagemedia", "keys", "create"); code != 0 {
		t.Fatal(stderr)
	}
	var id string
	stub.mu.Lock()
	for k := range stub.keys { // exactly one key exists
		id = k
	}
	stub.mu.Unlock()
	if code, stdout, stderr := runCLI(t, "messagemedia", "keys", "enable", id); code != 0 || !strings.Contains(stdout, "Enabled MessageMedia signature key "+id) {
		t.Fatalf("enable: exit %d\n%s%s", code, stdout, stderr)
	}

	code, stdout, _ = runCLI(t, "messagemedia", "keys", "enabled")
	if code != 0 || !strings.Contains(stdout, "Enabled MessageMedia signature key "+id) || !strings.Contains(stdout, "  enabled: true") {
		t.Fatalf("exit %d:\n%s", code, stdout)
	}
	if !strings.Contains(stdout, "returns the public key only when a key is created") || strings.Contains(stdout, "- key_id:") {
		t.Errorf("without a served public key there must be an explanation and no snippet:\n%s", stdout)
	}

	stub.mu.Lock()
	stub.showKeyOnGet = true
	stub.mu.Unlock()
	_, stdout, _ = runCLI(t, "messagemedia", "keys", "enabled")
	loadsAsSource(t, snippetFrom(t, stdout))

	if code, _, stderr := runCLI(t, "messagemedia", "keys", "enable", uuid.NewString()); code != 1 || !strings.Contains(stderr, "no signature key with that id") {
		t.Errorf("enabling an unknown key: exit %d, stderr %s", code, stderr)
	}
}

func TestMessageMediaKeysDisable(t *testing.T) {
	stub, srv := newMMStub(t, goodPublicKey(t))
	setProviderEnv(t, srv.URL)
	if code, _, stderr := runCLI(t, "messagemedia", "keys", "create", "--enable"); code != 0 {
		t.Fatal(stderr)
	}
	id, _ := stub.state()

	code, stdout, stderr := runCLI(t, "messagemedia", "keys", "disable")
	if code != 0 || !strings.Contains(stdout, "Disabled MessageMedia signature key "+id+".") || !strings.Contains(stdout, "missing_signature") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if enabled, _ := stub.state(); enabled != "" {
		t.Errorf("key %s still enabled", enabled)
	}
	code, stdout, _ = runCLI(t, "messagemedia", "keys", "disable")
	if code != 0 || !strings.Contains(stdout, "No MessageMedia signature key was enabled; nothing changed.") {
		t.Errorf("second disable: exit %d\n%s", code, stdout)
	}
}

func TestMessageMediaCredentials(t *testing.T) {
	stub, srv := newMMStub(t, goodPublicKey(t))

	for _, missing := range []string{envMessageMediaAPIKey, envMessageMediaAPISecret} {
		setProviderEnv(t, srv.URL)
		t.Setenv(missing, "")
		code, stdout, stderr := runCLI(t, "messagemedia", "keys", "enabled")
		if code != 1 || stdout != "" || !strings.Contains(stderr, missing+" is not set") {
			t.Errorf("%s unset: exit %d, stdout %q, stderr %q", missing, code, stdout, stderr)
		}
	}
	if _, requests := stub.state(); requests != 0 {
		t.Errorf("%d requests sent without credentials", requests)
	}

	const wrongSecret = "wrong-mm-secret-0000"
	setProviderEnv(t, srv.URL)
	t.Setenv(envMessageMediaAPISecret, wrongSecret)
	code, _, stderr := runCLI(t, "messagemedia", "keys", "create")
	if code != 1 || !strings.Contains(stderr, "401 Unauthorized") || !strings.Contains(stderr, "check MESSAGEMEDIA_API_KEY and MESSAGEMEDIA_API_SECRET") {
		t.Errorf("wrong secret: exit %d, stderr %s", code, stderr)
	}
	if strings.Contains(stderr, wrongSecret) {
		t.Error("stderr contains the secret")
	}
}

func TestMessageMediaRejectsWeakServedKey(t *testing.T) {
	// A 512-bit key, built by hand because Go refuses to generate one.
	modulus := new(big.Int).SetBit(new(big.Int), 511, 1)
	modulus.Add(modulus, big.NewInt(1))
	weak, err := messagemedia.PublicKeyBase64(&rsa.PublicKey{N: modulus, E: 65537})
	if err != nil {
		t.Fatal(err)
	}
	stub, srv := newMMStub(t, weak)
	setProviderEnv(t, srv.URL)

	code, stdout, stderr := runCLI(t, "messagemedia", "keys", "create", "--enable")
	if code != 1 || !strings.Contains(stderr, "public key is 512-bit RSA, at least 1024 required") {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("an unusable key was printed:\n%s", stdout)
	}
	if enabled, requests := stub.state(); enabled != "" || requests != 1 {
		t.Errorf("after a rejected key: enabled %q, %d requests; want nothing enabled, only the create", enabled, requests)
	}
}

// vonageStub is Vonage's Applications API as documented: GET and PUT
// /v2/applications/{id} with Basic auth (401 problem document otherwise),
// 404 for an unknown id, PUT replacing the application with its body.
type vonageStub struct {
	mu                 sync.Mutex
	app                []byte // the one application, testVonageAppID
	dropSignedCallback bool   // PUT silently ignores the flag
}

func newVonageStub(t *testing.T, app string) (*vonageStub, *httptest.Server) {
	t.Helper()
	s := &vonageStub{app: []byte(app)}
	problem := func(w http.ResponseWriter, status int, title, detail string) {
		respondJSON(w, status, "application/problem+json", map[string]string{"type": "https://developer.nexmo.com/api-errors", "title": title, "detail": detail})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/applications/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != testVonageAppID {
			problem(w, http.StatusNotFound, "Invalid ID", "application not found")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.app)
	})
	mux.HandleFunc("PUT /v2/applications/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != testVonageAppID {
			problem(w, http.StatusNotFound, "Invalid ID", "application not found")
			return
		}
		body, _ := io.ReadAll(r.Body)
		var doc map[string]any
		if json.Unmarshal(body, &doc) != nil || doc["name"] == nil {
			problem(w, http.StatusBadRequest, "Bad Request", "a JSON object with a name is required")
			return
		}
		if s.dropSignedCallback {
			delete(doc["capabilities"].(map[string]any)["voice"].(map[string]any), "signed_callbacks")
			body, _ = json.Marshal(doc)
		}
		s.app = body
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	unauthorized := func(w http.ResponseWriter) {
		problem(w, http.StatusUnauthorized, "Unauthorized", "You did not provide correct credentials.")
	}
	authed := requireBasicAuth(testVonageKey, testVonageSecret, unauthorized, mux)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		authed.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return s, srv
}

func (s *vonageStub) stored() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.app
}

const vonageApp = `{"id":"` + testVonageAppID + `","name":"Acme voice","keys":{"public_key":"-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n"},
 "capabilities":{"voice":{"webhooks":{"event_url":{"address":"https://hooks.example.com/hooks/vonage-main","http_method":"POST","socket_timeout":3000}},
   "signed_callbacks":false,"conversations_ttl":9000,"region":"na-east","x_unknown":[1,{"deep":null}]},
  "messages":{"version":"v1","webhooks":{"status_url":{"address":"https://hooks.example.com/s","http_method":"POST"}}}},
 "privacy":{"improve_ai":true},"_links":{"self":{"href":"/v2/applications/` + testVonageAppID + `"}}}`

func jsonTree(t *testing.T, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVonageEnableSignedCallbacks(t *testing.T) {
	stub, srv := newVonageStub(t, vonageApp)
	setProviderEnv(t, "https://unused.invalid")

	code, stdout, stderr := runCLI(t, "vonage", "enable-signed-callbacks", "--app-id", testVonageAppID, "--api-base", srv.URL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		fmt.Sprintf("Vonage application %s %q\n", testVonageAppID, "Acme voice"),
		"capabilities.voice.signed_callbacks: false -> true",
		"confirmed: reading the application again shows signed_callbacks: true",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	want := jsonTree(t, []byte(vonageApp))
	want.(map[string]any)["capabilities"].(map[string]any)["voice"].(map[string]any)["signed_callbacks"] = true
	if got := jsonTree(t, stub.stored()); !reflect.DeepEqual(got, want) {
		t.Errorf("stored application differs from the original plus the flag:\n%s", stub.stored())
	}

	code, stdout, _ = runCLI(t, "vonage", "enable-signed-callbacks", "--app-id", testVonageAppID, "--api-base", srv.URL)
	if code != 0 || !strings.Contains(stdout, "already true; nothing written") {
		t.Errorf("second run: exit %d\n%s", code, stdout)
	}
}

func TestVonageEnableSignedCallbacksFailures(t *testing.T) {
	t.Run("401", func(t *testing.T) {
		_, srv := newVonageStub(t, vonageApp)
		setProviderEnv(t, srv.URL)
		const wrongSecret = "wrong-vonage-secret-1111"
		t.Setenv(envVonageAPISecret, wrongSecret)
		code, _, stderr := runCLI(t, "vonage", "enable-signed-callbacks", "--app-id", testVonageAppID)
		if code != 1 || !strings.Contains(stderr, "401 Unauthorized: Unauthorized: You did not provide correct credentials.") ||
			!strings.Contains(stderr, "check VONAGE_API_KEY and VONAGE_API_SECRET") || strings.Contains(stderr, wrongSecret) {
			t.Errorf("exit %d, stderr %s", code, stderr)
		}
	})
	t.Run("flag ignored by the server", func(t *testing.T) {
		stub, srv := newVonageStub(t, vonageApp)
		stub.dropSignedCallback = true
		setProviderEnv(t, srv.URL)
		code, _, stderr := runCLI(t, "vonage", "enable-signed-callbacks", "--app-id", testVonageAppID)
		if code != 1 || !strings.Contains(stderr, "the updated application was written") || !strings.Contains(stderr, "signed callbacks not confirmed") {
			t.Errorf("exit %d, stderr %s", code, stderr)
		}
	})
	t.Run("no voice capability", func(t *testing.T) {
		_, srv := newVonageStub(t, `{"id":"`+testVonageAppID+`","name":"sms","capabilities":{"messages":{}}}`)
		setProviderEnv(t, srv.URL)
		code, _, stderr := runCLI(t, "vonage", "enable-signed-callbacks", "--app-id", testVonageAppID)
		if code != 1 || !strings.Contains(stderr, "no voice capability") {
			t.Errorf("exit %d, stderr %s", code, stderr)
		}
	})
	t.Run("unknown application", func(t *testing.T) {
		_, srv := newVonageStub(t, vonageApp)
		setProviderEnv(t, srv.URL)
		code, _, stderr := runCLI(t, "vonage", "enable-signed-callbacks", "--app-id", uuid.NewString())
		if code != 1 || !strings.Contains(stderr, "404 Not Found") || !strings.Contains(stderr, "check --app-id") {
			t.Errorf("exit %d, stderr %s", code, stderr)
		}
	})
	t.Run("missing secret", func(t *testing.T) {
		setProviderEnv(t, "https://unused.invalid")
		t.Setenv(envVonageAPISecret, "")
		code, _, stderr := runCLI(t, "vonage", "enable-signed-callbacks", "--app-id", testVonageAppID)
		if code != 1 || !strings.Contains(stderr, "VONAGE_API_SECRET is not set") {
			t.Errorf("exit %d, stderr %s", code, stderr)
		}
	})
	t.Run("app id required", func(t *testing.T) {
		setProviderEnv(t, "https://unused.invalid")
		if code, _, stderr := runCLI(t, "vonage", "enable-signed-callbacks"); code != 1 || !strings.Contains(stderr, `"app-id" not set`) {
			t.Errorf("exit %d, stderr %s", code, stderr)
		}
	})
}

func TestResolveAPIBase(t *testing.T) {
	env := func(vars map[string]string) lookupEnvFunc {
		return func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
	}
	cases := []struct {
		flag    string
		env     map[string]string
		want    string
		wantErr string
	}{
		{want: "https://api.default.example"},
		{env: map[string]string{"X_BASE": "https://env.example/p"}, want: "https://env.example/p"},
		{flag: "http://127.0.0.1:9/", env: map[string]string{"X_BASE": "https://env.example"}, want: "http://127.0.0.1:9/"},
		{flag: "http://[::1]:9", want: "http://[::1]:9"},
		{flag: "http://localhost:9", want: "http://localhost:9"},
		{flag: "http://api.example.com", wantErr: "--api-base: plain http is allowed only to a loopback host"},
		{env: map[string]string{"X_BASE": "https://user:hunter2@api.example.com"}, wantErr: "X_BASE: must not contain credentials"},
		{flag: "api.example.com", wantErr: "is not an http(s)://host"},
		{flag: "https://api.example.com/?k=v", wantErr: "is not an http(s)://host"},
		{flag: "https://user:hunter2@[bad", wantErr: "--api-base: not a valid URL"},
	}
	for _, tc := range cases {
		got, err := resolveAPIBase(tc.flag, env(tc.env), "X_BASE", "https://api.default.example")
		switch {
		case tc.wantErr == "" && (err != nil || got != tc.want):
			t.Errorf("flag %q env %v: got %q, %v; want %q", tc.flag, tc.env, got, err, tc.want)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("flag %q env %v: err = %v, want %q", tc.flag, tc.env, err, tc.wantErr)
		case err != nil && strings.Contains(err.Error(), "hunter2"):
			t.Errorf("error quotes credentials: %v", err)
		}
	}
}
