package ingest

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/hookledger/hookledger/schema"
)

// auditor appends rejection records to the raw topic off the request path.
//
// Invariants: enqueue never blocks and never fails the request; a record is
// dropped (and counted) when its source or its remote address is over the
// rate limit, or when the queue is full. Only audit records are ever
// dropped, never accepted callbacks.
type auditor struct {
	publish func(ctx context.Context, rec *schema.Record) error
	metrics *metrics
	log     *slog.Logger
	queue   chan *schema.Record

	limitRate  rate.Limit
	limitBurst int
	mu         sync.Mutex
	bySource   map[string]*limiterEntry
	byRemote   map[string]*limiterEntry
	lastSweep  time.Time
	wg         sync.WaitGroup
	stopOnce   sync.Once
}

type limiterEntry struct {
	lim      *rate.Limiter
	lastSeen time.Time
}

func newAuditor(publish func(context.Context, *schema.Record) error, perSecond float64, burst int, m *metrics, log *slog.Logger) *auditor {
	return &auditor{
		publish: publish, metrics: m, log: log,
		queue:     make(chan *schema.Record, 4096),
		limitRate: rate.Limit(perSecond), limitBurst: burst,
		bySource: map[string]*limiterEntry{}, byRemote: map[string]*limiterEntry{},
	}
}

// start runs workers until the queue is closed by stop.
func (a *auditor) start(workers int) {
	for i := 0; i < workers; i++ {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			for rec := range a.queue {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				if err := a.publish(ctx, rec); err != nil {
					a.metrics.auditDropped.WithLabelValues("publish_failed").Inc()
					a.log.Warn("audit record not stored", "event_id", rec.ID, "source", rec.Source, "reason", rec.Reason, "err", err)
				}
				cancel()
			}
		}()
	}
}

// stop drains the queue and waits for the workers. Later calls do nothing.
func (a *auditor) stop() {
	a.stopOnce.Do(func() {
		close(a.queue)
		a.wg.Wait()
	})
}

// enqueue schedules rec unless a limit says to drop it. sourceKey is the
// source's limiter key (one shared key for all unknown ids); remoteHost is
// the client address without port.
func (a *auditor) enqueue(rec *schema.Record, sourceKey, remoteHost string) {
	if !a.allow(sourceKey, remoteHost, rec.ReceivedAt) {
		a.metrics.auditDropped.WithLabelValues("rate_limited").Inc()
		return
	}
	select {
	case a.queue <- rec:
	default:
		a.metrics.auditDropped.WithLabelValues("queue_full").Inc()
	}
}

func (a *auditor) allow(source, remote string, now time.Time) bool {
	if a.limitRate <= 0 {
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sweep(now)
	src := a.limiter(a.bySource, source, now)
	rem := a.limiter(a.byRemote, remote, now)
	// Take from both or neither, so a flood from one address does not use
	// up its source's budget for audit records it then drops anyway.
	if src.TokensAt(now) < 1 || rem.TokensAt(now) < 1 {
		return false
	}
	src.AllowN(now, 1)
	rem.AllowN(now, 1)
	return true
}

func (a *auditor) limiter(m map[string]*limiterEntry, key string, now time.Time) *rate.Limiter {
	e, ok := m[key]
	if !ok {
		e = &limiterEntry{lim: rate.NewLimiter(a.limitRate, a.limitBurst)}
		m[key] = e
	}
	e.lastSeen = now
	return e.lim
}

// sweep forgets limiters idle long enough to have refilled, bounding memory
// under a flood from many addresses.
func (a *auditor) sweep(now time.Time) {
	if now.Sub(a.lastSweep) < time.Minute {
		return
	}
	a.lastSweep = now
	idle := time.Duration(float64(a.limitBurst)/float64(a.limitRate)*float64(time.Second)) + time.Minute
	for _, m := range []map[string]*limiterEntry{a.bySource, a.byRemote} {
		for k, e := range m {
			if now.Sub(e.lastSeen) > idle {
				delete(m, k)
			}
		}
	}
}
