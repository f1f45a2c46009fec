package vonage

import (
	"bytes"
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
)

const (
	stubVonageKey    = "abcd1234"
	stubVonageSecret = "vonage-test-secret-Qx7"
	testAppID        = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
)

// applicationTemplate is an application as GET /v2/applications/{id}
// returns it, with the awkward cases a struct round trip would damage:
// fields this client knows nothing about at every level, an integer beyond
// float64 precision, a float written with an exponent, nulls, arrays, "<&>"
// (which encoding/json would escape by default) and non-ASCII text.
// %SIGNED% is replaced by the voice capability's signed_callbacks member.
const applicationTemplate = `{
  "id": "` + testAppID + `",
  "name": "Acme <voice> & SMS ✓",
  "keys": {"public_key": "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----\n"},
  "privacy": {"improve_ai": false},
  "capabilities": {
    "voice": {
      "webhooks": {
        "answer_url": {"address": "https://hooks.example.com/answer", "http_method": "GET", "connection_timeout": 500, "socket_timeout": 3000},
        "fallback_answer_url": {"address": "https://hooks.example.com/fallback", "http_method": "GET", "connection_timeout": 500, "socket_timeout": 3000},
        "event_url": {"address": "https://hooks.example.com/hooks/vonage-main", "http_method": "POST", "connection_timeout": 500, "socket_timeout": 3000}
      },
      %SIGNED%
      "conversations_ttl": 9000,
      "leg_persistence_time": 7,
      "region": "eu-west",
      "payment_gateway": null,
      "x_future_flag": {"nested": [1, 2.5e3, 12345678901234567890123, "three", null, true]}
    },
    "messages": {
      "version": "v1",
      "authenticate_inbound_media": true,
      "webhooks": {
        "inbound_url": {"address": "https://hooks.example.com/hooks/vonage-main/inbound", "http_method": "POST"},
        "status_url": {"address": "https://hooks.example.com/hooks/vonage-main/status", "http_method": "POST"}
      }
    },
    "rtc": {"webhooks": {"event_url": {"address": "https://hooks.example.com/rtc", "http_method": "POST"}}, "signed_callbacks": false},
    "vbc": {}
  },
  "x_account_tag": 1e-7,
  "_links": {"self": {"href": "/v2/applications/` + testAppID + `"}}
}`

func applicationWith(signed string) string {
	if signed != "" {
		signed += ","
	}
	return strings.Replace(applicationTemplate, "%SIGNED%", signed, 1)
}

// applicationsStub stands in for Vonage's Applications API, which this
// machine cannot reach. It implements GET and PUT /v2/applications/{id} as
// documented: Basic auth with the account's API key and secret (401 with a
// problem document otherwise), 404 for an unknown application, PUT replacing
// the stored application with the body (400 when the body is not a JSON
// object with a name) and answering with it.
type applicationsStub struct {
	mu   sync.Mutex
	apps map[string][]byte
	// ignoreSignedCallbacks makes PUT drop capabilities.voice.signed_callbacks,
	// like a server that silently ignores the flag.
	ignoreSignedCallbacks bool
	puts                  [][]byte
	gets                  int
}

func newApplicationsStub(t *testing.T, doc string) (*applicationsStub, *httptest.Server) {
	t.Helper()
	stub := &applicationsStub{apps: map[string][]byte{}}
	if doc != "" {
		stub.apps[testAppID] = []byte(doc)
	}
	srv := httptest.NewServer(stub)
	t.Cleanup(srv.Close)
	return stub, srv
}

func newTestApplicationsClient(t *testing.T, srv *httptest.Server, secret string) *ApplicationsClient {
	t.Helper()
	c, err := NewApplicationsClient(srv.URL, stubVonageKey, secret, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeProblem(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{
		"type":  "https://developer.nexmo.com/api-errors#" + strings.ToLower(strings.ReplaceAll(title, " ", "-")),
		"title": title, "detail": detail, "instance": "00a5916655d650e920ccf0daf40ef4ee",
	})
}

func (s *applicationsStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if user, pass, ok := r.BasicAuth(); !ok || user != stubVonageKey || pass != stubVonageSecret {
		writeProblem(w, http.StatusUnauthorized, "Unauthorized", "You did not provide correct credentials.")
		return
	}
	id, ok := strings.CutPrefix(r.URL.Path, "/v2/applications/")
	if !ok {
		writeProblem(w, http.StatusNotFound, "Not Found", "No such endpoint.")
		return
	}
	doc, known := s.apps[id]
	if !known {
		writeProblem(w, http.StatusNotFound, "Invalid ID", "ID '"+id+"' could not be found (type=application)")
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.gets++
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	case http.MethodPut:
		body, _ := io.ReadAll(r.Body)
		s.puts = append(s.puts, body)
		var app map[string]any
		if r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &app) != nil || app == nil {
			writeProblem(w, http.StatusBadRequest, "Bad Request", "The request body is not a JSON object.")
			return
		}
		if name, _ := app["name"].(string); name == "" {
			writeProblem(w, http.StatusBadRequest, "Bad Request", "name is required")
			return
		}
		if s.ignoreSignedCallbacks {
			if caps, ok := app["capabilities"].(map[string]any); ok {
				if voice, ok := caps["voice"].(map[string]any); ok {
					delete(voice, "signed_callbacks")
				}
			}
			body, _ = json.Marshal(app)
		}
		s.apps[id] = body
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	default:
		writeProblem(w, http.StatusMethodNotAllowed, "Method Not Allowed", r.Method+" is not supported.")
	}
}

func (s *applicationsStub) snapshot() (stored []byte, puts [][]byte, gets int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apps[testAppID], append([][]byte(nil), s.puts...), s.gets
}

// decodeTree decodes JSON keeping numbers as their text, so that trees
// compare exactly.
func decodeTree(t *testing.T, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return v
}

func voiceOf(tree any) map[string]any {
	return tree.(map[string]any)["capabilities"].(map[string]any)["voice"].(map[string]any)
}

func TestEnableSignedCallbacksKeepsEveryOtherField(t *testing.T) {
	for _, tc := range []struct {
		name, signed, wantPrevious string
	}{
		{"flag false", `"signed_callbacks": false`, "false"},
		{"flag absent", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			original := applicationWith(tc.signed)
			stub, srv := newApplicationsStub(t, original)
			client := newTestApplicationsClient(t, srv, stubVonageSecret)

			change, err := client.EnableSignedCallbacks(context.Background(), strings.ToUpper(testAppID))
			if err != nil {
				t.Fatal(err)
			}
			if change.ApplicationID != testAppID || change.Name != "Acme <voice> & SMS ✓" || change.Previous != tc.wantPrevious || !change.Written {
				t.Errorf("change = %+v", change)
			}
			stored, puts, gets := stub.snapshot()
			if len(puts) != 1 || gets != 2 {
				t.Fatalf("%d PUTs and %d GETs, want 1 and 2 (read, write, confirm)", len(puts), gets)
			}

			// The written tree is the read tree with exactly one change.
			want := decodeTree(t, []byte(original))
			voiceOf(want)["signed_callbacks"] = true
			if got := decodeTree(t, puts[0]); !reflect.DeepEqual(got, want) {
				gotJSON, _ := json.MarshalIndent(got, "", " ")
				t.Errorf("PUT body differs from the application plus the flag:\n%s", gotJSON)
			}
			if !reflect.DeepEqual(decodeTree(t, stored), want) {
				t.Error("stored application is not the expected one")
			}
			// Spelling survives too: big and exponent numbers and "<&>" are
			// carried as the bytes read (compacted), not re-encoded.
			for _, raw := range []string{`12345678901234567890123`, `2.5e3`, `1e-7`, `"Acme <voice> & SMS ✓"`} {
				if !bytes.Contains(puts[0], []byte(raw)) {
					t.Errorf("PUT body lost the spelling %s", raw)
				}
			}
		})
	}
}

func TestEnableSignedCallbacksAlreadyOn(t *testing.T) {
	stub, srv := newApplicationsStub(t, applicationWith(`"signed_callbacks": true`))
	change, err := newTestApplicationsClient(t, srv, stubVonageSecret).EnableSignedCallbacks(context.Background(), testAppID)
	if err != nil {
		t.Fatal(err)
	}
	if change.Written || change.Previous != "true" {
		t.Errorf("change = %+v, want nothing written", change)
	}
	if _, puts, _ := stub.snapshot(); len(puts) != 0 {
		t.Errorf("%d PUTs for an application already signing", len(puts))
	}
}

func TestEnableSignedCallbacksRefusesApplicationsWithoutVoice(t *testing.T) {
	for name, doc := range map[string]string{
		"no voice":        `{"id":"` + testAppID + `","name":"sms only","capabilities":{"messages":{"version":"v1"}}}`,
		"voice null":      `{"id":"` + testAppID + `","name":"odd","capabilities":{"voice":null}}`,
		"no capabilities": `{"id":"` + testAppID + `","name":"bare"}`,
	} {
		t.Run(name, func(t *testing.T) {
			stub, srv := newApplicationsStub(t, doc)
			_, err := newTestApplicationsClient(t, srv, stubVonageSecret).EnableSignedCallbacks(context.Background(), testAppID)
			if !errors.Is(err, ErrNoVoiceCapability) {
				t.Fatalf("err = %v, want ErrNoVoiceCapability", err)
			}
			if _, puts, _ := stub.snapshot(); len(puts) != 0 {
				t.Error("an application without voice was written")
			}
		})
	}
}

func TestEnableSignedCallbacksNotConfirmed(t *testing.T) {
	stub, srv := newApplicationsStub(t, applicationWith(`"signed_callbacks": false`))
	stub.ignoreSignedCallbacks = true
	change, err := newTestApplicationsClient(t, srv, stubVonageSecret).EnableSignedCallbacks(context.Background(), testAppID)
	if !errors.Is(err, ErrSignedCallbacksNotConfirmed) || !strings.Contains(err.Error(), "signed_callbacks absent") {
		t.Fatalf("err = %v, want ErrSignedCallbacksNotConfirmed naming what was read", err)
	}
	if !change.Written {
		t.Error("change must say the write happened")
	}
}

func TestApplicationsAPIErrors(t *testing.T) {
	ctx := context.Background()

	t.Run("401 surfaces with Vonage's explanation and without the secret", func(t *testing.T) {
		const wrongSecret = "not-the-secret-9182"
		_, srv := newApplicationsStub(t, applicationWith(""))
		_, err := newTestApplicationsClient(t, srv, wrongSecret).EnableSignedCallbacks(ctx, testAppID)
		var apiErr *ApplicationsAPIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized || apiErr.Method != http.MethodGet {
			t.Fatalf("err = %v, want a 401 ApplicationsAPIError on GET", err)
		}
		if !strings.Contains(err.Error(), "401 Unauthorized: Unauthorized: You did not provide correct credentials.") {
			t.Errorf("error = %q", err)
		}
		if strings.Contains(err.Error(), wrongSecret) {
			t.Error("error contains the secret")
		}
	})

	t.Run("unknown application", func(t *testing.T) {
		_, srv := newApplicationsStub(t, "")
		_, err := newTestApplicationsClient(t, srv, stubVonageSecret).EnableSignedCallbacks(ctx, testAppID)
		var apiErr *ApplicationsAPIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
			t.Fatalf("err = %v, want 404", err)
		}
	})

	t.Run("id that is not a UUID is refused before any request", func(t *testing.T) {
		stub, srv := newApplicationsStub(t, applicationWith(""))
		for _, id := range []string{"", "../accounts", "not-a-uuid"} {
			if _, err := newTestApplicationsClient(t, srv, stubVonageSecret).EnableSignedCallbacks(ctx, id); err == nil {
				t.Errorf("id %q accepted", id)
			}
		}
		if _, _, gets := stub.snapshot(); gets != 0 {
			t.Errorf("%d requests sent", gets)
		}
	})

	t.Run("cancelled context", func(t *testing.T) {
		_, srv := newApplicationsStub(t, applicationWith(""))
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := newTestApplicationsClient(t, srv, stubVonageSecret).Application(cancelled, testAppID); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled wrapped", err)
		}
	})
}

func TestWithSignedCallbacksMalformedDocuments(t *testing.T) {
	for name, doc := range map[string]string{
		"not JSON":             `{"name":`,
		"array":                `[]`,
		"null":                 `null`,
		"capabilities array":   `{"capabilities":[]}`,
		"voice string":         `{"capabilities":{"voice":"on"}}`,
		"flag not JSON inside": `{"capabilities":{"voice":{"signed_callbacks":tru}}}`,
	} {
		if _, _, err := WithSignedCallbacks([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	updated, previous, err := WithSignedCallbacks([]byte(`{"capabilities":{"voice":{}}}`))
	if err != nil || string(updated) != `{"capabilities":{"voice":{"signed_callbacks":true}}}` || previous != nil {
		t.Errorf("empty voice object: %s, %q, %v", updated, previous, err)
	}
}

func TestNewApplicationsClientValidates(t *testing.T) {
	for _, base := range []string{"", "api.nexmo.com", "https://k:s@api.nexmo.com", "https://api.nexmo.com#x"} {
		if _, err := NewApplicationsClient(base, "k", "s", nil); err == nil {
			t.Errorf("base %q accepted", base)
		}
	}
	if _, err := NewApplicationsClient(DefaultApplicationsAPIBase, "", "s", nil); err == nil {
		t.Error("empty key accepted")
	}
}

// What is quoted from an error answer: "" hands the choice back to
// providerapi, which then quotes the answer's own text.
func TestProblemExplanation(t *testing.T) {
	for answer, want := range map[string]string{
		`{"type":"x","title":"Invalid ID","detail":"ID 'x' could not be found"}`: "Invalid ID: ID 'x' could not be found",
		`{"title":"Unauthorized"}`: "Unauthorized",
		`{"detail":"only detail"}`: "only detail",
		`{"error":"other shape"}`:  "",
		`<html>Bad Gateway</html>`: "",
	} {
		if got := problemExplanation([]byte(answer)); got != want {
			t.Errorf("problemExplanation(%s) = %q, want %q", answer, got, want)
		}
	}
}
