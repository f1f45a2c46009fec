// Package jtiguard remembers one-time tokens (Vonage JWT jti) until they
// expire, in memory and in an append-only file, so a replayed callback is
// still refused after a restart. It never forgets silently: when the file
// is missing or damaged it says which file and what was lost, and refuses
// every token issued before it noticed (fail closed) rather than accept one
// that may be a replay.
package jtiguard

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hookledger/hookledger/provider"
)

// Guard implements provider.ReplayGuard.
//
// Durability: FirstUse returns true only once its record is written to the
// file (in the page cache, which survives a process crash), and with Sync
// also fsynced (which survives power loss). Concurrent callers share
// writes: while one write and fsync is in flight, the records of the
// callers arriving meanwhile gather and go to disk together in the next
// one (group commit), so N concurrent first uses cost one fsync, not N.
//
// Loss: the file has a marker beside it (path + ".created") from its first
// creation on. If the file is then missing, or a record before the last
// one fails its checksum, remembered keys are lost; the guard logs an
// ERROR naming the file and the damage, and from then on FirstUse refuses
// every key issued before that moment (provider.ErrReplayMemoryLost) for as
// long as it lives, which the caller's max_age window ends. The moment is
// kept in the file's header, so a restart does not lift it. A bad last
// record is a write a crash interrupted; its FirstUse never returned, so it
// is dropped with a WARN naming file and offset.
//
// The file is rewritten with only the live keys when it holds more than
// twice as many records as live keys.
type Guard struct {
	path       string
	sync       bool
	log        *slog.Logger
	now        func() time.Time
	lostBefore time.Time // zero: nothing lost

	mu   sync.Mutex
	cond *sync.Cond // a commit ended
	f    *os.File   // nil once closed
	// keys holds the durable keys and their expiry.
	keys map[string]time.Time
	// pending maps a key whose record is in an unfinished commit to it.
	pending map[string]*batch
	// open gathers the records of the next commit.
	open *batch
	// committing is set while a leader writes a batch without holding mu.
	committing bool
	// lines counts records in the file; at nextCheck expired keys are
	// pruned and the file possibly compacted (checking on every write
	// would be quadratic).
	lines, nextCheck int
	// commits counts file writes (each with an fsync under Sync).
	commits int
	// beforeWrite, when set (tests), runs in the leader after it released
	// mu and before its write: it holds a commit in flight.
	beforeWrite func()
}

// batch is one group commit.
type batch struct {
	buf     []byte
	records int
	keys    []string // FirstUse keys, recorded until exps
	exps    []time.Time
	done    bool
	err     error
}

// Options configure Open.
type Options struct {
	// Sync fsyncs each commit (and the directory after a rewrite).
	Sync bool
	// Logger receives the reports of lost and torn records; nil discards.
	Logger *slog.Logger
}

// Open loads the live keys from path, creating it (and its marker) if
// missing, reports any loss as described on Guard, and rewrites the file
// with only live keys. Errors name the file.
func Open(path string, o Options) (*Guard, error) {
	g := &Guard{path: path, sync: o.Sync, log: o.Logger, now: time.Now,
		keys: map[string]time.Time{}, pending: map[string]*batch{}, open: &batch{}}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	g.cond = sync.NewCond(&g.mu)
	if err := g.load(); err != nil {
		return nil, err
	}
	return g, nil
}

// load reads the file into keys, reports loss and torn records as
// described on Guard, and rewrites the file (and marker).
func (g *Guard) load() error {
	c, err := load(g.path)
	if err != nil {
		return err
	}
	now := g.now()
	_, statErr := os.Stat(markerPath(g.path))
	marked := statErr == nil
	if c.torn != "" {
		g.log.Warn("jtiguard: dropped a torn last record: a crash cut its write short, before it was acknowledged",
			"file", g.path, "record", c.torn)
	}
	for _, r := range c.records {
		if exp := time.UnixMilli(r.expiryMS); exp.After(now) {
			g.keys[r.key] = exp
		} else {
			delete(g.keys, r.key)
		}
	}
	g.lostBefore = c.lostBefore
	if lost := c.losses(marked); len(lost) > 0 {
		g.lostBefore = now
		g.log.Error("jtiguard: remembered jtis were lost; refusing every JWT issued before now until max_age has passed",
			"file", g.path, "lost", strings.Join(lost, "; "), "kept", len(g.keys), "refusing_issued_before", now.UTC().Format(time.RFC3339Nano))
	} else if !g.lostBefore.IsZero() {
		g.log.Info("jtiguard: jtis were lost earlier; JWTs issued before then are refused",
			"file", g.path, "refusing_issued_before", g.lostBefore.UTC().Format(time.RFC3339Nano))
	}
	if err := g.rewrite(); err != nil {
		return err
	}
	if !marked {
		return writeMarker(g.path, now)
	}
	return nil
}

// rewrite replaces the file with the header and the live keys. Called with
// mu held (or before the Guard is shared) and no commit in flight.
func (g *Guard) rewrite() error {
	g.prune(g.now())
	f, n, err := writeFile(g.path, g.lostBefore, g.keys, g.sync)
	if f == nil {
		return err
	}
	if g.f != nil {
		g.f.Close()
	}
	g.f = f
	g.lines = n
	g.nextCheck = n + 1024
	return err
}

func (g *Guard) prune(now time.Time) {
	for k, exp := range g.keys {
		if !exp.After(now) {
			delete(g.keys, k)
		}
	}
}

// FirstUse records key until expires and reports whether it was new. A key
// issued before the guard lost memory is refused with an error wrapping
// provider.ErrReplayMemoryLost.
func (g *Guard) FirstUse(_ context.Context, key string, issued, expires time.Time) (bool, error) {
	if strings.ContainsAny(key, "\n\r") {
		return false, fmt.Errorf("jtiguard: key contains a line break")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.waitPending(key)
	now := g.now()
	if exp, ok := g.keys[key]; ok && exp.After(now) {
		return false, nil
	}
	if !g.lostBefore.IsZero() && issued.Before(g.lostBefore) {
		return false, fmt.Errorf("jtiguard: %s lost the jtis it remembered before %s; a token issued at %s may be a replay: %w",
			g.path, g.lostBefore.UTC().Format(time.RFC3339), issued.UTC().Format(time.RFC3339), provider.ErrReplayMemoryLost)
	}
	b := g.open
	b.buf = appendRecord(b.buf, expires.UnixMilli(), key)
	b.records++
	b.keys = append(b.keys, key)
	b.exps = append(b.exps, expires)
	g.pending[key] = b
	if err := g.await(b); err != nil {
		return false, err
	}
	return true, nil
}

// Forget drops key; the next FirstUse of it returns true. Its record is on
// disk when Forget returns nil.
func (g *Guard) Forget(_ context.Context, key string) error {
	if strings.ContainsAny(key, "\n\r") {
		return fmt.Errorf("jtiguard: key contains a line break")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.waitPending(key)
	if _, ok := g.keys[key]; !ok {
		return nil
	}
	delete(g.keys, key)
	b := g.open
	b.buf = appendRecord(b.buf, 0, key)
	b.records++
	return g.await(b)
}

// waitPending waits, with mu held, until key is in no unfinished commit, so
// its outcome decides what the caller sees.
func (g *Guard) waitPending(key string) {
	for g.pending[key] != nil {
		g.cond.Wait()
	}
}

// await returns, with mu held, once b is committed: it commits b itself if
// no commit is in flight, else waits for the one in flight and tries again.
func (g *Guard) await(b *batch) error {
	for !b.done {
		if g.committing {
			g.cond.Wait()
			continue
		}
		g.commit()
	}
	return b.err
}

// commit writes the open batch, releasing mu during the write and fsync so
// that more records gather in the next batch meanwhile.
func (g *Guard) commit() {
	b := g.open
	g.open = &batch{}
	g.committing = true
	f := g.f
	g.mu.Unlock()
	if g.beforeWrite != nil {
		g.beforeWrite()
	}
	err := g.write(f, b.buf)
	g.mu.Lock()
	g.committing = false
	g.commits++
	for i, k := range b.keys {
		if g.pending[k] == b {
			delete(g.pending, k)
		}
		if err == nil {
			g.keys[k] = b.exps[i]
		}
	}
	b.done, b.err = true, err
	g.cond.Broadcast()
	if err == nil {
		g.lines += b.records
		g.maybeCompact()
	}
}

// write appends buf to f and fsyncs it under Sync. A failed append is cut
// off again, so the next record does not follow a torn one.
func (g *Guard) write(f *os.File, buf []byte) error {
	if f == nil {
		return fmt.Errorf("jtiguard: %s: closed", g.path)
	}
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("jtiguard: append: %w", err)
	}
	if _, err := f.Write(buf); err != nil {
		if terr := f.Truncate(fi.Size()); terr != nil {
			g.log.Error("jtiguard: a failed append could not be cut off; the next start reports the damage", "file", g.path, "err", terr)
		}
		return fmt.Errorf("jtiguard: append: %w", err)
	}
	if g.sync {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("jtiguard: fsync %s: %w", g.path, err)
		}
	}
	return nil
}

// maybeCompact prunes expired keys and rewrites the file when it holds
// more than twice as many records as live keys. Called with mu held right
// after a commit, before another can start. A failed rewrite keeps the old
// file and is retried 1024 records later.
func (g *Guard) maybeCompact() {
	if g.lines < g.nextCheck {
		return
	}
	g.prune(g.now())
	if g.lines > 2*len(g.keys) {
		if err := g.rewrite(); err != nil {
			g.log.Error("jtiguard: compaction failed; appending to the old file", "file", g.path, "err", err)
		}
	}
	g.nextCheck = g.lines + 1024
}

// Close waits for the commits under way and closes the file. Later calls
// fail.
func (g *Guard) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.committing || g.open.records > 0 {
		if g.committing {
			g.cond.Wait()
		} else {
			g.commit() // for callers not awake yet; they get its outcome
		}
	}
	if g.f == nil {
		return nil
	}
	err := g.f.Close()
	g.f = nil
	if err != nil {
		return fmt.Errorf("jtiguard: close: %w", err)
	}
	return nil
}

var _ provider.ReplayGuard = (*Guard)(nil)
