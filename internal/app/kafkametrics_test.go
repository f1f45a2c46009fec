package app

import (
	"net/http"
	"testing"
	"time"

	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/provider/signalwire"
)

// TestKafkaMetricsCountProducedRecords: /metrics counts the records the
// producer got acknowledged and the produce requests that carried them,
// so an operator sees how many callbacks share a round.
func TestKafkaMetricsCountProducedRecords(t *testing.T) {
	h := startHarness(t)
	u := h.ingest + "/hooks/sw-main"
	for _, status := range []string{"queued", "sent", "delivered"} {
		body := swStatusForm("SMmetrics0000000000000000000000001", status)
		req := formRequest(http.MethodPost, u, body)
		req.Header.Set(signalwire.HeaderSignature, signalwire.SignSchemeA(swKey, u, []byte(body)))
		if status, _ := do(t, req); status != http.StatusOK {
			t.Fatalf("callback: %d", status)
		}
	}
	// Ingest's three records, then the forwarder's copies.
	testinfra.Eventually(t, 30*time.Second, "six records counted", func() bool {
		return counterValue(t, h.app.metrics, "hookledger_kafka_produced_records_total", nil) >= 6
	})
	records := counterValue(t, h.app.metrics, "hookledger_kafka_produced_records_total", nil)
	rounds := counterValue(t, h.app.metrics, "hookledger_kafka_produce_requests_total", nil)
	if rounds < 1 || rounds > records {
		t.Fatalf("%v produce requests for %v records", rounds, records)
	}
}
