// Package loadgen is hookledger's own benchmark (`hookledger bench`). It
// drives a running instance over HTTP with genuine signed callbacks of
// every provider and scheme, compares it with a bare Echo server in the
// same run, measures how soon callbacks become queryable, the processor
// lag and the process's CPU and memory, and then checks that every
// acknowledged callback is queryable exactly once.
//
// Requests are prepared (signed) before each measured stretch, so the
// client's signing cost — RSA above all — is not paid while measuring.
package loadgen

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Options shape one benchmark run.
type Options struct {
	// Connections is the closed loop's concurrency (default 32).
	Connections int
	// Duration is each measured stretch (default 10s).
	Duration time.Duration
	// Rate is the open loop's target in requests per second over all
	// scenarios together; 0 skips the open loop.
	Rate float64
	// BodyBytes is the approximate size of each callback body (default 600).
	BodyBytes int
	// Scenarios selects by name; empty runs every scenario the config
	// allows.
	Scenarios []string
	// PID is the hookledger process for CPU and memory figures; 0 finds
	// the process listening on the ingest port (loopback only).
	PID int
	// GetLimit bounds the ids checked one by one after the run (0: all);
	// lists always count every id.
	GetLimit int
	// ListLimit is the most acknowledged ids the check counts in the lists
	// (0: no limit); beyond it lists are skipped (see Check.ListsSkipped).
	ListLimit int
	// BeforeCheck, when set, sees the report once every phase ran and
	// before the (possibly long) correctness check.
	BeforeCheck func(*Report)
	// Smoke is the quick correctness run CI makes: small fixed pools, no
	// warm-up, every id checked one by one. Speed figures are meaningless.
	Smoke bool
	Log   *slog.Logger
}

func (o *Options) defaults() {
	if o.Connections <= 0 {
		o.Connections = 32
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.BodyBytes <= 0 {
		o.BodyBytes = 600
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Smoke {
		o.GetLimit, o.ListLimit = 0, 0
	}
}

// Phase is one measured stretch against one server.
type Phase struct {
	Name        string         `json:"name"`   // scenario, "baseline", or "mix" (open loop over every scenario)
	Server      string         `json:"server"` // "baseline" or "hookledger"
	Mode        string         `json:"mode"`   // "closed" or "open"
	Connections int            `json:"connections,omitempty"`
	TargetRate  float64        `json:"target_rate,omitempty"`
	Sent        int            `json:"sent"`
	OK          int            `json:"ok"`
	Errors      int            `json:"errors"`
	ErrorsBy    map[string]int `json:"errors_by,omitempty"`
	FirstError  string         `json:"first_error,omitempty"`
	ElapsedSec  float64        `json:"elapsed_seconds"`
	// Exhausted: the prepared requests ran out before Duration (the rate
	// is still OK ÷ elapsed).
	Exhausted  bool    `json:"exhausted,omitempty"`
	ReqPerSec  float64 `json:"req_per_sec"`
	VsBaseline float64 `json:"vs_baseline,omitempty"` // ReqPerSec ÷ the closed-loop baseline's
	P50Ms      float64 `json:"p50_ms"`
	P99Ms      float64 `json:"p99_ms"`
	// Callback acknowledged → queryable by its GET, on sampled ids.
	QueryableP50Ms   float64 `json:"queryable_p50_ms,omitempty"`
	QueryableP99Ms   float64 `json:"queryable_p99_ms,omitempty"`
	QueryableSamples int     `json:"queryable_samples,omitempty"`
	QueryableLost    int     `json:"queryable_lost,omitempty"`
	// Processor lag in records (Kafka ahead of ClickHouse): the peak while
	// the phase ran, and how long it took to reach 0 once it ended.
	MaxLag     float64 `json:"max_lag_records"`
	DrainMs    float64 `json:"drain_ms"`
	LagUnknown bool    `json:"lag_unknown,omitempty"`
	// CPU seconds the hookledger process spent per 1,000 acknowledged
	// callbacks, from the phase's start until its records were stored.
	CPUPer1k  float64 `json:"cpu_seconds_per_1k,omitempty"`
	PeakRSSMB float64 `json:"peak_rss_mb,omitempty"` // sampled while the phase ran
}

// Report is the whole run.
type Report struct {
	Started     time.Time `json:"started"`
	Ingest      string    `json:"ingest"`
	Connections int       `json:"connections"`
	Duration    string    `json:"duration"`
	Rate        float64   `json:"rate,omitempty"`
	BodyBytes   int       `json:"body_bytes"`
	Smoke       bool      `json:"smoke,omitempty"`
	PID         int       `json:"pid,omitempty"`
	Phases      []Phase   `json:"phases"`
	// BaselineReqPerSec is the mean of the closed-loop baseline runs (one
	// before, one after hookledger's), the denominator of VsBaseline.
	BaselineReqPerSec float64  `json:"baseline_req_per_sec"`
	PeakRSSMB         float64  `json:"peak_rss_mb,omitempty"` // VmHWM: the process's peak since it started
	Check             *Check   `json:"check"`
	Notes             []string `json:"notes,omitempty"`
}

// Errors is the number of requests not answered 200 by hookledger.
func (r *Report) Errors() int {
	n := 0
	for _, p := range r.Phases {
		if p.Server == "hookledger" {
			n += p.Errors
		}
	}
	return n
}

// run is the state of one benchmark run.
type run struct {
	o       Options
	t       *Target
	q       *queryClient
	w       *watcher
	nonce   string
	counter atomic.Uint64 // callback numbers, unique over the run
	acked   []Acked
	rep     *Report
	noted   map[string]bool
}

// Run benchmarks t and returns the report. It fails only when the
// benchmark itself cannot run; a failed correctness check is in
// Report.Check.
func Run(ctx context.Context, t *Target, o Options) (*Report, error) {
	o.defaults()
	nonce := make([]byte, 4)
	_, _ = rand.Read(nonce)
	r := &run{o: o, t: t, nonce: hex.EncodeToString(nonce),
		q: &queryClient{base: t.QueryBase, token: t.QueryToken, client: newClient(8)},
		rep: &Report{Started: time.Now().UTC(), Ingest: t.IngestBase, Connections: o.Connections,
			Duration: o.Duration.String(), Rate: o.Rate, BodyBytes: o.BodyBytes, Smoke: o.Smoke}}
	scenarios, err := r.selectScenarios(Scenarios(t, r.nonce, o.BodyBytes))
	if err != nil {
		return nil, err
	}
	if err := r.waitReady(ctx); err != nil {
		return nil, err
	}
	r.findProcess()
	r.w = &watcher{client: newClient(2), urls: t.MetricsURLs, pid: r.rep.PID}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go r.w.run(watchCtx, 250*time.Millisecond)

	base, err := startBaseline()
	if err != nil {
		return nil, err
	}
	defer base.stop()
	basePool, err := r.pool(ctx, scenarios, 64*len(scenarios), 0)
	if err != nil {
		return nil, err
	}
	if err := r.baselineClosed(ctx, base, basePool); err != nil {
		return nil, err
	}
	for _, sc := range scenarios {
		if err := r.closedScenario(ctx, sc); err != nil {
			return nil, err
		}
	}
	if o.Rate > 0 {
		if err := r.openMix(ctx, base, scenarios); err != nil {
			return nil, err
		}
	}
	if !o.Smoke {
		if err := r.baselineClosed(ctx, base, basePool); err != nil {
			return nil, err
		}
	}
	r.ratios()
	if r.rep.PID > 0 {
		if ps, err := readProc(r.rep.PID); err == nil {
			r.rep.PeakRSSMB = mb(ps.hwm)
		}
	}
	if o.BeforeCheck != nil {
		o.BeforeCheck(r.rep)
	}
	o.Log.Info("checking every acknowledged callback", "acknowledged", len(r.acked))
	// Provider times have whole seconds at worst (Vonage SMS).
	since := r.rep.Started.Truncate(time.Second).Add(-time.Second)
	r.rep.Check, err = check(ctx, r.q, r.acked, r.nonce, since, o.GetLimit, o.ListLimit)
	if err != nil {
		return nil, err
	}
	return r.rep, nil
}

func (r *run) note(format string, args ...any) {
	r.rep.Notes = append(r.rep.Notes, fmt.Sprintf(format, args...))
}

// noteOnce notes an error once however many phases hit it, naming the
// first phase.
func (r *run) noteOnce(format, phase string, err error) {
	key := err.Error()
	for _, sentinel := range []error{errNoMetrics, errWrongMetrics} {
		if errors.Is(err, sentinel) {
			key = sentinel.Error()
		}
	}
	if r.noted[key] {
		return
	}
	if r.noted == nil {
		r.noted = map[string]bool{}
	}
	r.noted[key] = true
	r.note(format, phase, err)
}

func mb(b uint64) float64 { return float64(b) / (1 << 20) }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (r *run) selectScenarios(all []*Scenario) ([]*Scenario, error) {
	if r.t.MessageMedia == nil {
		r.note("messagemedia skipped: no --messagemedia-key matching a configured key")
	}
	if r.t.Vonage != nil && r.t.Vonage.SMSMethod == "" {
		r.note("vonage-sms-sig skipped: the source has no sms_signature_method")
	}
	if len(r.o.Scenarios) == 0 {
		if len(all) == 0 {
			return nil, errors.New("loadgen: the config has no source to benchmark")
		}
		return all, nil
	}
	var out []*Scenario
	for _, name := range r.o.Scenarios {
		i := slices.IndexFunc(all, func(s *Scenario) bool { return s.Name == name })
		if i < 0 {
			names := make([]string, len(all))
			for j, s := range all {
				names[j] = s.Name
			}
			return nil, fmt.Errorf("loadgen: no scenario %q for this config (have %v)", name, names)
		}
		out = append(out, all[i])
	}
	return out, nil
}

func (r *run) waitReady(ctx context.Context) error {
	client := newClient(2)
	deadline := time.Now().Add(90 * time.Second)
	for _, base := range []string{r.t.IngestBase, r.t.QueryBase} {
		for {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
			resp, err := client.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("loadgen: %s/readyz not ready: %v", base, err)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	return nil
}

// findProcess settles the pid whose CPU and memory are reported.
func (r *run) findProcess() {
	if r.o.PID > 0 {
		r.rep.PID = r.o.PID
		return
	}
	u, err := url.Parse(r.t.IngestBase)
	if err != nil {
		return
	}
	if ip := net.ParseIP(u.Hostname()); (ip == nil || !ip.IsLoopback()) && u.Hostname() != "localhost" {
		r.note("no CPU or memory figures: ingest is not on this machine (give --pid)")
		return
	}
	port, _ := strconv.Atoi(u.Port())
	pid, err := listenerPID(port)
	if err != nil {
		r.note("no CPU or memory figures: %v", err)
		return
	}
	r.rep.PID = pid
}

// pool prepares up to n signed requests, spread round-robin over
// scenarios, in parallel on every core. It stops early, with what it has,
// when ctx ends or after budget (0: no limit): RSA signing can take longer
// than the phase it prepares.
func (r *run) pool(ctx context.Context, scenarios []*Scenario, n int, budget time.Duration) ([]Request, error) {
	first := r.counter.Add(uint64(n)) - uint64(n)
	out := make([]Request, n)
	now := time.Now()
	var stop time.Time
	if budget > 0 {
		stop = now.Add(budget)
	}
	var next, done atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for ctx.Err() == nil && (stop.IsZero() || time.Now().Before(stop)) {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				req, err := scenarios[i%len(scenarios)].Build(first+uint64(i), now)
				if err != nil {
					mu.Lock()
					firstErr = cmp.Or(firstErr, err)
					mu.Unlock()
					return
				}
				out[i] = req
				done.Add(1)
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Workers stopped by the budget leave gaps only past the last index
	// handed out; keep the filled prefix.
	filled := 0
	for filled < n && out[filled].Method != "" {
		filled++
	}
	return out[:filled], nil
}

// Closed-loop pool sizing: a warm-up pool measures the rate, the measured
// pool holds poolMargin times what that rate sends in Duration.
const (
	poolMargin = 1.5
	maxPool    = 400_000
	smokePool  = 300
	// poolBudget bounds the preparation of one phase's requests.
	poolBudget = 20 * time.Second
)

func (r *run) baselineClosed(ctx context.Context, base *baseline, pool []Request) error {
	r.o.Log.Info("baseline: closed loop", "connections", r.o.Connections, "duration", r.o.Duration)
	d := &driver{client: newClient(r.o.Connections), base: base.url}
	defer d.client.CloseIdleConnections()
	t := d.closedLoop(ctx, pool, r.o.Connections, r.o.Duration, true)
	p := phaseOf("baseline", "baseline", "closed", t)
	p.Connections = r.o.Connections
	p.LagUnknown = true
	r.rep.Phases = append(r.rep.Phases, p)
	return ctx.Err()
}

func (r *run) closedScenario(ctx context.Context, sc *Scenario) error {
	d := &driver{client: newClient(r.o.Connections), base: r.t.IngestBase, keepAcked: true}
	defer d.client.CloseIdleConnections()
	size := smokePool
	if !r.o.Smoke {
		warm, err := r.pool(ctx, []*Scenario{sc}, max(r.o.Connections*50, 2000), poolBudget)
		if err != nil {
			return err
		}
		r.o.Log.Info("warm-up", "scenario", sc.Name, "requests", len(warm))
		t := d.closedLoop(ctx, warm, r.o.Connections, time.Minute, false)
		r.acked = append(r.acked, t.acked...)
		rate := float64(t.ok) / t.elapsed.Seconds()
		r.o.Log.Info("warm-up done", "scenario", sc.Name, "req_per_sec", int(rate))
		size = int(min(max(rate*r.o.Duration.Seconds()*poolMargin, 1000), maxPool))
	}
	pool, err := r.pool(ctx, []*Scenario{sc}, size, poolBudget)
	if err != nil {
		return err
	}
	r.o.Log.Info("closed loop", "scenario", sc.Name, "connections", r.o.Connections, "duration", r.o.Duration, "prepared", len(pool))
	p, err := r.measure(ctx, sc.Name, "closed", d, func(d *driver) *tally {
		return d.closedLoop(ctx, pool, r.o.Connections, r.o.Duration, false)
	})
	if err != nil {
		return err
	}
	p.Connections = r.o.Connections
	r.rep.Phases = append(r.rep.Phases, p)
	return nil
}

// openMix runs the open loop over every scenario together, first against
// the baseline, then against hookledger, with the same requests.
func (r *run) openMix(ctx context.Context, base *baseline, scenarios []*Scenario) error {
	n := max(1, int(r.o.Rate*r.o.Duration.Seconds()))
	pool, err := r.pool(ctx, scenarios, n, 0)
	if err != nil {
		return err
	}
	inFlight := max(4*r.o.Connections, 256)
	r.o.Log.Info("open loop", "rate", r.o.Rate, "requests", n)
	bd := &driver{client: newClient(0), base: base.url}
	bt := bd.openLoop(ctx, pool, r.o.Rate, inFlight)
	bd.client.CloseIdleConnections()
	bp := phaseOf("mix", "baseline", "open", bt)
	bp.TargetRate, bp.LagUnknown = r.o.Rate, true
	r.rep.Phases = append(r.rep.Phases, bp)

	d := &driver{client: newClient(0), base: r.t.IngestBase, keepAcked: true}
	defer d.client.CloseIdleConnections()
	p, err := r.measure(ctx, "mix", "open", d, func(d *driver) *tally { return d.openLoop(ctx, pool, r.o.Rate, inFlight) })
	if err != nil {
		return err
	}
	p.TargetRate = r.o.Rate
	r.rep.Phases = append(r.rep.Phases, p)
	return nil
}

// measure runs one hookledger phase: it waits for an idle processor,
// samples callback→queryable while drive runs, then waits for the
// processor to catch up and charges the CPU spent meanwhile to the phase.
func (r *run) measure(ctx context.Context, name, mode string, d *driver, drive func(*driver) *tally) (Phase, error) {
	lagKnown := r.drain(ctx, name) >= 0
	cpu0, cpuErr := r.cpu()
	r.w.reset()
	every, poll := 200*time.Millisecond, 20*time.Millisecond
	if r.o.Smoke {
		every = 50 * time.Millisecond
	}
	smp := newSampler(ctx, r.q, every, poll, 4)
	d.onAck = smp.offer
	t := drive(d)
	d.onAck = nil
	maxLag, lagSeen, maxRSS := r.w.reset()
	drain := r.drain(ctx, name)
	lat, lost := smp.finish()
	r.acked = append(r.acked, t.acked...)

	p := phaseOf(name, "hookledger", mode, t)
	if ctx.Err() != nil {
		return p, ctx.Err()
	}
	p.QueryableP50Ms, p.QueryableP99Ms = msPair(latencySummary(lat))
	p.QueryableSamples, p.QueryableLost = len(lat), lost
	p.MaxLag, p.DrainMs, p.LagUnknown = maxLag, ms(drain), !lagKnown || !lagSeen || drain < 0
	if cpu1, err := r.cpu(); err == nil && cpuErr == nil && t.ok > 0 {
		p.CPUPer1k = (cpu1 - cpu0) / float64(t.ok) * 1000
	}
	p.PeakRSSMB = mb(maxRSS)
	return p, nil
}

// drain waits for processor lag 0 (at most two minutes) and returns how
// long it took, or -1 when the lag is unknown or never reached 0.
func (r *run) drain(ctx context.Context, phase string) time.Duration {
	d, err := r.w.drain(ctx, 2*time.Minute, len(r.acked))
	if err != nil {
		r.noteOnce("%s: %v", phase, err)
		return -1
	}
	return d
}

func (r *run) cpu() (float64, error) {
	if r.rep.PID == 0 {
		return 0, errors.New("no pid")
	}
	ps, err := readProc(r.rep.PID)
	return ps.cpuSeconds, err
}

func msPair(a, b time.Duration) (float64, float64) { return ms(a), ms(b) }

func phaseOf(name, server, mode string, t *tally) Phase {
	p := Phase{Name: name, Server: server, Mode: mode, Sent: t.sent, OK: t.ok, Errors: t.errorCount(),
		ErrorsBy: t.errors, FirstError: t.firstErr, ElapsedSec: t.elapsed.Seconds(), Exhausted: t.exhausted}
	if t.elapsed > 0 {
		p.ReqPerSec = float64(t.ok) / t.elapsed.Seconds()
	}
	p.P50Ms, p.P99Ms = msPair(latencySummary(t.latencies))
	return p
}

// ratios fills VsBaseline of the closed-loop hookledger phases.
func (r *run) ratios() {
	var sum float64
	var n int
	for _, p := range r.rep.Phases {
		if p.Server == "baseline" && p.Mode == "closed" {
			sum += p.ReqPerSec
			n++
		}
	}
	if n == 0 || sum == 0 {
		return
	}
	r.rep.BaselineReqPerSec = sum / float64(n)
	for i := range r.rep.Phases {
		if p := &r.rep.Phases[i]; p.Mode == "closed" {
			p.VsBaseline = p.ReqPerSec / r.rep.BaselineReqPerSec
		}
	}
}
