package cli

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"
)

// EnvPprof names the environment variable that, set to a loopback address
// (127.0.0.1:6060), serves Go's net/http/pprof profiles there while the
// tiers run, for profiling under load:
//
//	go tool pprof -seconds 20 http://127.0.0.1:6060/debug/pprof/profile
//
// Off unless set. Profiles show code paths and goroutine stacks, never
// request data, but a non-loopback address is refused all the same.
const EnvPprof = "HOOKLEDGER_PPROF"

// startPprof serves the profiles on addr (see EnvPprof); "" does nothing.
// It returns a function that stops the listener.
func startPprof(addr string, log *slog.Logger) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("cli: %s: %w", EnvPprof, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("cli: %s=%s: only a loopback address is allowed", EnvPprof, addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cli: %s: %w", EnvPprof, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Warn("serving pprof profiles", "addr", ln.Addr().String(), "env", EnvPprof)
	return func() { _ = srv.Close() }, nil
}

// pprofAddr is the EnvPprof setting.
func pprofAddr() string { return os.Getenv(EnvPprof) }
