package jtiguard

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// TestConcurrentFirstUsesShareOneCommit (issue 7): while one commit is in
// flight, the first uses arriving meanwhile wait, none of them answered
// before its own record is written and fsynced, and all go to disk in the
// one next commit.
func TestConcurrentFirstUsesShareOneCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "replay-guard.log")
	g, err := Open(path, Options{Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	inFlight := make(chan struct{})
	var held atomic.Bool
	g.beforeWrite = func() {
		if held.CompareAndSwap(false, true) { // the first commit only
			inFlight <- struct{}{}
			<-release
		}
	}
	ctx, issued := context.Background(), time.Now()
	type result struct {
		key string
		ok  bool
		err error
	}
	results := make(chan result, 11)
	use := func(key string) {
		ok, err := g.FirstUse(ctx, key, issued, issued.Add(time.Hour))
		results <- result{key, ok, err}
	}
	go use("leader")
	<-inFlight
	const followers = 10
	for i := range followers {
		go use(fmt.Sprint("follower-", i))
	}
	waitFor(t, func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.open.records == followers
	})
	select {
	case r := <-results:
		t.Fatalf("%s answered while the commit before its own was in flight", r.key)
	default:
	}
	close(release)
	for range followers + 1 {
		if r := <-results; !r.ok || r.err != nil {
			t.Fatalf("%s: %v, %v", r.key, r.ok, r.err)
		}
	}
	if g.commits != 2 {
		t.Fatalf("%d commits for one leader and %d followers, want 2", g.commits, followers)
	}
	g2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range followers {
		if ok, _ := g2.FirstUse(ctx, fmt.Sprint("follower-", i), issued, issued.Add(time.Hour)); ok {
			t.Fatalf("follower-%d not on disk", i)
		}
	}
}

// waitFor polls cond; the test's own deadline bounds it.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for !cond() {
		time.Sleep(time.Millisecond)
	}
}
