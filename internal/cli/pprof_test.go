package cli

import (
	"io"
	"log/slog"
	"testing"
)

// TestStartPprofOnlyOnLoopback: HOOKLEDGER_PPROF takes loopback addresses
// only; unset, it listens nowhere.
func TestStartPprofOnlyOnLoopback(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, c := range []struct {
		addr string
		ok   bool
	}{
		{"", true},
		{"127.0.0.1:0", true},
		{"localhost:0", true},
		{"0.0.0.0:6060", false},
		{":6060", false},
		{"192.0.2.1:6060", false},
		{"example.com:6060", false},
		{"127.0.0.1", false},
	} {
		stop, err := startPprof(c.addr, log)
		if (err == nil) != c.ok {
			t.Errorf("%q: err %v, want ok=%v", c.addr, err, c.ok)
		}
		if err == nil {
			stop()
		}
	}
}
