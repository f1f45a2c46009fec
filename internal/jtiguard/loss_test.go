package jtiguard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookledger/hookledger/provider"
)

// logBuffer collects a Guard's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func openLogged(t *testing.T, path string) (*Guard, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	g, err := Open(path, Options{Sync: true, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	return g, logs
}

// remember records keys as first uses issued at issued, and closes g.
func remember(t *testing.T, g *Guard, issued time.Time, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if ok, err := g.FirstUse(context.Background(), k, issued, issued.Add(5*time.Minute+time.Second)); !ok || err != nil {
			t.Fatalf("first use of %s: %v, %v", k, ok, err)
		}
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLostMemoryFailsClosed (issue 6, item 5): when the guard file is
// deleted, emptied or damaged before its last record, the guard says which
// file and what was lost, and refuses every token issued before it
// noticed, also after a further restart, while tokens issued later and
// keys it still has work as before. Before, a deleted file silently let
// every captured JWT within max_age be replayed.
func TestLostMemoryFailsClosed(t *testing.T) {
	for _, tc := range []struct {
		name     string
		damage   func(t *testing.T, path string)
		wantLog  string
		survives bool // vonage:src:c is still remembered
	}{
		{"file deleted", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}, "the file is missing", false},
		{"file emptied", func(t *testing.T, path string) {
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
		}, "the file is empty", false},
		{"record before the last damaged", func(t *testing.T, path string) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			i := bytes.Index(b, []byte("vonage:src:a"))
			b[i+len("vonage:src:")] = 'X' // the checksum no longer matches
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "fails its checksum", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "replay-guard.log")
			ctx := context.Background()
			issued := time.Now().Add(-time.Minute)
			g, _ := openLogged(t, path)
			remember(t, g, issued, "vonage:src:a", "vonage:src:b", "vonage:src:c")
			tc.damage(t, path)

			g, logs := openLogged(t, path)
			if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, path) || !strings.Contains(l, tc.wantLog) {
				t.Fatalf("log does not report the loss in %s (%s) at ERROR:\n%s", path, tc.wantLog, l)
			}
			ok, err := g.FirstUse(ctx, "vonage:src:a", issued, issued.Add(5*time.Minute+time.Second))
			if ok || !errors.Is(err, provider.ErrReplayMemoryLost) || !strings.Contains(err.Error(), path) {
				t.Fatalf("replay of a lost jti: %v, %v; want refused with ErrReplayMemoryLost naming %s", ok, err, path)
			}
			if ok, err := g.FirstUse(ctx, "vonage:src:new-old", issued, issued.Add(5*time.Minute)); ok || !errors.Is(err, provider.ErrReplayMemoryLost) {
				t.Fatalf("unknown jti issued before the loss: %v, %v; want refused", ok, err)
			}
			if tc.survives {
				if ok, err := g.FirstUse(ctx, "vonage:src:c", issued, issued.Add(5*time.Minute)); ok || err != nil {
					t.Fatalf("kept jti: %v, %v; want plainly replayed", ok, err)
				}
			}
			fresh := time.Now().Add(time.Second)
			if ok, err := g.FirstUse(ctx, "vonage:src:fresh", fresh, fresh.Add(5*time.Minute)); !ok || err != nil {
				t.Fatalf("jti issued after the loss: %v, %v; want a first use", ok, err)
			}
			if err := g.Close(); err != nil {
				t.Fatal(err)
			}

			// A restart does not lift the refusal, nor report the loss again.
			g, logs = openLogged(t, path)
			if ok, err := g.FirstUse(ctx, "vonage:src:a", issued, issued.Add(5*time.Minute+time.Second)); ok || !errors.Is(err, provider.ErrReplayMemoryLost) {
				t.Fatalf("after a further restart: %v, %v; want still refused", ok, err)
			}
			if ok, _ := g.FirstUse(ctx, "vonage:src:fresh", fresh, fresh.Add(5*time.Minute)); ok {
				t.Fatal("jti used after the loss forgotten at restart")
			}
			if strings.Contains(logs.String(), "level=ERROR") {
				t.Fatalf("loss reported again after a clean restart:\n%s", logs)
			}
		})
	}
}

// TestTornLastRecordIsDroppedAndReported: a last record a crash cut short
// (no line end) or left garbled (checksum) was never acknowledged; it is
// dropped with a WARN naming file and offset, without refusing anything,
// and the records before it are kept. Before, a torn line was parsed as
// whatever key its bytes spelled.
func TestTornLastRecordIsDroppedAndReported(t *testing.T) {
	good := appendRecord(nil, time.Now().Add(time.Hour).UnixMilli(), "vonage:src:torn")
	for _, tc := range []struct {
		name string
		tail []byte
	}{
		{"no line end", good[:len(good)-4]},
		{"bad checksum", append([]byte("00000000"), good[8:]...)},
		{"zeros after power loss", make([]byte, 512)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "replay-guard.log")
			ctx := context.Background()
			issued := time.Now().Add(-time.Minute)
			g, _ := openLogged(t, path)
			remember(t, g, issued, "vonage:src:a", "vonage:src:b")
			fi, _ := os.Stat(path)
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write(tc.tail)
			f.Close()

			g, logs := openLogged(t, path)
			l := logs.String()
			if !strings.Contains(l, "level=WARN") || !strings.Contains(l, path) || !strings.Contains(l, fmt.Sprintf("offset %d", fi.Size())) || strings.Contains(l, "level=ERROR") {
				t.Fatalf("torn record not reported with file and offset %d (or reported as a loss):\n%s", fi.Size(), l)
			}
			for _, k := range []string{"vonage:src:a", "vonage:src:b"} {
				if ok, err := g.FirstUse(ctx, k, issued, issued.Add(5*time.Minute)); ok || err != nil {
					t.Fatalf("%s before the torn record: %v, %v; want replayed", k, ok, err)
				}
			}
			if ok, err := g.FirstUse(ctx, "vonage:src:torn", issued, issued.Add(5*time.Minute)); !ok || err != nil {
				t.Fatalf("the torn record's key: %v, %v; want a first use (it was never acknowledged)", ok, err)
			}
			if err := g.Close(); err != nil {
				t.Fatal(err)
			}
			g, logs = openLogged(t, path)
			if ok, _ := g.FirstUse(ctx, "vonage:src:torn", issued, issued.Add(5*time.Minute)); ok {
				t.Fatal("key recorded after the torn record was lost")
			}
			if logs.String() != "" {
				t.Fatalf("torn record still there after the rewrite:\n%s", logs)
			}
		})
	}
}

// TestOverlongRecordLoads: a record has no length limit. Before, a line
// over 1 MiB stopped start-up with "bufio.Scanner: token too long".
func TestOverlongRecordLoads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "replay-guard.log")
	long := "vonage:src:" + strings.Repeat("j", 2<<20)
	issued := time.Now()
	g, _ := openLogged(t, path)
	remember(t, g, issued, long, "vonage:src:after")
	g, logs := openLogged(t, path)
	for _, k := range []string{long, "vonage:src:after"} {
		if ok, err := g.FirstUse(context.Background(), k, issued, issued.Add(time.Hour)); ok || err != nil {
			t.Fatalf("key of %d bytes after restart: %v, %v; want replayed", len(k), ok, err)
		}
	}
	if logs.String() != "" {
		t.Fatalf("unexpected report:\n%s", logs)
	}
}

// TestVersion1FileIsUpgraded: a file written before records had checksums
// is read and rewritten in the current format.
func TestVersion1FileIsUpgraded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "replay-guard.log")
	exp := time.Now().Add(time.Hour).UnixMilli()
	v1 := fmt.Sprintf("%d vonage:src:a\n%d vonage:src:b\n0 vonage:src:b\n", exp, exp)
	if err := os.WriteFile(path, []byte(v1), 0o600); err != nil {
		t.Fatal(err)
	}
	g, logs := openLogged(t, path)
	ctx, issued := context.Background(), time.Now()
	if ok, _ := g.FirstUse(ctx, "vonage:src:a", issued, issued.Add(time.Hour)); ok {
		t.Fatal("version 1 key forgotten")
	}
	if ok, _ := g.FirstUse(ctx, "vonage:src:b", issued, issued.Add(time.Hour)); !ok {
		t.Fatal("version 1 forget ignored")
	}
	b, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(b), headerMagic+"2 ") || logs.String() != "" {
		t.Fatalf("not upgraded quietly: %q\n%s", b, logs)
	}
}

// TestErrorsNameTheFile: what stops start-up names the guard file.
func TestErrorsNameTheFile(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(path string) error
	}{
		{"a directory", func(path string) error { return os.Mkdir(path, 0o755) }},
		{"a newer format", func(path string) error {
			return os.WriteFile(path, []byte(headerMagic+"3 lost-before=0\n"), 0o600)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "replay-guard.log")
			if err := tc.setup(path); err != nil {
				t.Fatal(err)
			}
			_, err := Open(path, Options{})
			if err == nil || !strings.Contains(err.Error(), path) {
				t.Fatalf("Open: %v, want an error naming %s", err, path)
			}
		})
	}
}
