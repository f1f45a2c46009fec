package observe

import (
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// routeUnmatched is the route label of a request no route matched.
const routeUnmatched = "unmatched"

// HTTPMetrics count the requests of every listener of a process by route
// pattern and status, and time them.
//
// The route label is Echo's route pattern (c.Path(): "/v1/messages/:id"),
// never the request path, which carries ids and, under /hooks, whatever a
// client makes up; Echo sets it only from registered routes, so the label
// values are bounded by the route table.
type HTTPMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewHTTPMetrics registers the request metrics with reg.
func NewHTTPMetrics(reg prometheus.Registerer) *HTTPMetrics {
	m := &HTTPMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookledger_http_requests_total",
			Help: "HTTP requests answered, by listener, route pattern (unmatched: no route) and status code.",
		}, []string{"listener", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hookledger_http_request_duration_seconds",
			Help:    "Time from routing a request to its answer, by listener and route pattern.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16), // 0.5 ms to ~16 s
		}, []string{"listener", "route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// Middleware measures the requests of one listener. It answers a
// handler's error itself (Echo's error handler), so the status it counts
// is the one the client got; mount it outermost.
func (m *HTTPMetrics) Middleware(listener string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := next(c); err != nil {
				c.Error(err)
			}
			route := c.Path()
			if route == "" {
				route = routeUnmatched
			}
			m.requests.WithLabelValues(listener, route, strconv.Itoa(c.Response().Status)).Inc()
			m.duration.WithLabelValues(listener, route).Observe(time.Since(start).Seconds())
			return nil
		}
	}
}
