package ingest

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/provider/providers"
	"github.com/hookledger/hookledger/schema"
)

// FuzzHandleNeverAcceptsForgeries drives the real handler with arbitrary
// methods, paths, signature headers and bodies. The sources' secrets are
// not in the corpus, so no input can carry a genuine signature: every
// answer must be a rejection from the fixed set of reasons, never a 2xx, and never a
// panic.
func FuzzHandleNeverAcceptsForgeries(f *testing.F) {
	cfg := `
sources:
  - {id: sw, provider: signalwire, tenant: t, signalwire: {signing_keys: [fuzz-secret-signalwire]}}
  - {id: vonage, provider: vonage, tenant: t, vonage: {signature_secrets: [fuzz-secret-vonage], sms_signature_method: md5}}
  - {id: mm, provider: messagemedia, tenant: t, messagemedia: {keys: [{key_id: k1, public_key: %s}]}}
`
	sources := fuzzSources(f, cfg)
	s := New(Options{RawTopic: "r", MaxBodyBytes: 4096, AckTimeout: time.Second, AuditBodyPrefix: 64,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, discardPublisher{}, sources)
	e := echo.New()
	s.Register(e)

	f.Add("POST", "/hooks/sw?a=1", "X-SignalWire-Signature", strings.Repeat("0", 40), "application/x-www-form-urlencoded", []byte("MessageSid=SM1&MessageStatus=sent"))
	f.Add("POST", "/hooks/sw?bodySHA256=00", "X-Twilio-Signature", "AAAA", "application/json", []byte(`{"CallSid":"CA1"}`))
	f.Add("POST", "/hooks/vonage", "Authorization", "Bearer eyJhbGciOiJub25lIn0.eyJqdGkiOiJ4In0.", "application/json", []byte(`{"message_uuid":"x"}`))
	f.Add("GET", "/hooks/vonage?messageId=1&status=delivered&timestamp=1&sig=00", "", "", "", []byte(nil))
	f.Add("POST", "/hooks/mm", "X-MessageMedia-Signature", "AAAA", "application/json", []byte(`{"message_id":"m"}`))
	f.Add("PUT", "/hooks/nope/x", "", "", "", []byte("x"))
	f.Add("MKCOL", "/hooks/sw", "", "", "", []byte("x"))
	f.Add("QUERY", "/hooks/nope", "", "", "", []byte("x"))
	f.Fuzz(func(t *testing.T, method, target, header, value, contentType string, body []byte) {
		if !strings.HasPrefix(target, "/hooks/") || strings.ContainsAny(target, " \r\n\t#") || strings.ContainsAny(method, " \r\n\t") || method == "" {
			return
		}
		r, err := http.NewRequest(method, "http://example.com"+target, bytes.NewReader(body))
		if err != nil {
			return
		}
		r.RequestURI = target
		if header != "" && validHeader(header, value) {
			r.Header.Set(header, value)
		}
		if contentType != "" && validHeader("Content-Type", contentType) {
			r.Header.Set("Content-Type", contentType)
		}
		w := httptest.NewRecorder()
		e.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusUnauthorized, http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusRequestEntityTooLarge, http.StatusBadRequest:
		default:
			t.Fatalf("%s %s with %s: answered %d %s", method, target, header, w.Code, w.Body)
		}
		// Whenever the path names a source, the answer comes from ingest
		// (and is audited), never from the router: its body is the reason.
		if id, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/hooks/"), "/"); id != "" {
			var answer struct {
				Error schema.Reason `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil || !answer.Error.Valid() {
				t.Fatalf("%s %s: answer %d %q is not {\"error\":<reason>}", method, target, w.Code, w.Body)
			}
		}
	})
}

func validHeader(name, value string) bool {
	if strings.ContainsAny(name, " \r\n\t:") || strings.ContainsAny(value, "\r\n") {
		return false
	}
	for _, c := range name {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

func fuzzSources(f *testing.F, cfgTemplate string) Sources {
	f.Helper()
	sources, err := BuildSources(parseSources(f, cfgTemplate), providers.All(), provider.Deps{Replays: noReplays{}, Now: time.Now})
	if err != nil {
		f.Fatal(err)
	}
	return sources
}
