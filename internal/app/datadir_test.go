package app

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hookledger/hookledger/internal/dirlock"
	"github.com/hookledger/hookledger/processor"
)

// fileState is what a second instance must not change about a file.
type fileState struct {
	inode   uint64
	size    int64
	modTime time.Time
	sum     [32]byte
}

// snapshot records every file under dir.
func snapshot(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	files := map[string]fileState{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files[rel] = fileState{inode: info.Sys().(*syscall.Stat_t).Ino, size: info.Size(), modTime: info.ModTime(), sum: sha256.Sum256(b)}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func sendVonageJWT(t *testing.T, ingestAddr, token string, body []byte) int {
	t.Helper()
	req := jsonRequest("http://"+ingestAddr+"/hooks/vonage-main", body)
	req.Header.Set("Authorization", "Bearer "+token)
	status, _ := do(t, req)
	return status
}

// TestSecondInstanceOnTheSameDataDirTouchesNothing (issue 6, item 4): a
// second instance on a data_dir in use fails at once, naming the directory
// and the holder, and leaves the first instance's jti memory and embedded
// broker files exactly as they were, even when it would have failed later
// anyway (here: its ingest port is the first one's). A JWT refused as
// replayed stays refused, in the first instance and after its restart.
func TestSecondInstanceOnTheSameDataDirTouchesNothing(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tiers := Tiers{Ingest: true, Embedded: true} // embedded broker under data_dir
	cfg := testConfig(t, nil)
	first := New(cfg, tiers, log)
	if err := first.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			first.Stop()
		}
	})
	body := vonageStatusJSON("aaaaaaaa-bbbb-4ccc-8ddd-00000000a004", "delivered")
	token := vonageJWT(t, vonageSecret, "jti-two-instances", time.Now(), body)
	if status := sendVonageJWT(t, first.Addr("ingest"), token, body); status != http.StatusOK {
		t.Fatalf("first use: %d", status)
	}
	// A refusal is audited asynchronously: the snapshot is taken before
	// any, while the first instance writes nothing.
	before := snapshot(t, cfg.DataDir)
	if _, ok := before["replay-guard.log"]; !ok {
		t.Fatalf("no replay-guard.log in %v", before)
	}

	second := *cfg
	second.Ingest.Listen = first.Addr("ingest")
	err := New(&second, tiers, log).Start(context.Background())
	var held *dirlock.HeldError
	if !errors.As(err, &held) {
		t.Fatalf("second instance: %v, want the data_dir lock refused", err)
	}
	for _, want := range []string{cfg.DataDir, fmt.Sprintf("pid=%d", os.Getpid())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("second instance's error %q does not name %q", err, want)
		}
	}
	after := snapshot(t, cfg.DataDir)
	for name, was := range before {
		if now, ok := after[name]; !ok || now != was {
			t.Errorf("%s changed by the second instance: %+v, was %+v", name, now, was)
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			t.Errorf("second instance created %s", name)
		}
	}

	if status := sendVonageJWT(t, first.Addr("ingest"), token, body); status != http.StatusUnauthorized {
		t.Fatalf("replay after the second instance gave up: %d, want 401", status)
	}
	first.Stop()
	stopped = true
	restarted := New(cfg, tiers, log)
	if err := restarted.Start(context.Background()); err != nil {
		t.Fatalf("restart once the first instance stopped: %v", err)
	}
	defer restarted.Stop()
	if status := sendVonageJWT(t, restarted.Addr("ingest"), token, body); status != http.StatusUnauthorized {
		t.Fatalf("replay after restart: %d, want 401", status)
	}
}

// TestMaintenanceOnEmbeddedEnginesTakesTheLock: migrate and replay on the
// embedded engines refuse a data_dir in use before opening either engine.
func TestMaintenanceOnEmbeddedEnginesTakesTheLock(t *testing.T) {
	for _, tc := range []struct {
		name    string
		run     func(context.Context, *testing.T, string) error
		mustNot string // what a refused command would have created
	}{
		{"migrate", func(ctx context.Context, t *testing.T, dir string) error {
			cfg := testConfig(t, nil)
			cfg.DataDir = dir
			return Migrate(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		}, "clickhouse"},
		{"replay", func(ctx context.Context, t *testing.T, dir string) error {
			cfg := testConfig(t, nil)
			cfg.DataDir = dir
			return Replay(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), processor.ReplayOptions{})
		}, "kafka"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l, err := dirlock.Acquire(dir, "run")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Release()
			err = tc.run(context.Background(), t, dir)
			var held *dirlock.HeldError
			if !errors.As(err, &held) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("%s on a locked data_dir: %v, want it refused naming %s", tc.name, err, dir)
			}
			if _, err := os.Stat(filepath.Join(dir, tc.mustNot)); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("%s created %s in a locked data_dir (%v)", tc.name, tc.mustNot, err)
			}
		})
	}
}
