// Package app builds hookledger's tiers from a config and runs them until
// the context ends, then shuts them down in the order that loses nothing:
// stop accepting, drain in-flight requests, flush the producer, let the
// consumers commit what was stored, close the engines.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookledger/hookledger/console"
	"github.com/hookledger/hookledger/ingest"
	"github.com/hookledger/hookledger/internal/config"
	"github.com/hookledger/hookledger/internal/connlimit"
	"github.com/hookledger/hookledger/internal/jtiguard"
	"github.com/hookledger/hookledger/internal/kafkalog"
	"github.com/hookledger/hookledger/internal/observe"
	"github.com/hookledger/hookledger/processor"
	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/provider/providers"
	"github.com/hookledger/hookledger/query"
	"github.com/hookledger/hookledger/schema"
	"github.com/hookledger/hookledger/storage"
)

// Tiers selects what a process runs.
type Tiers struct {
	Ingest, Process, Query bool
	// Embedded allows the embedded broker and ClickHouse when the config
	// names none (only `hookledger run`).
	Embedded bool
}

// All is `hookledger run`.
var All = Tiers{Ingest: true, Process: true, Query: true, Embedded: true}

// App is a running set of tiers.
type App struct {
	cfg       *config.Config
	tiers     Tiers
	log       *slog.Logger
	providers *provider.Registry
	ready     *observe.Readiness
	metrics   *prometheus.Registry
	obs       *appMetrics
	http      *observe.HTTPMetrics
	tracing   trace.TracerProvider // nil: no spans

	level      *slog.LevelVar // set by WithLogLevel: log.level reloads
	checkEvery time.Duration  // how often running dependencies are checked

	reloadMu sync.Mutex
	running  *config.Config // what runs: cfg plus the reloaded keys

	store           *storage.Store // set by WithStore, else opened by Start
	stops           []func()       // run in reverse order on shutdown
	ingest          *ingest.Server
	query           *query.Server
	replays         *jtiguard.Guard
	redactionKey    []byte
	connMetrics     *connlimit.Metrics
	listeners       map[string]net.Listener
	handlers        map[string]*swapHandler // per listener, once its server runs
	servers         []*http.Server
	addrs           map[string]string
	consumed        sync.WaitGroup
	cancelConsumers context.CancelFunc
	errs            chan error
}

// Option adjusts an App before it starts.
type Option func(*App)

// WithStore uses an already open, migrated store instead of opening one
// from the config. The caller keeps ownership: the App does not close it.
// Tests use it to share one embedded engine between many apps.
func WithStore(s *storage.Store) Option { return func(a *App) { a.store = s } }

// WithLogLevel makes log.level reloadable: Reload sets level, which the
// caller's logger handler reads. Without it a changed log.level is
// reported as needing a restart.
func WithLogLevel(level *slog.LevelVar) Option { return func(a *App) { a.level = level } }

// WithTracerProvider traces callbacks from ingest through the processor
// (internal/tracing.Setup builds tp from the OTEL_* environment).
func WithTracerProvider(tp trace.TracerProvider) Option { return func(a *App) { a.tracing = tp } }

// New prepares an App. It starts nothing.
func New(cfg *config.Config, tiers Tiers, log *slog.Logger, opts ...Option) *App {
	a := &App{
		cfg: cfg, tiers: tiers, log: log, providers: providers.All(),
		ready: observe.NewReadiness(), metrics: observe.Registry(),
		addrs: map[string]string{}, listeners: map[string]net.Listener{}, handlers: map[string]*swapHandler{}, errs: make(chan error, 4),
		running: cfg, checkEvery: dependencyCheckEvery,
	}
	for _, o := range opts {
		o(a)
	}
	a.obs, a.http = newAppMetrics(a.metrics), observe.NewHTTPMetrics(a.metrics)
	return a
}

// Addr returns the bound address of a listener ("ingest" or "query") once
// Start returned.
func (a *App) Addr(name string) string { return a.addrs[name] }

// Ready lists the components not ready yet.
func (a *App) Ready() []string { return a.ready.Pending() }

// Start brings the tiers up. On error everything started is stopped.
func (a *App) Start(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			a.shutdown()
		}
	}()
	// Register every component before starting any, so /readyz stays 503
	// until the slowest one is up.
	if a.tiers.Ingest || a.tiers.Process {
		a.ready.Register("kafka")
	}
	if a.tiers.Process || a.tiers.Query {
		a.ready.Register("clickhouse")
	}
	if a.tiers.Process {
		a.ready.Register(processor.LoopAudit)
		a.ready.Register(processor.LoopHistory)
		a.ready.Register(processor.LoopForward)
	}
	if err := a.lockDataDir(); err != nil {
		return err
	}
	sources, tokens, err := a.prepare()
	if err != nil {
		return err
	}
	a.warnMissing(a.cfg)
	a.serveStarting()

	var brokers []string
	var producer publisher
	if a.tiers.Ingest || a.tiers.Process {
		var stopKafka func()
		var syncer kafkalog.LogSyncer
		brokers, syncer, stopKafka, err = startKafka(a.cfg, a.tiers.Embedded, a.log)
		if err != nil {
			return err
		}
		a.stops = append(a.stops, stopKafka)
		err = waitFor(ctx, a.log, "kafka", []any{"brokers", strings.Join(brokers, ",")}, func(ctx context.Context) error {
			if err := kafkalog.Ping(ctx, brokers); err != nil {
				return err
			}
			return ensureTopics(ctx, a.cfg, brokers, a.log)
		})
		if err != nil {
			return err
		}
		opts := []kafkalog.ProducerOption{kafkalog.WithMaxMessageBytes(messageBytes(a.cfg))}
		if syncer != nil {
			opts = append(opts, kafkalog.WithLogSyncer(timedSyncer{syncer, a.obs}))
		}
		kp := kafkalog.NewProducer(brokers, opts...)
		registerKafkaMetrics(a.metrics, kp, syncer)
		a.stops = append(a.stops, func() {
			if err := kp.Close(); err != nil {
				a.log.Warn("closing kafka producer", "err", err)
			}
		})
		producer = timedPublisher{kp, a.obs}
		a.ready.Set("kafka", true)
	}

	store := a.store
	if a.tiers.Process || a.tiers.Query {
		if store == nil {
			store, err = openStore(ctx, a.cfg, a.tiers.Embedded, a.log)
			if err != nil {
				return err
			}
			a.stops = append(a.stops, func() { _ = store.Conn().Close() })
		}
		a.ready.Set("clickhouse", true)
	}

	if a.tiers.Process {
		a.startProcessor(ctx, brokers, timedStore(store, a.obs), producer)
		if a.processorAlone() {
			// Alone, the processor still needs probes and metrics.
			a.serve("processor", func(*echo.Echo) {})
		}
	}
	if a.tiers.Ingest {
		a.startIngest(producer, sources)
	}
	if a.tiers.Query {
		a.query = query.New(store, tokens, query.NewCatalog(a.providers.Names(), a.cfg.Sources), a.log)
		a.serve("query", func(e *echo.Echo) {
			a.query.Register(e)
			console.Register(e) // the web console, under /console/, reads /v1 like any client
		})
	}
	var watchStore *storage.Store
	if a.tiers.Process || a.tiers.Query {
		watchStore = store
	}
	a.stops = append(a.stops, watchDependencies(brokers, watchStore, a.ready, a.log, a.checkEvery))
	return nil
}

// lockDataDir takes data_dir for this process before anything opens a file
// there, when this App keeps anything there: the jti memory (ingest), the
// embedded broker or embedded ClickHouse. A second instance on the same
// data_dir fails here, naming the holder, having changed nothing.
func (a *App) lockDataDir() error {
	embeddedKafka := a.tiers.Embedded && (a.tiers.Ingest || a.tiers.Process) && len(a.cfg.Kafka.Brokers) == 0
	if !a.tiers.Ingest && !embeddedKafka && !a.usesEmbeddedClickHouse() {
		// Nothing of ours lives there, and the directory may be read-only.
		if err := os.MkdirAll(a.cfg.DataDir, 0o755); err != nil {
			return fmt.Errorf("data_dir: %w", err)
		}
		return nil
	}
	release, err := lockDataDir(a.cfg, a.tierNames())
	if err != nil {
		return err
	}
	a.stops = append(a.stops, release) // first in, so released last
	return nil
}

// tierNames describes the tiers for the lock file ("run", "ingest", ...).
func (a *App) tierNames() string {
	if a.tiers == All {
		return "run"
	}
	var names []string
	for _, t := range []struct {
		on   bool
		name string
	}{{a.tiers.Ingest, "ingest"}, {a.tiers.Process, "process"}, {a.tiers.Query, "query"}} {
		if t.on {
			names = append(names, t.name)
		}
	}
	return strings.Join(names, "+")
}

// usesEmbeddedClickHouse reports whether Start opens the embedded engine.
func (a *App) usesEmbeddedClickHouse() bool {
	return (a.tiers.Process || a.tiers.Query) && a.store == nil && a.tiers.Embedded && a.cfg.ClickHouse.DSN == ""
}

func (a *App) processorAlone() bool { return a.tiers.Process && !a.tiers.Ingest && !a.tiers.Query }

// prepare does everything that can fail because of the config alone —
// sources and tokens that do not build, a listen address in use — before
// any engine starts, so such a mistake is reported in milliseconds.
func (a *App) prepare() (ingest.Sources, query.Tokens, error) {
	var sources ingest.Sources
	var tokens query.Tokens
	if a.tiers.Ingest {
		replays, err := jtiguard.Open(filepath.Join(a.cfg.DataDir, "replay-guard.log"), jtiguard.Options{Sync: a.cfg.Kafka.SyncWrites, Logger: a.log})
		if err != nil {
			return nil, nil, err
		}
		a.replays = replays
		a.stops = append(a.stops, func() { _ = replays.Close() })
		if a.redactionKey, err = ingest.LoadRedactionKey(filepath.Join(a.cfg.DataDir, "redaction.key")); err != nil {
			return nil, nil, err
		}
		if sources, err = a.buildSources(a.cfg); err != nil {
			return nil, nil, err
		}
		if err := a.listen("ingest", a.cfg.Ingest.Listen); err != nil {
			return nil, nil, err
		}
	}
	if a.tiers.Query {
		var err error
		if tokens, err = query.BuildTokens(a.cfg.Query.Tokens); err != nil {
			return nil, nil, err
		}
		if err := a.listen("query", a.cfg.Query.Listen); err != nil {
			return nil, nil, err
		}
	}
	if a.processorAlone() {
		if err := a.listen("processor", a.cfg.Processor.Listen); err != nil {
			return nil, nil, err
		}
	}
	if a.usesEmbeddedClickHouse() {
		if err := loadEmbeddedClickHouse(); err != nil {
			return nil, nil, err
		}
	}
	return sources, tokens, nil
}

// listen binds a tier's address; serve starts answering on it later.
func (a *App) listen(name, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s.listen: %w", name, err)
	}
	a.listeners[name] = ln
	a.addrs[name] = ln.Addr().String()
	// Closes the socket if Start fails before serve hands it to a server.
	a.stops = append(a.stops, func() { _ = ln.Close() })
	return nil
}

func (a *App) startProcessor(ctx context.Context, brokers []string, store *storage.Store, producer publisher) {
	opts := []processor.Option{processor.WithTracerProvider(a.tracing)}
	if a.tiers.Ingest {
		// Callbacks first: the processor may fall behind during a burst.
		opts = append(opts, processor.WithWorkers(max(1, runtime.GOMAXPROCS(0)/2)))
	}
	proc := processor.New(store, a.providers, producer, a.cfg.Kafka.DeadLetterTopic, a.log, a.metrics, opts...)
	runCtx, cancel := context.WithCancel(context.Background())
	a.cancelConsumers = cancel
	host, _ := os.Hostname()
	loops := proc.Loops(processor.LoopConfig{
		Brokers: brokers, RawTopic: a.cfg.Kafka.RawTopic, VerifiedTopic: a.cfg.Kafka.VerifiedTopic,
		Group: a.cfg.Kafka.ConsumerGroup, ClientID: fmt.Sprintf("hookledger-%s-%d", host, os.Getpid()),
		BatchSize: a.cfg.Processor.BatchSize, FlushInterval: a.cfg.Processor.FlushInterval,
		OnLag: a.obs.observeLag, Logger: a.log,
	}, processor.NewForwarder(producer, a.cfg.Kafka.VerifiedTopic).WithLogger(a.log))
	for _, l := range loops {
		// Before ingest listens: a damaged log refilled past the committed
		// offset would look healthy. Run checks again if this fails.
		checkCtx, cancelCheck := context.WithTimeout(ctx, 30*time.Second)
		if err := l.CheckOffsets(checkCtx); err != nil {
			a.log.Warn("kafka offset check at start failed; the consumer retries", "consumer", l.Name, "err", err)
		}
		cancelCheck()
		a.consumed.Add(2)
		go func() {
			defer a.consumed.Done()
			if err := l.Run(runCtx); err != nil {
				a.errs <- fmt.Errorf("%s: %w", l.Name, err)
			}
		}()
		go func() {
			defer a.consumed.Done()
			if err := l.WaitJoined(runCtx); err == nil {
				a.ready.Set(l.Name, true)
				a.log.Info("consumer joined its group", "consumer", l.Name, "group", l.Group)
			}
		}()
	}
}

func (a *App) startIngest(producer publisher, sources ingest.Sources) {
	ic := a.cfg.Ingest
	a.ingest = ingest.New(ingest.Options{
		RawTopic:     a.cfg.Kafka.RawTopic,
		MaxBodyBytes: ic.MaxBodyBytes, MaxRecordBytes: schema.MaxRecordBytes(ic.MaxBodyBytes), AckTimeout: a.cfg.Kafka.AckTimeout,
		URLs:      ingest.URLPolicy{PublicBaseURL: ic.PublicBaseURL, TrustForwardedHeaders: ic.TrustForwardedHeaders},
		AuditRate: ic.Audit.RatePerSecond, AuditBurst: ic.Audit.Burst, AuditBodyPrefix: ic.Audit.BodyPrefixBytes,
		AuditRejectedBody: ic.Audit.RejectedBodyBytes, AuditQueueBytes: ic.Audit.QueueBytes, MaxBodyMemory: ic.MaxBodyMemory,
		RedactHeaders: ic.RedactHeaders, RedactionKey: a.redactionKey,
		Logger: a.log, Metrics: a.metrics, Tracing: a.tracing,
	}, producer, sources)
	a.ingest.Start()
	a.stops = append(a.stops, a.ingest.Stop)
	a.serve("ingest", a.ingest.Register)
}

func (a *App) buildSources(cfg *config.Config) (ingest.Sources, error) {
	return ingest.BuildSources(cfg.Sources, a.providers, provider.Deps{Replays: a.replays, Now: time.Now})
}

// serveStarting answers every bound listener at once with the probes and
// 503 for anything else (startingHandler), so /readyz tells while the tiers
// wait for Kafka and ClickHouse. serve swaps in each tier's routes.
func (a *App) serveStarting() {
	for _, name := range []string{"ingest", "query", "processor"} {
		if _, ok := a.listeners[name]; ok {
			a.startServer(name)
		}
	}
}

// startServer starts the HTTP server of a listener bound by listen.
func (a *App) startServer(name string) *swapHandler {
	h := &swapHandler{}
	h.set(a.startingHandler())
	a.handlers[name] = h
	ln, idle := a.limitListener(name)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: idle, ConnState: ln.ConnState}
	a.servers = append(a.servers, srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.errs <- fmt.Errorf("%s listener: %w", name, err)
		}
	}()
	a.log.Info("listening", "tier", name, "addr", ln.Addr().String())
	return h
}

// serve answers on the listener bound by listen with the operator
// endpoints and the tier's routes.
func (a *App) serve(name string, register func(*echo.Echo)) {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = observe.JSONErrorHandler
	e.Use(a.http.Middleware(name), observe.RequestLog(a.log, name))
	observe.Mount(e, a.ready, a.metrics)
	register(e)
	h := a.handlers[name]
	if h == nil {
		h = a.startServer(name)
	}
	h.set(e)
}

// Reload applies a new config's sources, tokens and (WithLogLevel)
// log.level without dropping a request. A config whose sources or tokens
// do not build changes nothing. Every other key that differs from the
// running config needs a restart: it is left as it runs and named in a
// warning, at every reload until the process restarts.
func (a *App) Reload(cfg *config.Config) (err error) {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	defer func() { a.countReload(err) }()
	var sources ingest.Sources
	var tokens query.Tokens
	if a.ingest != nil {
		if sources, err = a.buildSources(cfg); err != nil {
			return err
		}
	}
	if a.query != nil {
		if tokens, err = query.BuildTokens(cfg.Query.Tokens); err != nil {
			return err
		}
	}
	if a.ingest != nil {
		a.ingest.SetSources(sources)
	}
	if a.query != nil {
		a.query.SetTokens(tokens)
		a.query.SetCatalog(query.NewCatalog(a.providers.Names(), cfg.Sources))
	}
	next := *a.running
	next.Sources, next.Query.Tokens = cfg.Sources, cfg.Query.Tokens
	applied := []string{}
	for _, key := range config.Changed(a.running, cfg) {
		// The reload tags in internal/config say which keys apply live;
		// docs/configuration.md is generated from the same tags.
		if !config.Reloadable(key) || (key == "log.level" && a.level == nil) {
			a.log.Warn(key+" changed; restart to apply", "key", key)
			continue
		}
		if key == "log.level" {
			a.level.Set(cfg.Log.SlogLevel())
			next.Log.Level = cfg.Log.Level
		}
		applied = append(applied, key)
	}
	a.running = &next
	a.warnMissing(cfg)
	a.log.Info("config reloaded", "applied", applied, "sources", len(cfg.Sources), "tokens", len(cfg.Query.Tokens))
	return nil
}

// ReloadFrom loads a config with load and applies it (Reload). A config
// that does not load changes nothing and is counted as a failed reload.
func (a *App) ReloadFrom(load func() (*config.Config, error)) error {
	cfg, err := load()
	if err != nil {
		a.countReload(err)
		return err
	}
	return a.Reload(cfg)
}

func (a *App) countReload(err error) {
	outcome := reloadApplied
	if err != nil {
		outcome = reloadFailed
	}
	a.obs.reloads.WithLabelValues(outcome).Inc()
}

// warnMissing names the keys whose emptiness makes a running tier refuse
// everything.
func (a *App) warnMissing(cfg *config.Config) {
	if a.tiers.Ingest && len(cfg.Sources) == 0 {
		a.log.Warn("sources is empty: ingest answers every callback 404 (unknown source)", "key", "sources")
	}
	if a.tiers.Query && len(cfg.Query.Tokens) == 0 {
		a.log.Warn("query.tokens is empty: the query API answers every request 401", "key", "query.tokens")
	}
}

// Wait blocks until ctx ends or a tier fails, then shuts down.
func (a *App) Wait(ctx context.Context) error {
	var err error
	select {
	case <-ctx.Done():
	case err = <-a.errs:
		a.log.Error("tier failed; shutting down", "err", err)
	}
	a.shutdown()
	return err
}

// Stop shuts down without waiting for the context (tests, embedding).
// It is safe to call once, after Start.
func (a *App) Stop() { a.shutdown() }

func (a *App) shutdown() {
	timeout := a.cfg.Ingest.ShutdownTimeout
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// 1. Stop accepting and drain in-flight requests: each one finishes its
	// Kafka wait and gets its answer.
	for _, srv := range a.servers {
		if err := srv.Shutdown(ctx); err != nil {
			a.log.Warn("http drain incomplete", "err", err)
		}
	}
	// 2. Consumers stop fetching; the batch in hand is stored and committed.
	if a.cancelConsumers != nil {
		a.cancelConsumers()
		a.consumed.Wait()
	}
	// 3. In reverse start order: audit flush, producer flush, stores, broker.
	for i := len(a.stops) - 1; i >= 0; i-- {
		a.stops[i]()
	}
	a.stops = nil
	a.log.Info("stopped")
}
