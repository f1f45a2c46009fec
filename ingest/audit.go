package ingest

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/hookledger/hookledger/schema"
)

// auditor appends rejection records to the raw topic off the request path.
//
// Invariants: enqueue never blocks and never fails the request; a record is
// dropped (and counted) when its source or its remote address is over the
// rate limit, or when the queue is full: in records, or in bytes (the
// records waiting never hold more than maxBytes of bodies and headers). Only audit records are ever
// dropped, never accepted callbacks.
//
// Fairness: no address can spend a source's whole budget while others are
// rejected too. Each source remembers how many rejections each address
// sent it recently (a count decaying over the time the source's burst takes
// to refill); once the source's bucket is below half its burst, only an
// address below the average of its source's active addresses may take
// from it. A lone address can use the whole bucket; as soon as a second
// one shows up, the heavier are held back, and the lower half of the
// bucket serves the quiet ones.
type auditor struct {
	publish func(ctx context.Context, rec *schema.Record) error
	metrics *metrics
	log     *slog.Logger
	queue   chan *schema.Record
	// closing guards queue: enqueue sends under its read lock, stop closes
	// the queue under its write lock, so no send meets a closed channel
	// (a handler still running when the HTTP drain timed out).
	closing sync.RWMutex
	stopped bool

	maxBytes int64
	queued   atomic.Int64 // bytes of the records in queue (recordSize)

	limitRate  rate.Limit
	limitBurst int
	mu         sync.Mutex
	bySource   map[string]*sourceEntry
	byRemote   map[string]*limiterEntry
	decay      time.Duration // time constant of the per-address usage
	lastSweep  time.Time
	wg         sync.WaitGroup
	stopOnce   sync.Once
}

type limiterEntry struct {
	lim      *rate.Limiter
	lastSeen time.Time
}

// sourceEntry is a source's audit budget and who has been drawing on it.
type sourceEntry struct {
	limiterEntry
	usage *decayingShares
}

func newAuditor(publish func(context.Context, *schema.Record) error, perSecond float64, burst int, maxBytes int64, m *metrics, log *slog.Logger) *auditor {
	a := &auditor{
		publish: publish, metrics: m, log: log, maxBytes: maxBytes,
		queue:     make(chan *schema.Record, 4096),
		limitRate: rate.Limit(perSecond), limitBurst: burst,
		bySource: map[string]*sourceEntry{}, byRemote: map[string]*limiterEntry{},
	}
	if perSecond > 0 {
		a.decay = max(time.Duration(float64(burst)/perSecond*float64(time.Second)), time.Second)
	}
	return a
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
				a.metrics.auditBytes.Set(float64(a.queued.Add(-recordSize(rec))))
			}
		}()
	}
}

// stop drains the queue and waits for the workers. Later calls do nothing.
func (a *auditor) stop() {
	a.stopOnce.Do(func() {
		a.closing.Lock()
		a.stopped = true
		close(a.queue)
		a.closing.Unlock()
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
	size := recordSize(rec)
	if a.queued.Add(size) > a.maxBytes {
		a.queued.Add(-size)
		a.metrics.auditDropped.WithLabelValues("queue_bytes").Inc()
		return
	}
	a.closing.RLock()
	defer a.closing.RUnlock()
	if a.stopped {
		a.queued.Add(-size)
		a.metrics.auditDropped.WithLabelValues("stopped").Inc()
		return
	}
	select {
	case a.queue <- rec:
		a.metrics.auditBytes.Set(float64(a.queued.Load()))
	default:
		a.queued.Add(-size)
		a.metrics.auditDropped.WithLabelValues("queue_full").Inc()
	}
}

// recordSize is what a queued record holds in memory, roughly: its body,
// diagnosis and headers, plus a fixed overhead for the rest.
func recordSize(rec *schema.Record) int64 {
	n := 512 + len(rec.Body) + len(rec.Detail) + len(rec.URL)
	for k, vs := range rec.Headers {
		n += len(k)
		for _, v := range vs {
			n += len(v)
		}
	}
	return int64(n)
}

func (a *auditor) allow(source, remote string, now time.Time) bool {
	if a.limitRate <= 0 {
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sweep(now)
	src := a.source(source, now)
	rem := a.limiter(a.byRemote, remote, now)
	heavy := src.usage.add(remote, now) // counts the attempt, admitted or not
	// Take from both or neither, so a flood from one address does not use
	// up its source's budget for audit records it then drops anyway.
	tokens := src.lim.TokensAt(now)
	if tokens < 1 || rem.TokensAt(now) < 1 {
		return false
	}
	if heavy && tokens < float64(a.limitBurst)/2 {
		return false
	}
	src.lim.AllowN(now, 1)
	rem.AllowN(now, 1)
	return true
}

func (a *auditor) source(key string, now time.Time) *sourceEntry {
	e, ok := a.bySource[key]
	if !ok {
		e = &sourceEntry{limiterEntry: limiterEntry{lim: rate.NewLimiter(a.limitRate, a.limitBurst)}, usage: newDecayingShares(a.decay)}
		a.bySource[key] = e
	}
	e.lastSeen = now
	return e
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
	for k, e := range a.byRemote {
		if now.Sub(e.lastSeen) > idle {
			delete(a.byRemote, k)
		}
	}
	for k, e := range a.bySource {
		if now.Sub(e.lastSeen) > idle {
			delete(a.bySource, k)
			continue
		}
		e.usage.forgetIdle(now)
	}
}

// decayingShares counts events per key with exponential decay (time
// constant tau). Counts are kept in units of an epoch: an event at t adds
// e^((t-epoch)/tau), so all counts and their sum decay together without
// being touched, and comparisons between them need no rescaling. The epoch
// moves forward (rescaling everything once) before the weights overflow.
type decayingShares struct {
	tau   time.Duration
	epoch time.Time
	count map[string]float64
	sum   float64
}

func newDecayingShares(tau time.Duration) *decayingShares {
	return &decayingShares{tau: tau, count: map[string]float64{}}
}

// add counts one event for key and reports whether key is heavy: not below
// the average count of the active keys, once there is more than one.
func (d *decayingShares) add(key string, now time.Time) (heavy bool) {
	w := d.weight(now)
	d.count[key] += w
	d.sum += w
	n := float64(len(d.count))
	return n > 1 && d.count[key]*n >= d.sum
}

// weight is the weight of an event at now, in epoch units.
func (d *decayingShares) weight(now time.Time) float64 {
	if d.epoch.IsZero() {
		d.epoch = now
	}
	w := math.Exp(float64(now.Sub(d.epoch)) / float64(d.tau))
	if w > 1e50 {
		for k := range d.count {
			d.count[k] /= w
		}
		d.sum /= w
		d.epoch, w = now, 1
	}
	return w
}

// forgetIdle drops keys whose count has decayed to almost nothing, so an
// address that went quiet stops counting as active.
func (d *decayingShares) forgetIdle(now time.Time) {
	w := d.weight(now)
	for k, c := range d.count {
		if c/w < 0.05 {
			delete(d.count, k)
			d.sum -= c
		}
	}
}
