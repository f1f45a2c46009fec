package cli

import (
	"net/http/httptest"
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
