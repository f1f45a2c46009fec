package providerapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

const (
	testAPI    = "example test API"
	testKey    = "key-123"
	testSecret = "secret-Zq9 with  two spaces"
)

// seen is what the stub server observed of one request.
type seen struct {
	method, path, accept, contentType string
	user, pass                        string
	basicAuth                         bool
	body                              []byte
	hadBody                           bool
}

// newStub serves answer with status for every request and records what it
// was sent.
func newStub(t *testing.T, status int, answer []byte) (*httptest.Server, func() seen) {
	t.Helper()
	var mu sync.Mutex
	var last seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		user, pass, ok := r.BasicAuth()
		mu.Lock()
		last = seen{method: r.Method, path: r.URL.Path, accept: r.Header.Get("Accept"),
			contentType: r.Header.Get("Content-Type"), user: user, pass: pass, basicAuth: ok,
			body: body, hadBody: r.ContentLength != 0}
		mu.Unlock()
		w.WriteHeader(status)
		_, _ = w.Write(answer)
	}))
	t.Cleanup(srv.Close)
	return srv, func() seen {
		mu.Lock()
		defer mu.Unlock()
		return last
	}
}

func newTestClient(t *testing.T, srv *httptest.Server, base string) *Client {
	t.Helper()
	c, err := New(testAPI, base, testKey, testSecret, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewValidates(t *testing.T) {
	for _, base := range []string{
		"", "api.example.com", "/v1", "ftp://api.example.com", "https://",
		"https://u:p@api.example.com", "https://api.example.com/?x=1", "https://api.example.com#x",
		"https://api.example.com/%zz",
	} {
		_, err := New(testAPI, base, "k", "s", nil)
		if err == nil {
			t.Errorf("base %q accepted", base)
			continue
		}
		if !strings.HasPrefix(err.Error(), testAPI+" base URL: ") {
			t.Errorf("base %q: error %q does not name the API's base URL", base, err)
		}
		if strings.Contains(err.Error(), "u:p") {
			t.Errorf("error quotes credentials: %v", err)
		}
	}
	for _, kv := range [][2]string{{"", "s"}, {"k", ""}, {"", ""}} {
		if _, err := New(testAPI, "https://api.example.com", kv[0], kv[1], nil); err == nil ||
			err.Error() != testAPI+": API key and secret are both required" {
			t.Errorf("key %q secret %q: err = %v", kv[0], kv[1], err)
		}
	}
	for base, want := range map[string]string{
		"https://api.example.com":          "https://api.example.com",
		"https://api.example.com/":         "https://api.example.com",
		"http://127.0.0.1:8080/prefix//":   "http://127.0.0.1:8080/prefix",
		"https://api.example.com/a/b/":     "https://api.example.com/a/b",
		"HTTPS://API.example.com/Mixed/Up": "https://API.example.com/Mixed/Up",
	} {
		c, err := New(testAPI, base, "k", "s", nil)
		if err != nil || c.Base() != want {
			t.Errorf("New(%q): base %q, %v; want %q", base, c.Base(), err, want)
		}
	}
	if c, _ := New(testAPI, "https://api.example.com", "k", "s", nil); c.http != http.DefaultClient {
		t.Error("a nil http.Client must mean http.DefaultClient")
	}
}

func TestDoSendsBasicAuthJSON(t *testing.T) {
	srv, last := newStub(t, http.StatusOK, []byte(`{"ok":true}`))
	c := newTestClient(t, srv, srv.URL+"/prefix/")
	ctx := context.Background()

	// The body goes out byte for byte: callers rely on it to keep the
	// spelling of documents they carry over.
	body := []byte(`{"name":"<a> & b","n":12345678901234567890123}`)
	answer, err := c.Do(ctx, http.MethodPut, "/things/1", body, nil)
	if err != nil || string(answer) != `{"ok":true}` {
		t.Fatalf("Do = %q, %v", answer, err)
	}
	got := last()
	if got.method != http.MethodPut || got.path != "/prefix/things/1" {
		t.Errorf("request = %s %s", got.method, got.path)
	}
	if !got.basicAuth || got.user != testKey || got.pass != testSecret {
		t.Errorf("Basic auth = %t %q:%q", got.basicAuth, got.user, got.pass)
	}
	if got.accept != "application/json" || got.contentType != "application/json" || string(got.body) != string(body) {
		t.Errorf("Accept %q, Content-Type %q, body %s", got.accept, got.contentType, got.body)
	}

	if _, err := c.Do(ctx, http.MethodGet, "/things/1", nil, nil); err != nil {
		t.Fatal(err)
	}
	got = last()
	if got.hadBody || got.contentType != "" || got.accept != "application/json" || !got.basicAuth {
		t.Errorf("a nil body must send none and no Content-Type: %+v", got)
	}
}

func TestDoAnswersBy2xx(t *testing.T) {
	for _, status := range []int{200, 201, 202, 204, 299} {
		srv, _ := newStub(t, status, nil)
		if _, err := newTestClient(t, srv, srv.URL).Do(context.Background(), http.MethodDelete, "/x", nil, nil); err != nil {
			t.Errorf("status %d: %v", status, err)
		}
	}
	for _, status := range []int{300, 304, 400, 401, 404, 500, 503} {
		srv, _ := newStub(t, status, nil)
		_, err := newTestClient(t, srv, srv.URL).Do(context.Background(), http.MethodDelete, "/x", nil, nil)
		var se *StatusError
		if !errors.As(err, &se) || se.StatusCode != status {
			t.Errorf("status %d: err = %v, want a *StatusError", status, err)
		}
	}
}

func TestStatusErrorCarriesTheExplanation(t *testing.T) {
	problem := []byte(`{"why":"quota exceeded","echo":"` + testSecret + `"}`)
	whyOf := func(answer []byte) string {
		if strings.Contains(string(answer), "quota") {
			return "quota exceeded (you sent " + testSecret + ")"
		}
		return ""
	}
	cases := []struct {
		name    string
		answer  []byte
		explain func([]byte) string
		want    string
	}{
		{"explained", problem, whyOf, "quota exceeded (you sent [redacted])"},
		{"no explanation: the text itself", []byte("<html>\n  Bad   Gateway\n</html>"), whyOf, "<html> Bad Gateway </html>"},
		{"nil explain", []byte("plain text"), nil, "plain text"},
		{"echoed secret in the text", []byte("denied for " + testKey + ":" + testSecret + "\n"), nil, "denied for " + testKey + ":[redacted]"},
		{"binary answer", []byte{0xff, 0xfe, 0x00}, nil, ""},
		{"empty answer", nil, whyOf, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := newStub(t, http.StatusForbidden, tc.answer)
			_, err := newTestClient(t, srv, srv.URL).Do(context.Background(), http.MethodPost, "/keys", []byte(`{}`), tc.explain)
			var se *StatusError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *StatusError", err)
			}
			want := StatusError{API: testAPI, Method: http.MethodPost, Path: "/keys", StatusCode: http.StatusForbidden, Message: tc.want}
			if *se != want {
				t.Errorf("StatusError = %+v\nwant %+v", *se, want)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("error contains the secret: %v", err)
			}
		})
	}
}

func TestStatusErrorText(t *testing.T) {
	e := &StatusError{API: "vonage applications API", Method: "GET", Path: "/v2/applications/x", StatusCode: 401, Message: "Unauthorized: no"}
	if got := e.Error(); got != "vonage applications API: GET /v2/applications/x: 401 Unauthorized: Unauthorized: no" {
		t.Errorf("Error() = %q", got)
	}
	e.Message = ""
	if got := e.Error(); got != "vonage applications API: GET /v2/applications/x: 401 Unauthorized" {
		t.Errorf("Error() without a message = %q", got)
	}
}

func TestQuote(t *testing.T) {
	c := &Client{apiSecret: testSecret}
	long := strings.Repeat("é", maxMessageRunes+50)
	cases := []struct {
		name, explained, answer, want string
	}{
		{"explained wins", "why", "text", "why"},
		{"answer when unexplained", "", " a\tb\n\nc ", "a b c"},
		// Folding first would turn the secret's double space into one and
		// the match would miss it.
		{"secret with inner whitespace", "", "got '" + testSecret + "'", "got '[redacted]'"},
		{"secret in the explanation", "bad password " + testSecret, "", "bad password [redacted]"},
		{"exactly the bound", "", long[:2*maxMessageRunes], long[:2*maxMessageRunes]},
		{"over the bound", "", long, long[:2*maxMessageRunes] + "…"},
	}
	for _, tc := range cases {
		if got := c.quote(tc.explained, []byte(tc.answer)); got != tc.want {
			t.Errorf("%s: quote = %q, want %q", tc.name, got, tc.want)
		}
	}

	// A secret straddling the cut is redacted before cutting, so no prefix
	// of it survives.
	text := strings.Repeat("x", maxMessageRunes-5) + testSecret
	got := c.quote(text, nil)
	if !strings.HasPrefix(got, strings.Repeat("x", maxMessageRunes-5)+"[reda") || strings.Contains(got, testSecret[:3]) {
		t.Errorf("cut secret: %q", got)
	}
	if !utf8.ValidString(c.quote("", []byte(long))) {
		t.Error("the cut split a rune")
	}
}

func TestDoBoundsTheAnswer(t *testing.T) {
	for _, status := range []int{http.StatusOK, http.StatusBadGateway} {
		srv, _ := newStub(t, status, []byte(strings.Repeat("a", maxResponseBytes+1)))
		_, err := newTestClient(t, srv, srv.URL).Do(context.Background(), http.MethodGet, "/big", nil, nil)
		if err == nil || err.Error() != testAPI+": GET /big: answer larger than 1048576 bytes" {
			t.Errorf("status %d: err = %v", status, err)
		}
	}
	srv, _ := newStub(t, http.StatusOK, []byte(strings.Repeat("a", maxResponseBytes)))
	answer, err := newTestClient(t, srv, srv.URL).Do(context.Background(), http.MethodGet, "/big", nil, nil)
	if err != nil || len(answer) != maxResponseBytes {
		t.Errorf("an answer of exactly the bound: %d bytes, %v", len(answer), err)
	}
}

func TestDoTransportErrors(t *testing.T) {
	srv, _ := newStub(t, http.StatusOK, nil)
	c := newTestClient(t, srv, srv.URL)

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Do(cancelled, http.MethodGet, "/x", nil, nil)
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), testAPI+": GET /x: ") {
		t.Errorf("cancelled: err = %v, want context.Canceled wrapped and named", err)
	}

	if _, err := c.Do(context.Background(), "BAD METHOD", "/x", nil, nil); err == nil || !strings.HasPrefix(err.Error(), testAPI+": BAD METHOD /x: ") {
		t.Errorf("invalid method: err = %v", err)
	}

	srv.Close()
	_, err = c.Do(context.Background(), http.MethodGet, "/x", nil, nil)
	if err == nil || strings.Contains(err.Error(), testSecret) {
		t.Errorf("closed server: err = %v", err)
	}
}
