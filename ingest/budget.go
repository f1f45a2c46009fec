package ingest

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"
)

// SmallBodyBytes is the size up to which a body counts as small. Provider
// callbacks are a few KiB; small bodies are never queued and may use the
// share of the memory budget kept from large ones.
const SmallBodyBytes = 64 << 10

// largeBodyWait is how long a large body may wait for a slot before it is
// answered 503.
const largeBodyWait = 2 * time.Second

// bodyLimiter bounds what request bodies cost while they are read and
// verified, so a flood of large forged bodies cannot crowd out genuine
// callbacks, which are small:
//
//   - memory: the bytes of bodies held at once, from the first byte read
//     until the request is answered, are at most limit; a quarter of it is
//     kept for small bodies. A body that finds no room is answered 503 +
//     Retry-After at once, not queued: a queue would hold its connection
//     and goroutine and lengthen the wait of everything behind it, while
//     every provider retries a 503.
//   - CPU: reading and verifying a large body (hashing a MiB) keeps a CPU
//     busy for milliseconds, so at most slots large bodies are read and
//     verified at once (half the CPUs, at least one), and the other CPUs
//     stay free for small callbacks and the Kafka round trip they wait
//     on. A large body waits up to largeBodyWait for a slot, unread (it
//     costs no memory while waiting, and the wait slows the flood down),
//     then is answered 503.
//
// Invariant: used is the sum of the grants not yet released and never
// exceeds limit; grants to large bodies never take used past
// limit-reserve.
type bodyLimiter struct {
	mu      sync.Mutex
	used    int64
	limit   int64 // 0: no memory bound
	reserve int64
	onUse   func(used int64)
	slots   chan struct{}
}

func newBodyLimiter(limit int64, largeSlots int, onUse func(int64)) *bodyLimiter {
	return &bodyLimiter{limit: limit, reserve: limit / 4, onUse: onUse, slots: make(chan struct{}, max(largeSlots, 1))}
}

// Why a body could not be read now; the answer is 503 + Retry-After.
var (
	errBodyMemory = errors.New("ingest: request body memory in use (max_body_memory)")
	errBodyBusy   = errors.New("ingest: every large-body slot stayed busy")
)

// shedCause is the hookledger_ingest_shed_total cause of a read error, or
// "" when the error is not the limiter's.
func shedCause(err error) string {
	switch {
	case errors.Is(err, errBodyMemory):
		return "body_memory"
	case errors.Is(err, errBodyBusy):
		return "large_body_busy"
	}
	return ""
}

// body is one request's read body and what it holds of the limiter.
type body struct {
	l       *bodyLimiter
	granted int64
	slot    bool
}

// release gives back everything the body holds; call it once the request
// is answered.
func (b *body) release() {
	if b.slot {
		<-b.l.slots
		b.slot = false
	}
	if b.granted > 0 && b.l.limit > 0 {
		b.l.mu.Lock()
		b.l.used -= b.granted
		b.l.onUse(b.l.used)
		b.l.mu.Unlock()
	}
	b.granted = 0
}

// grant adds n bytes to the body's grant, waiting for a large-body slot
// first when the body becomes large.
func (b *body) grant(ctx context.Context, n int64) error {
	if b.granted+n > SmallBodyBytes && !b.slot {
		if !b.l.takeSlot(ctx) {
			return errBodyBusy
		}
		b.slot = true
	}
	if b.l.limit <= 0 {
		b.granted += n
		return nil
	}
	b.l.mu.Lock()
	defer b.l.mu.Unlock()
	ceiling := b.l.limit
	if b.slot {
		ceiling -= b.l.reserve
	}
	if b.l.used+n > ceiling {
		return errBodyMemory
	}
	b.l.used += n
	b.granted += n
	b.l.onUse(b.l.used)
	return nil
}

func (l *bodyLimiter) takeSlot(ctx context.Context) bool {
	select {
	case l.slots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(largeBodyWait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// readChunk is the first grant for a body of unknown length; each later
// grant about doubles the buffer, so each byte is copied O(1) times.
const readChunk = 32 << 10

// read reads a request body of at most max bytes under the limiter. The
// caller calls release on the result once the request is answered, also
// on error. A declared length is granted (and allocated) at once, so the
// body is read into one buffer of its exact size; an unknown length
// (chunked) grows by grants. Over max, it returns the first max bytes and
// tooLarge, reading no further. When there is no room it returns
// errBodyMemory or errBodyBusy, having read nothing more.
func (l *bodyLimiter) read(ctx context.Context, r io.Reader, declared, max int64) (data []byte, held *body, tooLarge bool, err error) {
	held = &body{l: l}
	if declared >= 0 && declared <= max {
		if declared == 0 {
			return nil, held, false, nil
		}
		if err := held.grant(ctx, declared); err != nil {
			return nil, held, false, err
		}
		data = make([]byte, declared)
		n, err := io.ReadFull(r, data)
		return data[:n], held, false, err
	}
	for {
		if int64(len(data)) == held.granted {
			step := min(readChunk+held.granted, max+1-held.granted)
			if err := held.grant(ctx, step); err != nil {
				return data, held, false, err
			}
			grown := make([]byte, len(data), held.granted)
			copy(grown, data)
			data = grown
		}
		n, rerr := r.Read(data[len(data):held.granted])
		data = data[:len(data)+n]
		if int64(len(data)) > max {
			return data[:max], held, true, nil
		}
		if rerr == io.EOF {
			return data, held, false, nil
		}
		if rerr != nil {
			return data, held, false, rerr
		}
	}
}
