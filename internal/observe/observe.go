// Package observe holds what both HTTP tiers expose for operators: the
// readiness gate behind /readyz, /healthz, and the Prometheus registry
// behind /metrics.
package observe

import (
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hookledger/hookledger/internal/buildinfo"
)

// Readiness is ready once every registered component has reported ready.
// Components register before they start, so a listener that comes up first
// reports not-ready until the slowest component is done.
type Readiness struct {
	mu    sync.Mutex
	ready map[string]bool
}

// NewReadiness returns an empty gate (ready, vacuously, until something
// registers).
func NewReadiness() *Readiness { return &Readiness{ready: map[string]bool{}} }

// Register adds a component that is not ready yet.
func (r *Readiness) Register(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ready[name] = false
}

// Set reports a component's state.
func (r *Readiness) Set(name string, ready bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ready[name] = ready
}

// Pending lists components not ready yet, sorted.
func (r *Readiness) Pending() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for name, ok := range r.ready {
		if !ok {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Registry is a fresh Prometheus registry with the Go and process
// collectors and hookledger_build_info; each app has its own, so tests
// never share metrics.
func Registry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfoGauge(buildinfo.Read()))
	return reg
}

// buildInfoGauge is hookledger_build_info{version,revision,goversion} 1:
// what runs, for dashboards and alerts on mixed versions.
func buildInfoGauge(info buildinfo.Info) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "hookledger_build_info",
		Help: "Always 1; the labels say which build runs (module version, VCS revision, Go version).",
		ConstLabels: prometheus.Labels{
			"version": info.Version, "revision": info.Revision, "goversion": info.GoVersion,
		},
	})
	g.Set(1)
	return g
}

// Mount adds /healthz, /readyz and /metrics to e.
func Mount(e *echo.Echo, ready *Readiness, reg *prometheus.Registry) {
	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	e.GET("/readyz", func(c echo.Context) error {
		if pending := ready.Pending(); len(pending) > 0 {
			return c.JSON(http.StatusServiceUnavailable, map[string]string{
				"status": "starting", "waiting_for": strings.Join(pending, ","),
			})
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
	})
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
}

// RequestLog logs one line per request at debug level. It logs the route
// pattern, never the raw URL: query strings can carry signatures and
// message content.
func RequestLog(log *slog.Logger, tier string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !log.Enabled(c.Request().Context(), slog.LevelDebug) {
				return next(c)
			}
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err) // so the logged status is the one answered
			}
			log.Debug("request", "tier", tier, "method", c.Request().Method, "route", c.Path(),
				"source", c.Param("source"), "status", c.Response().Status,
				"duration_ms", float64(time.Since(start).Microseconds())/1000, "remote", c.Request().RemoteAddr)
			return nil
		}
	}
}

// JSONErrorHandler answers every Echo error as {"error": "..."}.
func JSONErrorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code, msg := http.StatusInternalServerError, "internal error"
	if he, ok := err.(*echo.HTTPError); ok {
		code = he.Code
		if m, ok := he.Message.(string); ok {
			msg = m
		} else {
			msg = strings.ToLower(http.StatusText(code))
		}
	}
	_ = c.JSON(code, map[string]string{"error": msg})
}
