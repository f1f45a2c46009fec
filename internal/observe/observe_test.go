package observe

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/hookledger/hookledger/internal/buildinfo"
)

func TestReadyzWaitsForEveryComponent(t *testing.T) {
	r := NewReadiness()
	r.Register("kafka")
	r.Register("consumer-audit")
	e := echo.New()
	Mount(e, r, Registry())
	get := func(path string) (int, string) {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w.Code, w.Body.String()
	}
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "consumer-audit,kafka") {
		t.Fatalf("nothing ready: %d %s", code, body)
	}
	r.Set("kafka", true)
	if code, _ := get("/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("half ready: %d", code)
	}
	r.Set("consumer-audit", true)
	if code, _ := get("/readyz"); code != http.StatusOK {
		t.Fatalf("all ready: %d", code)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Fatalf("healthz: %d", code)
	}
	if code, body := get("/metrics"); code != http.StatusOK || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("metrics: %d", code)
	}
}

func TestJSONErrorHandler(t *testing.T) {
	e := echo.New()
	e.HTTPErrorHandler = JSONErrorHandler
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/nowhere", nil))
	var body map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != http.StatusNotFound || body["error"] == "" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

func TestRequestLogNamesTheRouteNotTheQuery(t *testing.T) {
	var buf strings.Builder
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := echo.New()
	e.HTTPErrorHandler = JSONErrorHandler
	e.Use(RequestLog(log, "ingest"))
	e.POST("/hooks/:source", func(c echo.Context) error { return c.JSON(http.StatusUnauthorized, nil) })
	e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/hooks/sw?sig=secretish", nil))
	e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/missing", nil))
	out := buf.String()
	if !strings.Contains(out, "route=/hooks/:source") || !strings.Contains(out, "status=401") || !strings.Contains(out, "source=sw") {
		t.Errorf("request line missing fields: %s", out)
	}
	if !strings.Contains(out, "status=404") {
		t.Errorf("error status not logged: %s", out)
	}
	if strings.Contains(out, "secretish") {
		t.Errorf("query string logged: %s", out)
	}
}

func TestMetricsNameTheBuild(t *testing.T) {
	e := echo.New()
	Mount(e, NewReadiness(), Registry())
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	info := buildinfo.Read()
	want := `hookledger_build_info{goversion="` + info.GoVersion + `",revision="` + info.Revision + `",version="` + info.Version + `"} 1`
	if !strings.Contains(w.Body.String(), want) {
		t.Fatalf("/metrics lacks %s", want)
	}
}
