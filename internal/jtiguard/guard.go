// Package jtiguard remembers one-time tokens (Vonage JWT jti) until they
// expire, in memory and in an append-only file, so a replayed callback is
// still refused after a restart.
package jtiguard

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Guard implements provider.ReplayGuard.
//
// File format: one "expiry-unix-ms SP key" line per remembered key. The file
// is rewritten with only live keys when it holds more than twice as many
// lines as live keys. A line is written before FirstUse returns true, so a
// key acknowledged as first use is on disk (in the page cache: it survives a
// process crash; pass sync for power loss too).
type Guard struct {
	mu    sync.Mutex
	path  string
	sync  bool
	f     *os.File
	w     *bufio.Writer
	keys  map[string]time.Time
	lines int
	// nextCheck is the line count at which expired keys are pruned and the
	// file possibly compacted; checking on every write would be quadratic.
	nextCheck int
	now       func() time.Time
}

// Open loads the live keys from path (created if missing).
func Open(path string, syncWrites bool) (*Guard, error) {
	g := &Guard{path: path, sync: syncWrites, keys: map[string]time.Time{}, now: time.Now}
	if err := g.load(); err != nil {
		return nil, err
	}
	if err := g.rewrite(); err != nil {
		return nil, err
	}
	return g, nil
}

func (g *Guard) load() error {
	f, err := os.Open(g.path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("jtiguard: %w", err)
	}
	defer f.Close()
	now := g.now()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		ms, key, ok := strings.Cut(sc.Text(), " ")
		exp, err := strconv.ParseInt(ms, 10, 64)
		if !ok || err != nil {
			continue // a torn last line after a crash
		}
		// Later lines win: a forgotten key is written again with expiry 0.
		if t := time.UnixMilli(exp); t.After(now) {
			g.keys[key] = t
		} else {
			delete(g.keys, key)
		}
	}
	return sc.Err()
}

// rewrite replaces the file with the live keys.
func (g *Guard) rewrite() error {
	tmp := g.path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("jtiguard: %w", err)
	}
	w := bufio.NewWriter(f)
	now := g.now()
	for k, exp := range g.keys {
		if !exp.After(now) {
			delete(g.keys, k)
			continue
		}
		fmt.Fprintf(w, "%d %s\n", exp.UnixMilli(), k)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("jtiguard: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("jtiguard: %w", err)
	}
	f.Close()
	if err := os.Rename(tmp, g.path); err != nil {
		return fmt.Errorf("jtiguard: %w", err)
	}
	if g.f != nil {
		g.f.Close()
	}
	g.f, err = os.OpenFile(g.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("jtiguard: %w", err)
	}
	g.w = bufio.NewWriter(g.f)
	g.lines = len(g.keys)
	g.nextCheck = g.lines + 1024
	return nil
}

func (g *Guard) prune(now time.Time) {
	for k, exp := range g.keys {
		if !exp.After(now) {
			delete(g.keys, k)
		}
	}
}

// FirstUse records key until expires and reports whether it was new.
func (g *Guard) FirstUse(_ context.Context, key string, expires time.Time) (bool, error) {
	if strings.ContainsAny(key, "\n\r") {
		return false, fmt.Errorf("jtiguard: key contains a line break")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if exp, ok := g.keys[key]; ok && exp.After(now) {
		return false, nil
	}
	fmt.Fprintf(g.w, "%d %s\n", expires.UnixMilli(), key)
	if err := g.w.Flush(); err != nil {
		return false, fmt.Errorf("jtiguard: %w", err)
	}
	if g.sync {
		if err := g.f.Sync(); err != nil {
			return false, fmt.Errorf("jtiguard: %w", err)
		}
	}
	g.keys[key] = expires
	g.lines++
	if g.lines >= g.nextCheck {
		g.prune(now)
		if g.lines > 2*len(g.keys) {
			if err := g.rewrite(); err != nil {
				return true, err
			}
		}
		g.nextCheck = g.lines + 1024
	}
	return true, nil
}

// Forget drops key; the next FirstUse of it returns true.
func (g *Guard) Forget(_ context.Context, key string) error {
	if strings.ContainsAny(key, "\n\r") {
		return fmt.Errorf("jtiguard: key contains a line break")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.keys[key]; !ok {
		return nil
	}
	delete(g.keys, key)
	fmt.Fprintf(g.w, "0 %s\n", key)
	g.lines++
	if err := g.w.Flush(); err != nil {
		return fmt.Errorf("jtiguard: %w", err)
	}
	return nil
}

// Close closes the file.
func (g *Guard) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.f == nil {
		return nil
	}
	err := g.w.Flush()
	if cerr := g.f.Close(); err == nil {
		err = cerr
	}
	g.f = nil
	return err
}
