package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/internal/testinfra/chdbtest"
)

// TestProcessorAloneServesProbes: `hookledger process` has no API of its
// own but must still answer /healthz, /readyz (once its consumers joined)
// and /metrics, for orchestrators and Prometheus.
func TestProcessorAloneServesProbes(t *testing.T) {
	cfg := testConfig(t, testinfra.KafkaBrokers(t))
	cfg.Processor.Listen = "127.0.0.1:0"
	a := New(cfg, Tiers{Process: true}, slog.New(slog.NewTextHandler(io.Discard, nil)), WithStore(chdbtest.Store(t)))
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Stop)
	base := "http://" + a.Addr("processor")
	if a.Addr("ingest") != "" || a.Addr("query") != "" {
		t.Fatalf("processor tier opened other listeners: %v", a.addrs)
	}
	testinfra.Eventually(t, 60*time.Second, "processor ready", func() bool { return readyz(base) })
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "hookledger_processor_dead_letters_total") {
		t.Fatalf("metrics: %d", resp.StatusCode)
	}
}
