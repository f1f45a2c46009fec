package cli

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/hookledger/hookledger/internal/observe"
	"github.com/hookledger/hookledger/internal/testinfra"
)

// `hookledger health` exits 0 only when the probe answers 2xx: against the
// operator endpoints every tier mounts, /readyz fails while a component is
// pending and passes once it is ready; /healthz passes throughout; a
// listener that is not there fails.
func TestHealth(t *testing.T) {
	ready := observe.NewReadiness()
	ready.Register("kafka")
	e := echo.New()
	observe.Mount(e, ready, observe.Registry())
	srv := httptest.NewServer(e)
	defer srv.Close()

	check := func(name, url string, wantCode int, wantErr string) {
		t.Helper()
		code, _, stderr := runCLI(t, "health", "--url", url)
		if code != wantCode || !strings.Contains(stderr, wantErr) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", name, code, stderr, wantCode, wantErr)
		}
	}
	check("starting", srv.URL+"/readyz", 1, "answered 503")
	check("alive while starting", srv.URL+"/healthz", 0, "")
	ready.Set("kafka", true)
	check("ready", srv.URL+"/readyz", 0, "")
	check("nothing listening", "http://"+testinfra.FreeAddr(t)+"/readyz", 1, "connection refused")
}

// With --config and no --url, health probes the /readyz of the listener
// the file configures (a listener on every address is probed on
// loopback), not the default port.
func TestHealthProbesTheConfiguredListener(t *testing.T) {
	e := echo.New()
	observe.Mount(e, observe.NewReadiness(), observe.Registry())
	srv := httptest.NewServer(e)
	defer srv.Close()
	_, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")
	path := filepath.Join(t.TempDir(), "hookledger.yaml")
	cfg := "ingest:\n  listen: 127.0.0.1:1\nquery:\n  listen: 0.0.0.0:" + port + "\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "--config", path, "health", "--listener", "query"); code != 0 {
		t.Errorf("query listener: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, "--config", path, "health"); code != 1 || !strings.Contains(stderr, "127.0.0.1:1/readyz") {
		t.Errorf("ingest listener: exit %d, stderr %q; want 1 naming 127.0.0.1:1/readyz", code, stderr)
	}
	if code, _, stderr := runCLI(t, "--config", path, "health", "--listener", "nope"); code != 1 || !strings.Contains(stderr, "--listener") {
		t.Errorf("unknown listener: exit %d, stderr %q", code, stderr)
	}
}
