package app

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/hookledger/hookledger/internal/kafkalog"
	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/internal/tracing"
	"github.com/hookledger/hookledger/provider/signalwire"
	"github.com/hookledger/hookledger/storage"
)

// collectedSpan is one span an OTLP/HTTP export carried.
type collectedSpan struct {
	name, traceID, spanID, parentID string
	service                         string
}

// otlpCollector is a stand-in OpenTelemetry collector: an HTTP server
// that decodes OTLP/HTTP protobuf trace exports, as a real collector's
// /v1/traces does, and keeps the spans.
type otlpCollector struct {
	mu    sync.Mutex
	spans []collectedSpan
}

func (c *otlpCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want POST /v1/traces application/x-protobuf", http.StatusBadRequest)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	var req coltrace.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(b, &req)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	for _, rs := range req.GetResourceSpans() {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				c.spans = append(c.spans, collectedSpan{name: s.GetName(), traceID: hex.EncodeToString(s.GetTraceId()),
					spanID: hex.EncodeToString(s.GetSpanId()), parentID: hex.EncodeToString(s.GetParentSpanId()), service: service})
			}
		}
	}
	c.mu.Unlock()
	out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (c *otlpCollector) named(name string) []collectedSpan {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []collectedSpan
	for _, s := range c.spans {
		if s.name == name {
			out = append(out, s)
		}
	}
	return out
}

// TestTracingFollowsOneCallback (issue 8 #6): with the standard OTEL_*
// environment pointing at a collector, one callback yields an ingest span
// and, in the same trace as its children, the processor's audit and
// history spans; the trace context rides in the record's Kafka headers
// and the forwarder carries it into the verified topic.
func TestTracingFollowsOneCallback(t *testing.T) {
	collector := &otlpCollector{}
	srv := httptest.NewServer(collector)
	defer srv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50") // ms: export soon
	t.Setenv("OTEL_SERVICE_NAME", "hookledger-test")
	tp, shutdown, err := tracing.Setup(context.Background(), os.LookupEnv, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(context.Background())
	h := startHarness(t, WithTracerProvider(tp))

	const sid = "SMtrace000000000000000000000000001"
	u, body := h.ingest+"/hooks/sw-main", swStatusForm(sid, "delivered")
	req := formRequest(http.MethodPost, u, body)
	req.Header.Set(signalwire.HeaderSignature, signalwire.SignSchemeA(swKey, u, []byte(body)))
	if status, b := do(t, req); status != http.StatusOK {
		t.Fatalf("callback: %d %s", status, b)
	}
	var m storage.Message
	testinfra.Eventually(t, 30*time.Second, "message stored", func() bool { return h.get("/v1/messages/"+sid, &m) == http.StatusOK })

	var ingest collectedSpan
	testinfra.Eventually(t, 30*time.Second, "spans exported", func() bool {
		in := collector.named("hookledger.ingest")
		if len(in) != 1 {
			return false
		}
		ingest = in[0]
		return len(collector.named("hookledger.process history")) > 0 && len(collector.named("hookledger.process audit")) > 0
	})
	if ingest.service != "hookledger-test" {
		t.Errorf("service.name %q, want OTEL_SERVICE_NAME", ingest.service)
	}
	for _, name := range []string{"hookledger.process audit", "hookledger.process history"} {
		for _, s := range collector.named(name) {
			if s.traceID != ingest.traceID || s.parentID != ingest.spanID {
				t.Errorf("%s in trace %s under %s, want trace %s under the ingest span %s", name, s.traceID, s.parentID, ingest.traceID, ingest.spanID)
			}
		}
	}
	if len(collector.named("hookledger.store history")) == 0 {
		t.Error("no batch span for the history insert")
	}

	// The context crossed Kafka as W3C headers, copied by the forwarder.
	carried := 0
	_ = kafkalog.Scan(context.Background(), h.brokers, h.cfg.Kafka.VerifiedTopic, func(f kafkalog.Fetched) error {
		if sc := tracing.Extract(f.Headers); sc.IsValid() && sc.TraceID().String() == ingest.traceID {
			carried++
		}
		return nil
	})
	if carried != 1 {
		t.Errorf("%d verified records carry the callback's traceparent, want 1", carried)
	}
}
