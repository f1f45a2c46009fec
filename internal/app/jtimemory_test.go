package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDeletedJTIMemoryDoesNotReenableReplays (issue 6, item 5): with
// replay-guard.log deleted between two runs, a captured JWT that was
// refused as replayed is still refused (it was issued before the loss), a
// JWT issued after the restart is accepted, and the log says at ERROR which
// file lost what. Before, the captured JWT was accepted with 200.
func TestDeletedJTIMemoryDoesNotReenableReplays(t *testing.T) {
	logs := &strings.Builder{}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := testConfig(t, nil)
	start := func() *App {
		a := New(cfg, Tiers{Ingest: true, Embedded: true}, log)
		if err := a.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		return a
	}
	send := func(a *App, token string, body []byte) (int, string) {
		req := jsonRequest("http://"+a.Addr("ingest")+"/hooks/vonage-main", body)
		req.Header.Set("Authorization", "Bearer "+token)
		status, b := do(t, req)
		return status, string(b)
	}
	body := vonageStatusJSON("aaaaaaaa-bbbb-4ccc-8ddd-00000000a005", "delivered")
	captured := vonageJWT(t, vonageSecret, "jti-captured", time.Now(), body)
	a := start()
	if status, _ := send(a, captured, body); status != http.StatusOK {
		t.Fatalf("first use: %d", status)
	}
	if status, _ := send(a, captured, body); status != http.StatusUnauthorized {
		t.Fatalf("replay: %d, want 401", status)
	}
	a.Stop()

	guardFile := filepath.Join(cfg.DataDir, "replay-guard.log")
	if err := os.Remove(guardFile); err != nil {
		t.Fatal(err)
	}
	log = slog.New(slog.NewTextHandler(logs, nil))
	a = start()
	defer a.Stop()
	if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, guardFile) || !strings.Contains(l, "missing") {
		t.Fatalf("loss of %s not reported at ERROR:\n%s", guardFile, l)
	}
	if status, answer := send(a, captured, body); status != http.StatusUnauthorized || !strings.Contains(answer, `"replayed"`) {
		t.Fatalf("captured JWT after the guard file was deleted: %d %s, want 401 replayed", status, answer)
	}
	fresh := vonageJWT(t, vonageSecret, "jti-after-restart", time.Now().Add(time.Second), body)
	if status, answer := send(a, fresh, body); status != http.StatusOK {
		t.Fatalf("JWT issued after the restart: %d %s, want 200", status, answer)
	}
}
