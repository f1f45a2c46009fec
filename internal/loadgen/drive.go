package loadgen

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// tally is what a stretch of traffic produced. Latencies are of
// acknowledged (200) requests only.
type tally struct {
	sent, ok  int
	errors    map[string]int // by status code, or "transport"
	firstErr  string
	latencies []time.Duration
	acked     []Acked
	elapsed   time.Duration
	exhausted bool // the prepared requests ran out before the time did
}

func (t *tally) add(r *Request, lat time.Duration, status int, err error, keepAcked bool) {
	t.sent++
	if err == nil && status == http.StatusOK {
		t.ok++
		t.latencies = append(t.latencies, lat)
		if keepAcked {
			t.acked = append(t.acked, r.Acked)
		}
		return
	}
	if t.errors == nil {
		t.errors = map[string]int{}
	}
	key := "transport"
	if err == nil {
		key = strconv.Itoa(status)
	}
	t.errors[key]++
	if t.firstErr == "" {
		if err != nil {
			t.firstErr = err.Error()
		} else {
			t.firstErr = "HTTP " + strconv.Itoa(status) + " from " + r.Scenario
		}
	}
}

func (t *tally) merge(o *tally) {
	t.sent += o.sent
	t.ok += o.ok
	t.latencies = append(t.latencies, o.latencies...)
	t.acked = append(t.acked, o.acked...)
	for k, v := range o.errors {
		if t.errors == nil {
			t.errors = map[string]int{}
		}
		t.errors[k] += v
	}
	if t.firstErr == "" {
		t.firstErr = o.firstErr
	}
}

func (t *tally) errorCount() int {
	n := 0
	for _, v := range t.errors {
		n += v
	}
	return n
}

// percentile returns the p-quantile (0..1) of sorted durations; 0 for none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// driver sends prepared requests to one base URL with one client. onAck
// sees every acknowledged request with the time its answer arrived.
type driver struct {
	client *http.Client
	base   string
	onAck  func(r *Request, at time.Time)
	// keepAcked collects acknowledged requests for the correctness check
	// (off for the baseline, which stores nothing).
	keepAcked bool
}

// newClient is the one HTTP client shape of every phase: keep-alive
// connections, at most conns of them (0: unbounded, for the open loop).
func newClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxConnsPerHost:     conns,
			MaxIdleConnsPerHost: max(conns, 1024),
			MaxIdleConns:        max(conns, 1024),
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
}

// send performs one request and reads the whole answer (so the connection
// is reused).
func (d *driver) send(ctx context.Context, r *Request) (int, error) {
	req, err := http.NewRequestWithContext(ctx, r.Method, d.base+r.Path, bytes.NewReader(r.Body))
	if err != nil {
		return 0, err
	}
	req.Header = r.Header // never modified by the client
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, err
}

// closedLoop keeps conns requests in flight for dur: each connection sends
// its next request when the previous answer arrived. With cycle the pool
// is reused (baseline); without, each request is sent once and the loop
// ends early when the pool runs out.
func (d *driver) closedLoop(ctx context.Context, pool []Request, conns int, dur time.Duration, cycle bool) *tally {
	var next atomic.Int64
	var exhausted atomic.Bool
	start := time.Now()
	deadline := start.Add(dur)
	parts := make([]tally, conns)
	var wg sync.WaitGroup
	for w := range parts {
		wg.Go(func() {
			t := &parts[w]
			for ctx.Err() == nil && time.Now().Before(deadline) {
				i := int(next.Add(1) - 1)
				if !cycle && i >= len(pool) {
					exhausted.Store(true)
					return
				}
				r := &pool[i%len(pool)]
				sent := time.Now()
				status, err := d.send(ctx, r)
				at := time.Now()
				if ctx.Err() != nil && errors.Is(err, context.Canceled) {
					return
				}
				t.add(r, at.Sub(sent), status, err, d.keepAcked)
				if err == nil && status == http.StatusOK && d.onAck != nil {
					d.onAck(r, at)
				}
			}
		})
	}
	wg.Wait()
	total := &tally{elapsed: time.Since(start), exhausted: exhausted.Load()}
	for i := range parts {
		total.merge(&parts[i])
	}
	return total
}

// openLoop sends pool at rate requests per second whatever the answers
// do, at most maxInFlight at once. Latency is measured from when a request
// was due, not when it could be sent, so a server that falls behind shows
// it (no coordinated omission).
func (d *driver) openLoop(ctx context.Context, pool []Request, rate float64, maxInFlight int) *tally {
	interval := time.Duration(float64(time.Second) / rate)
	var mu sync.Mutex
	total := &tally{}
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range pool {
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		r := &pool[i]
		wg.Go(func() {
			defer func() { <-sem }()
			status, err := d.send(ctx, r)
			at := time.Now()
			mu.Lock()
			total.add(r, at.Sub(due), status, err, d.keepAcked)
			mu.Unlock()
			if err == nil && status == http.StatusOK && d.onAck != nil {
				d.onAck(r, at)
			}
		})
	}
	wg.Wait()
	total.elapsed = time.Since(start)
	return total
}

// latencySummary sorts lat in place and returns its p50 and p99.
func latencySummary(lat []time.Duration) (p50, p99 time.Duration) {
	slices.Sort(lat)
	return percentile(lat, 0.50), percentile(lat, 0.99)
}
