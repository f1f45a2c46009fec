package observe

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
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
