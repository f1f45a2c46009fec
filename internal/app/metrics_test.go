package app

import (
	"bytes"

	"errors"
	"io"
	"net/http"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/hookledger/hookledger/internal/config"
	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/storage"
)

// operatorFamilies are the metric families an operator needs (issue 8 #4),
// each with the labels it must carry. Every one must be in /metrics of a
// pipeline that handled real traffic.
var operatorFamilies = map[string][]string{
	"hookledger_build_info":                           {"version", "revision", "goversion"},
	"hookledger_ingest_requests_total":                {"source", "verdict", "reason"},
	"hookledger_ingest_unavailable_total":             nil,
	"hookledger_ingest_verify_duration_seconds":       {"provider", "outcome"},
	"hookledger_ingest_publish_seconds":               nil,
	"hookledger_kafka_publish_duration_seconds":       {"topic"},
	"hookledger_kafka_embedded_sync_duration_seconds": nil,
	"hookledger_kafka_consumer_lag_records":           {"group", "topic", "partition"},
	"hookledger_processor_stored_delay_seconds":       {"consumer"},
	"hookledger_processor_rows_stored_total":          {"table"},
	"hookledger_processor_dead_letters_total":         {"cause"},
	"hookledger_processor_message_events_total":       {"provider", "status"},
	"hookledger_clickhouse_insert_duration_seconds":   {"table"},
	"hookledger_http_requests_total":                  {"listener", "route", "code"},
	"hookledger_http_request_duration_seconds":        {"listener", "route"},
	"hookledger_config_reloads_total":                 {"outcome"},
}

// scrapeAfterTraffic runs a pipeline, sends it every row of the pipeline
// test (genuine and forged callbacks of every provider, unknown sources,
// bad methods), reads the query API, reloads the config once successfully
// and once with a file that does not load, waits until the history and the
// audit are stored, and returns /metrics as served.
func scrapeAfterTraffic(t *testing.T) (*harness, []byte) {
	h := startHarness(t)
	for _, row := range pipelineRows(t) {
		if status, body := do(t, row.build(h)); status != row.wantStatus {
			t.Fatalf("%s: status %d (%s), want %d", row.name, status, body, row.wantStatus)
		}
	}
	var m storage.Message
	testinfra.Eventually(t, 30*time.Second, "history stored", func() bool {
		return h.get("/v1/messages/SMa0000000000000000000000000000001", &m) == http.StatusOK
	})
	h.get("/v1/messages/SMnever-sent-0001", nil)
	h.getAs("wrong-token", "/v1/rejections", nil)
	if err := h.app.Reload(h.cfg); err != nil {
		t.Fatal(err)
	}
	if err := h.app.ReloadFrom(func() (*config.Config, error) { return nil, errors.New("test: unparsable file") }); err == nil {
		t.Fatal("a failed load reloaded")
	}
	// A consumer records its metrics after its insert returned, so a row
	// can be queryable a moment before; and the audit consumer stores on
	// its own, so the history being queryable says nothing about it.
	var text []byte
	testinfra.Eventually(t, 30*time.Second, "audit and history stored and measured", func() bool {
		text = scrapeMetrics(t, h)
		delay := parseFamilies(t, text)["hookledger_processor_stored_delay_seconds"]
		return sampleCount(delay, map[string]string{"consumer": "audit"}) > 0 &&
			sampleCount(delay, map[string]string{"consumer": "history"}) > 0
	})
	return h, text
}

func scrapeMetrics(t *testing.T, h *harness) []byte {
	t.Helper()
	resp, err := http.Get("http://" + h.app.Addr("query") + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	return text
}

func parseFamilies(t *testing.T, text []byte) map[string]*dto.MetricFamily {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// promtool runs `promtool args...` with stdin, skipping the test when
// promtool is not installed (Debian package prometheus; scripts/test.sh
// installs it when run as root).
func promtool(t *testing.T, stdin []byte, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (apt-get install prometheus; scripts/test.sh does it as root): skipping the Prometheus checks")
	}
	cmd := exec.Command(path, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestMetricsAfterRealTraffic: /metrics of a pipeline that handled real
// traffic passes `promtool check metrics` (Prometheus naming conventions),
// holds every family an operator needs with its labels, and no label value
// comes from request content (unknown source ids, ids in paths).
func TestMetricsAfterRealTraffic(t *testing.T) {
	h, text := scrapeAfterTraffic(t)
	families := parseFamilies(t, text)

	t.Run("families", func(t *testing.T) {
		for name, labels := range operatorFamilies {
			f := families[name]
			if f == nil || len(f.GetMetric()) == 0 {
				t.Errorf("%s missing from /metrics", name)
				continue
			}
			have := map[string]bool{}
			for _, lp := range f.GetMetric()[0].GetLabel() {
				have[lp.GetName()] = true
			}
			for _, l := range labels {
				if !have[l] {
					t.Errorf("%s has no label %q", name, l)
				}
			}
		}
		for _, c := range []struct {
			name   string
			labels map[string]string
		}{
			{"hookledger_ingest_verify_duration_seconds", map[string]string{"provider": "signalwire", "outcome": "accepted"}},
			{"hookledger_ingest_verify_duration_seconds", map[string]string{"provider": "signalwire", "outcome": "rejected"}},
			{"hookledger_ingest_verify_duration_seconds", map[string]string{"provider": "vonage", "outcome": "accepted"}},
			{"hookledger_ingest_verify_duration_seconds", map[string]string{"provider": "messagemedia", "outcome": "accepted"}},
			{"hookledger_processor_stored_delay_seconds", map[string]string{"consumer": "audit"}},
			{"hookledger_processor_stored_delay_seconds", map[string]string{"consumer": "history"}},
			{"hookledger_kafka_publish_duration_seconds", map[string]string{"topic": h.cfg.Kafka.RawTopic}},
			{"hookledger_kafka_publish_duration_seconds", map[string]string{"topic": h.cfg.Kafka.VerifiedTopic}},
			{"hookledger_clickhouse_insert_duration_seconds", map[string]string{"table": "callbacks"}},
			{"hookledger_clickhouse_insert_duration_seconds", map[string]string{"table": "message_events"}},
			{"hookledger_http_request_duration_seconds", map[string]string{"listener": "query", "route": "/v1/messages/:id"}},
		} {
			if n := sampleCount(families[c.name], c.labels); n == 0 {
				t.Errorf("%s%v observed nothing", c.name, c.labels)
			}
		}
		for _, c := range []struct {
			name   string
			labels map[string]string
		}{
			{"hookledger_processor_message_events_total", map[string]string{"provider": "signalwire", "status": "delivered"}},
			{"hookledger_http_requests_total", map[string]string{"listener": "query", "route": "/v1/messages/:id", "code": "404"}},
			{"hookledger_http_requests_total", map[string]string{"listener": "query", "route": "/v1/rejections", "code": "401"}},
			{"hookledger_config_reloads_total", map[string]string{"outcome": "applied"}},
			{"hookledger_config_reloads_total", map[string]string{"outcome": "failed"}},
		} {
			if v := counterValue(t, h.app.metrics, c.name, c.labels); v == 0 {
				t.Errorf("%s%v = 0", c.name, c.labels)
			}
		}
		lag := families["hookledger_kafka_consumer_lag_records"]
		groups := map[string]bool{}
		for _, m := range lag.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "group" {
					groups[lp.GetValue()] = true
				}
			}
		}
		if len(groups) != 3 {
			t.Errorf("lag reported for groups %v, want the three consumer groups", groups)
		}
	})

	t.Run("bounded labels", func(t *testing.T) {
		var values []string
		for _, f := range families {
			for _, m := range f.GetMetric() {
				for _, lp := range m.GetLabel() {
					values = append(values, lp.GetName()+"="+lp.GetValue())
				}
			}
		}
		sort.Strings(values)
		for _, v := range values {
			// "nowhere" is an unknown source id the traffic made up; message
			// ids and query strings come from requests too.
			if strings.Contains(v, "nowhere") || strings.Contains(v, "SMnever") || strings.Contains(v, "SMa000") || strings.Contains(v, "?") {
				t.Errorf("label value from request content: %s", v)
			}
		}
	})

	// Issue 8 #5: the alert rules and the dashboard query only what runs.
	t.Run("deploy rules and dashboard name exported metrics", func(t *testing.T) {
		checkDeployReferences(t, families)
	})

	t.Run("promtool check metrics", func(t *testing.T) {
		out := promtool(t, text, "check", "metrics")
		if strings.TrimSpace(out) != "" {
			t.Errorf("promtool check metrics:\n%s", out)
		}
	})
}

// sampleCount is the observation count of histogram series of f matching
// labels, summed.
func sampleCount(f *dto.MetricFamily, labels map[string]string) uint64 {
	var n uint64
metrics:
	for _, m := range f.GetMetric() {
		for _, lp := range m.GetLabel() {
			if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
				continue metrics
			}
		}
		n += m.GetHistogram().GetSampleCount()
	}
	return n
}
