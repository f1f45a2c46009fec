package observe

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestHTTPMetricsLabelRoutesNotPaths: requests are counted under their
// route pattern with the status the client got (a handler's error
// included); a path no route matches is "unmatched", so made-up paths and
// ids never become label values.
func TestHTTPMetricsLabelRoutesNotPaths(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewHTTPMetrics(reg)
	e := echo.New()
	e.HTTPErrorHandler = JSONErrorHandler
	e.Use(m.Middleware("query"))
	e.GET("/v1/messages/:id", func(c echo.Context) error {
		if c.Param("id") == "missing" {
			return echo.NewHTTPError(http.StatusNotFound, "no such message")
		}
		return c.String(http.StatusOK, "ok")
	})
	for _, path := range []string{"/v1/messages/SM1", "/v1/messages/SM2", "/v1/messages/missing", "/secret-token-in-path/x", "/v1/other"} {
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	for _, c := range []struct {
		route, code string
		want        float64
	}{
		{"/v1/messages/:id", "200", 2},
		{"/v1/messages/:id", "404", 1},
		{routeUnmatched, "404", 2},
	} {
		if got := testutil.ToFloat64(m.requests.WithLabelValues("query", c.route, c.code)); got != c.want {
			t.Errorf("requests{route=%q,code=%s} = %v, want %v", c.route, c.code, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.requests); n != 3 {
		t.Errorf("%d request series, want 3 (route and code only)", n)
	}
	if n := testutil.CollectAndCount(m.duration); n != 2 {
		t.Errorf("%d duration series, want 2", n)
	}
}
