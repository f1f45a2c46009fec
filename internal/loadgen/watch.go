package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/procfs"
)

// counters are the hookledger metrics the processor lag is computed from.
type counters struct {
	accepted   float64 // callbacks acknowledged (both topics got them)
	requests   float64 // every answered callback, either verdict
	dropped    float64 // rejection audit records never appended
	storedHist float64 // rows of the history tables (one per verified record)
	storedRaw  float64 // rows of the audit table (one per raw record)
	// processor: the processor's counter was exposed. Counter vectors
	// appear with their first value, so before any traffic neither
	// exists; after some, a missing one means the metrics are not these.
	processor bool
}

// lag is how many records Kafka holds that ClickHouse does not yet: the
// larger of the two consumer groups' backlogs.
func (c counters) lag() float64 {
	return max(0, c.accepted-c.storedHist, c.requests-c.dropped-c.storedRaw)
}

var errNoMetrics = errors.New("loadgen: callbacks were accepted but /metrics has no hookledger_processor_rows_stored_total (give every tier's --metrics-url)")

var errWrongMetrics = errors.New("loadgen: /metrics is not the benchmarked ingest's (give every tier's --metrics-url)")

// scrape sums the counters over urls.
func scrape(ctx context.Context, client *http.Client, urls []string) (counters, error) {
	var c counters
	for _, u := range urls {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return c, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return c, fmt.Errorf("loadgen: metrics: %w", err)
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(resp.Body)
		resp.Body.Close()
		if err != nil {
			return c, fmt.Errorf("loadgen: metrics %s: %w", u, err)
		}
		if f := families["hookledger_ingest_requests_total"]; f != nil {
			for _, m := range f.GetMetric() {
				v := m.GetCounter().GetValue()
				c.requests += v
				for _, l := range m.GetLabel() {
					if l.GetName() == "verdict" && l.GetValue() == "accepted" {
						c.accepted += v
					}
				}
			}
		}
		if f := families["hookledger_ingest_audit_dropped_total"]; f != nil {
			for _, m := range f.GetMetric() {
				c.dropped += m.GetCounter().GetValue()
			}
		}
		if f := families["hookledger_processor_rows_stored_total"]; f != nil {
			c.processor = true
			for _, m := range f.GetMetric() {
				v := m.GetCounter().GetValue()
				table := ""
				for _, l := range m.GetLabel() {
					if l.GetName() == "table" {
						table = l.GetValue()
					}
				}
				if table == "callbacks" {
					c.storedRaw += v
				} else {
					c.storedHist += v
				}
			}
		}
	}
	if c.requests > 0 && !c.processor {
		return c, errNoMetrics
	}
	return c, nil
}

// procSample is the hookledger process's resource use at one moment.
type procSample struct {
	cpuSeconds float64
	rss, hwm   uint64 // bytes: resident now, peak resident since start
}

// readProc reads /proc/<pid>/stat and /proc/<pid>/status.
func readProc(pid int) (procSample, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return procSample{}, fmt.Errorf("loadgen: proc %d: %w", pid, err)
	}
	stat, err := p.Stat()
	if err != nil {
		return procSample{}, fmt.Errorf("loadgen: proc %d stat: %w", pid, err)
	}
	status, err := p.NewStatus()
	if err != nil {
		return procSample{}, fmt.Errorf("loadgen: proc %d status: %w", pid, err)
	}
	return procSample{cpuSeconds: stat.CPUTime(), rss: status.VmRSS, hwm: status.VmHWM}, nil
}

// listenerPID finds the process listening on a local TCP port, through
// /proc/net/tcp{,6} and the processes' socket descriptors. It needs
// permission to read those descriptors (the same user, or root).
func listenerPID(port int) (int, error) {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return 0, fmt.Errorf("loadgen: %w", err)
	}
	inodes := map[string]bool{}
	for _, read := range []func() (procfs.NetTCP, error){fs.NetTCP, fs.NetTCP6} {
		lines, err := read()
		if err != nil {
			continue
		}
		for _, l := range lines {
			const listen = 10 // TCP_LISTEN
			if l.St == listen && int(l.LocalPort) == port {
				inodes["socket:["+strconv.FormatUint(l.Inode, 10)+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("loadgen: nothing listens on port %d", port)
	}
	procs, err := fs.AllProcs()
	if err != nil {
		return 0, fmt.Errorf("loadgen: %w", err)
	}
	for _, p := range procs {
		targets, err := p.FileDescriptorTargets()
		if err != nil {
			continue
		}
		for _, t := range targets {
			if inodes[t] {
				return p.PID, nil
			}
		}
	}
	return 0, fmt.Errorf("loadgen: no readable process owns the listener on port %d (pass --pid)", port)
}

// watcher samples lag and the process every interval, keeping the peaks
// of the current phase.
type watcher struct {
	client *http.Client
	urls   []string
	pid    int // 0: unknown, no process figures

	mu      sync.Mutex
	maxLag  float64
	maxRSS  uint64
	lagSeen bool
	lastErr error
}

func (w *watcher) run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		c, err := scrape(ctx, w.client, w.urls)
		var ps procSample
		var perr error
		if w.pid > 0 {
			ps, perr = readProc(w.pid)
		}
		w.mu.Lock()
		if err == nil {
			w.lagSeen = true
			w.maxLag = max(w.maxLag, c.lag())
		} else if ctx.Err() == nil {
			w.lastErr = err
		}
		if perr == nil {
			w.maxRSS = max(w.maxRSS, ps.rss)
		}
		w.mu.Unlock()
	}
}

// reset starts a new phase and returns the previous one's peaks.
func (w *watcher) reset() (maxLag float64, lagSeen bool, maxRSS uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	maxLag, lagSeen, maxRSS = w.maxLag, w.lagSeen, w.maxRSS
	w.maxLag, w.lagSeen, w.maxRSS = 0, false, 0
	return maxLag, lagSeen, maxRSS
}

// drain waits until the processor caught up (lag 0) and reports how long
// that took; it gives up after timeout. acked is how many callbacks the
// benchmark saw acknowledged so far: metrics counting fewer are not the
// instance's (ingest counts before it answers).
func (w *watcher) drain(ctx context.Context, timeout time.Duration, acked int) (time.Duration, error) {
	start := time.Now()
	for {
		c, err := scrape(ctx, w.client, w.urls)
		if err != nil {
			return 0, err
		}
		if c.accepted < float64(acked) {
			return 0, fmt.Errorf("%w: they count %.0f accepted callbacks, the benchmark saw %d", errWrongMetrics, c.accepted, acked)
		}
		if c.lag() == 0 {
			return time.Since(start), nil
		}
		if time.Since(start) > timeout {
			return time.Since(start), fmt.Errorf("loadgen: processor still %.0f records behind after %s", c.lag(), timeout)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
