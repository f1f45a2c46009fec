package ingest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/provider/signalwire"
	"github.com/hookledger/hookledger/schema"
)

// partialPost opens a TCP connection and sends a forged POST declaring a
// body of size bytes, of which only the first KiB is sent: the server holds
// the request, mid-body, until finish sends the rest. It returns once the
// server answered 100 Continue, so the request is inside the handler,
// holding what its body was granted.
type partialPost struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	size int
}

func startPartialPost(t *testing.T, base string, size int) *partialPost {
	t.Helper()
	host := strings.TrimPrefix(base, "http://")
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "POST /hooks/sw HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
		"X-SignalWire-Signature: %s\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", host, strings.Repeat("ab", 20), size)
	p := &partialPost{t: t, conn: conn, r: bufio.NewReader(conn), size: size}
	if line, _ := p.r.ReadString('\n'); !strings.HasPrefix(line, "HTTP/1.1 100 ") {
		t.Fatalf("partial post: %q, want 100 Continue", line)
	}
	_, _ = p.r.ReadString('\n')
	io.WriteString(conn, "MessageSid=SMbig&Body="+strings.Repeat("x", 1000))
	return p
}

// finish sends the rest of the body and returns the status.
func (p *partialPost) finish() int {
	sent := len("MessageSid=SMbig&Body=") + 1000
	io.WriteString(p.conn, strings.Repeat("x", p.size-sent))
	resp, err := http.ReadResponse(p.r, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func genuineSW(t *testing.T, base string) (int, http.Header) {
	t.Helper()
	u := base + "/hooks/sw"
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(swStatusForm))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(signalwire.HeaderSignature, signalwire.SignSchemeA(testSWKey, u, []byte(swStatusForm)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

func forgedSW(t *testing.T, base string, size int) (int, http.Header) {
	t.Helper()
	body := "MessageSid=SMforged&Body=" + strings.Repeat("y", size)
	req, _ := http.NewRequest(http.MethodPost, base+"/hooks/sw", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(signalwire.HeaderSignature, strings.Repeat("ab", 20))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// TestBodyMemoryIsBounded: large forged bodies held mid-read fill the
// large-body share of max_body_memory; the next large one is answered 503
// with Retry-After before its body is read, while a genuine (small)
// callback is still accepted from the share kept for small bodies.
func TestBodyMemoryIsBounded(t *testing.T) {
	brokers := testinfra.KafkaBrokers(t)
	const mib = 1 << 20
	s := startServer(t, brokers, Options{MaxBodyBytes: mib, MaxBodyMemory: 3 * mib, LargeBodySlots: 10}, openGuard(t))
	ensureTopics(t, brokers, s.raw, s.verified)
	held := []*partialPost{startPartialPost(t, s.url, mib), startPartialPost(t, s.url, mib)} // 2 of the 2.25 MiB large bodies may hold

	status, header := forgedSW(t, s.url, 300<<10)
	if status != http.StatusServiceUnavailable || header.Get("Retry-After") == "" {
		t.Fatalf("large body over the budget: %d (Retry-After %q), want 503 with Retry-After", status, header.Get("Retry-After"))
	}
	if status, _ := genuineSW(t, s.url); status != http.StatusOK {
		t.Fatalf("genuine callback while large bodies fill the budget: %d, want 200", status)
	}
	if got := testutil.ToFloat64(s.metrics.shed.WithLabelValues("body_memory")); got != 1 {
		t.Errorf("shed body_memory = %v, want 1", got)
	}
	if got := testutil.ToFloat64(s.metrics.bodyBytes); got != 2*mib {
		t.Errorf("body bytes in flight = %v, want the two held bodies", got)
	}
	for _, p := range held {
		if got := p.finish(); got != http.StatusUnauthorized {
			t.Errorf("held forged request: %d, want 401", got)
		}
	}
	if got := testutil.ToFloat64(s.metrics.bodyBytes); got != 0 {
		t.Errorf("body bytes in flight after the answers = %v, want 0", got)
	}
}

// TestLargeBodiesTakeTurns: with the only large-body slot held, a genuine
// small callback is served at once; another large body waits for the slot
// and, the slot staying busy, is answered 503.
func TestLargeBodiesTakeTurns(t *testing.T) {
	brokers := testinfra.KafkaBrokers(t)
	s := startServer(t, brokers, Options{MaxBodyBytes: 1 << 20, LargeBodySlots: 1}, openGuard(t))
	ensureTopics(t, brokers, s.raw, s.verified)
	held := startPartialPost(t, s.url, 500<<10)
	if status, _ := genuineSW(t, s.url); status != http.StatusOK {
		t.Fatalf("genuine callback while a large body is read: %d", status)
	}
	if status, _ := forgedSW(t, s.url, 200<<10); status != http.StatusServiceUnavailable {
		t.Fatalf("second large body with the slot busy: %d, want 503", status)
	}
	if got := testutil.ToFloat64(s.metrics.shed.WithLabelValues("large_body_busy")); got != 1 {
		t.Errorf("shed large_body_busy = %v", got)
	}
	if got := held.finish(); got != http.StatusUnauthorized {
		t.Errorf("held request: %d, want 401", got)
	}
	if status, _ := forgedSW(t, s.url, 200<<10); status != http.StatusUnauthorized {
		t.Errorf("large body with the slot free again: %d, want 401", status)
	}
}

// TestRejectedBodiesAreAuditedBounded: the audit record of a forged large
// body keeps a prefix and the size received; chunked bodies (no
// Content-Length) are read the same way.
func TestRejectedBodiesAreAuditedBounded(t *testing.T) {
	brokers := testinfra.KafkaBrokers(t)
	s := startServer(t, brokers, Options{MaxBodyBytes: 1 << 20, AuditRejectedBody: 1000}, openGuard(t))
	ensureTopics(t, brokers, s.raw, s.verified)
	const size = 300 << 10
	body := "MessageSid=SMforged&Body=" + strings.Repeat("y", size)
	want := map[string]bool{}
	for _, chunked := range []bool{false, true} {
		var r io.Reader = strings.NewReader(body)
		if chunked {
			r = io.MultiReader(r) // hides the length: sent chunked
		}
		req, _ := http.NewRequest(http.MethodPost, s.url+"/hooks/sw", r)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(signalwire.HeaderSignature, strings.Repeat("ab", 20))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("chunked %v: %d", chunked, resp.StatusCode)
		}
		want[resp.Header.Get(HeaderEventID)] = true
	}
	s.Stop()
	for _, rec := range records(t, brokers, s.raw) {
		if !want[rec.ID.String()] {
			continue
		}
		delete(want, rec.ID.String())
		if rec.Reason != schema.ReasonBadSignature || len(rec.Body) != 1000 || rec.BodyBytes != len(body) || !rec.BodyTruncated ||
			string(rec.Body) != body[:1000] {
			t.Errorf("audit record: reason %s, body %d bytes of %d, truncated %v", rec.Reason, len(rec.Body), rec.BodyBytes, rec.BodyTruncated)
		}
	}
	if len(want) > 0 {
		t.Errorf("no audit record for %v", want)
	}
}

// TestAuditQueueIsBoundedInBytes: while Kafka does not take audit records,
// queued records hold at most the queue's bytes; the rest are dropped and
// counted. The publisher is a stand-in that holds every record until
// released: a Kafka slower than the flood, which a real broker does not
// produce on demand.
func TestAuditQueueIsBoundedInBytes(t *testing.T) {
	release := make(chan struct{})
	published := 0
	m := newMetrics(prometheus.NewRegistry())
	a := newAuditor(func(ctx context.Context, rec *schema.Record) error {
		<-release
		published++
		return nil
	}, 0, 0, 40<<10, m, slog.New(slog.NewTextHandler(io.Discard, nil)))
	a.start(1)
	for i := 0; i < 20; i++ {
		a.enqueue(&schema.Record{ID: uuid.New(), Body: make([]byte, 10<<10)}, "sw", "192.0.2.1")
	}
	dropped := testutil.ToFloat64(m.auditDropped.WithLabelValues("queue_bytes"))
	if queued := testutil.ToFloat64(m.auditBytes); queued > 40<<10 || dropped != 17 {
		t.Errorf("queued %v bytes, dropped %v; want at most 40 KiB queued (3 records) and 17 dropped", queued, dropped)
	}
	close(release)
	a.stop()
	if published != 3 || testutil.ToFloat64(m.auditBytes) != 0 {
		t.Errorf("published %d, queue bytes after %v", published, testutil.ToFloat64(m.auditBytes))
	}
}

func TestBodyLimiterReads(t *testing.T) {
	const max = 200 << 10
	payload := strings.Repeat("MessageSid=SM1&Body=0123456789&", max/31+1)
	cases := []struct {
		name         string
		size         int
		declared     int64 // -1: chunked
		wantLen      int
		wantTooLarge bool
		wantErr      error
	}{
		{"declared, small", 100, 100, 100, false, nil},
		{"declared, large", max, max, max, false, nil},
		{"declared, body shorter than declared", 100, 150, 100, false, io.ErrUnexpectedEOF},
		{"chunked, small", 100, -1, 100, false, nil},
		{"chunked, exactly max", max, -1, max, false, nil},
		{"chunked, one byte over", max + 1, -1, max, true, nil},
		{"chunked, far over", len(payload), -1, max, true, nil},
	}
	var used int64
	l := newBodyLimiter(10<<20, 1, func(u int64) { used = u })
	for _, tc := range cases {
		for _, reader := range []func(io.Reader) io.Reader{
			func(r io.Reader) io.Reader { return r }, iotest.OneByteReader, iotest.HalfReader,
		} {
			r := reader(strings.NewReader(payload[:tc.size]))
			got, held, tooLarge, err := l.read(context.Background(), r, tc.declared, max)
			if len(got) != tc.wantLen || tooLarge != tc.wantTooLarge || !errors.Is(err, tc.wantErr) || string(got) != payload[:len(got)] {
				t.Errorf("%s: %d bytes, tooLarge %v, err %v; want %d, %v, %v", tc.name, len(got), tooLarge, err, tc.wantLen, tc.wantTooLarge, tc.wantErr)
			}
			if used < int64(len(got)) {
				t.Errorf("%s: %d bytes held but only %d granted", tc.name, len(got), used)
			}
			held.release()
			if used != 0 {
				t.Errorf("%s: %d bytes still granted after release", tc.name, used)
			}
		}
	}
}

// TestAuditAfterStopIsDropped: a rejection answered after the audit was
// stopped (a handler still running when the HTTP drain timed out) is
// dropped and counted; it used to send on the closed queue and panic.
func TestAuditAfterStopIsDropped(t *testing.T) {
	m := newMetrics(prometheus.NewRegistry())
	a := newAuditor(func(context.Context, *schema.Record) error { return nil }, 0, 0, 1<<20, m, slog.New(slog.NewTextHandler(io.Discard, nil)))
	a.start(1)
	a.stop()
	a.enqueue(&schema.Record{ID: uuid.New()}, "sw", "192.0.2.1")
	if got := testutil.ToFloat64(m.auditDropped.WithLabelValues("stopped")); got != 1 {
		t.Errorf("audit records dropped after stop = %v, want 1", got)
	}
	if q := testutil.ToFloat64(m.auditBytes); q != 0 {
		t.Errorf("queue bytes after stop = %v, want 0", q)
	}
}
