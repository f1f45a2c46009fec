package jtiguard

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestFirstUseSurvivesReopenAndExpires(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jti")
	g, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	if ok, _ := g.FirstUse(ctx, "vonage:src:a", now, now.Add(time.Hour)); !ok {
		t.Fatal("first use refused")
	}
	if ok, _ := g.FirstUse(ctx, "vonage:src:a", now, now.Add(time.Hour)); ok {
		t.Fatal("second use accepted")
	}
	if ok, _ := g.FirstUse(ctx, "vonage:src:old", now.Add(-time.Hour), now.Add(-time.Second)); !ok {
		t.Fatal("already-expired key refused on first use")
	}
	// No Close: a crash leaves the file as written.
	g2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := g2.FirstUse(ctx, "vonage:src:a", now, now.Add(time.Hour)); ok {
		t.Fatal("replay accepted after restart")
	}
	if ok, _ := g2.FirstUse(ctx, "vonage:src:old", now, now.Add(time.Hour)); !ok {
		t.Fatal("expired key still remembered after restart")
	}
}

func TestFirstUseIsAtomic(t *testing.T) {
	g, err := Open(filepath.Join(t.TempDir(), "jti"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, err := g.FirstUse(context.Background(), "k", time.Now(), time.Now().Add(time.Minute)); ok && err == nil {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d goroutines won the same key", wins.Load())
	}
}

func TestCompactionKeepsLiveKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jti")
	g, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Now()
	g.now = func() time.Time { return clock }
	ctx := context.Background()
	for i := 0; i < 3000; i++ {
		clock = clock.Add(time.Second)
		if _, err := g.FirstUse(ctx, "k"+string(rune('a'+i%26))+time.Duration(i).String(), clock, clock.Add(10*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if g.lines > 2100 {
		t.Fatalf("file never compacted: %d lines for %d live keys", g.lines, len(g.keys))
	}
	if ok, _ := g.FirstUse(ctx, "k"+string(rune('a'+2999%26))+time.Duration(2999).String(), clock, clock.Add(time.Second)); ok {
		t.Fatal("live key lost in compaction")
	}
}

func TestForgetSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jti")
	g, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	exp := now.Add(time.Hour)
	if ok, _ := g.FirstUse(ctx, "k", now, exp); !ok {
		t.Fatal("first use refused")
	}
	if err := g.Forget(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	g2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := g2.FirstUse(ctx, "k", now, exp); !ok {
		t.Fatal("forgotten key still refused after restart")
	}
	if ok, _ := g2.FirstUse(ctx, "k", now, exp); ok {
		t.Fatal("key accepted twice after being used again")
	}
}
