package ingest

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookledger/hookledger/internal/kafkalog"
	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/provider/signalwire"
)

// TestBrokerRestart: while the broker is down every callback is answered
// 503 (never 2xx); once it is back on the same log, callbacks are accepted
// again, and every callback that was answered 200, before or after, is in
// the raw topic as an accepted record for the forwarder.
func TestBrokerRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kafka")
	addr := testinfra.FreeAddr(t)
	start := func() *kafkalog.Embedded {
		emb, err := kafkalog.StartEmbedded(kafkalog.EmbeddedOptions{Dir: dir, Addr: addr, Partitions: 1, SyncWrites: true})
		if err != nil {
			t.Fatal(err)
		}
		return emb
	}
	emb := start()
	brokers := []string{addr}
	s := startServer(t, brokers, Options{AckTimeout: 2 * time.Second}, openGuard(t))
	ensureTopics(t, brokers, s.raw, s.verified)

	accepted := map[string]bool{}
	n := 0
	send := func() int {
		n++
		body := swStatusBody(n)
		u := s.url + "/hooks/sw"
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(signalwire.HeaderSignature, signalwire.SignSchemeA(testSWKey, u, []byte(body)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			accepted[sidOf(n)] = true
		}
		return resp.StatusCode
	}
	for i := 0; i < 5; i++ {
		if status := send(); status != http.StatusOK {
			t.Fatalf("before the restart: %d", status)
		}
	}
	emb.Close()
	for i := 0; i < 3; i++ {
		if status := send(); status != http.StatusServiceUnavailable {
			t.Fatalf("broker down: %d, want 503", status)
		}
	}
	emb = start()
	defer emb.Close()
	deadline := time.Now().Add(60 * time.Second)
	for send() != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("ingest did not recover after the broker came back")
		}
		time.Sleep(200 * time.Millisecond)
	}
	for i := 0; i < 5; i++ {
		if status := send(); status != http.StatusOK {
			t.Fatalf("after recovery: %d", status)
		}
	}
	stored := map[string]bool{}
	for _, rec := range toForward(t, brokers, s.raw) {
		stored[sidInBody(string(rec.Body))] = true
	}
	for sid := range accepted {
		if !stored[sid] {
			t.Errorf("%s was answered 200 but is not in the raw topic as accepted", sid)
		}
	}
	if len(accepted) < 11 {
		t.Fatalf("only %d callbacks accepted", len(accepted))
	}
}

func sidOf(n int) string {
	return "SM" + strings.Repeat("0", 30) + string(rune('A'+n/26)) + string(rune('a'+n%26))
}

func swStatusBody(n int) string {
	return "MessageSid=" + sidOf(n) + "&MessageStatus=delivered&From=%2B15550001111&To=%2B15550002222"
}

func sidInBody(body string) string {
	v, _, _ := strings.Cut(strings.TrimPrefix(body, "MessageSid="), "&")
	return v
}
