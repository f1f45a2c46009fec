package ingest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/provider/signalwire"
	"github.com/hookledger/hookledger/schema"
)

// TestForgedRequestWithHugeHeadersIsAudited: the audit record of a forged
// request whose headers alone outgrow any Kafka message (200 KB of '<',
// six bytes each once JSON-escaped) is cut to fit and stored, saying
// so, instead of failing to publish and leaving no trace.
func TestForgedRequestWithHugeHeadersIsAudited(t *testing.T) {
	brokers := testinfra.KafkaBrokers(t)
	s := startServer(t, brokers, Options{MaxBodyBytes: 1000, MaxRecordBytes: schema.MaxRecordBytes(1000), AuditBodyPrefix: 100}, openGuard(t))
	ensureTopics(t, brokers, s.raw, s.verified)
	req, _ := http.NewRequest(http.MethodPost, s.url+"/hooks/sw", strings.NewReader(swStatusForm))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(signalwire.HeaderSignature, strings.Repeat("ab", 20))
	req.Header.Set("X-Pad", strings.Repeat("<", 200_000))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var rec *schema.Record
	testinfra.Eventually(t, 30*time.Second, "audit record", func() bool {
		recs := records(t, brokers, s.raw)
		if len(recs) == 1 {
			rec = recs[0]
		}
		return rec != nil
	})
	if rec.Reason != schema.ReasonBadSignature || !strings.Contains(rec.Detail, "shortened") ||
		len(rec.Headers.Get("X-Pad")) > fitHeaderBytes || string(rec.Body) != swStatusForm[:min(len(swStatusForm), 100)] {
		t.Errorf("audit record: reason %s, detail %q, X-Pad %d bytes, body %q", rec.Reason, rec.Detail, len(rec.Headers.Get("X-Pad")), rec.Body)
	}
}
