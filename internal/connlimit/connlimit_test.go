package connlimit

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// server serves a plain handler over real TCP on 127.0.0.1 through a
// limited listener. GET /block holds its request until release is closed.
type server struct {
	addr    string
	ln      *Listener
	metrics *Metrics
	entered chan struct{}
	release chan struct{}
}

func startServer(t *testing.T, limits Limits) *server {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{metrics: NewMetrics(prometheus.NewRegistry()), entered: make(chan struct{}, 100), release: make(chan struct{})}
	s.ln = Wrap(raw, "test", limits, s.metrics)
	s.addr = raw.Addr().String()
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/block" {
				s.entered <- struct{}{}
				<-s.release
			}
			io.WriteString(w, "ok")
		}),
		ConnState: s.ln.ConnState, ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = srv.Serve(s.ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// client is one TCP connection from a chosen loopback address.
type client struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func (s *server) dial(t *testing.T, from string) *client {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{t: t, conn: c, r: bufio.NewReader(c)}
}

// send writes a keep-alive GET.
func (c *client) send(path string) {
	fmt.Fprintf(c.conn, "GET %s HTTP/1.1\r\nHost: test\r\n\r\n", path)
}

// get sends a GET and returns the status, or 0 when the server closed the
// connection instead of answering.
func (c *client) get(path string) int {
	c.send(path)
	return c.status()
}

func (c *client) status() int {
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// waitIdle waits until n connections are idle: the server marks a
// connection idle only after the client may have read its answer.
func (s *server) waitIdle(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.ln.mu.Lock()
		idle := s.ln.idle.Len()
		s.ln.mu.Unlock()
		if idle == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections idle, want %d", idle, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func (s *server) rejected(cause string) float64 {
	return testutil.ToFloat64(s.metrics.rejected.WithLabelValues("test", cause))
}

func (s *server) open() float64 { return testutil.ToFloat64(s.metrics.open.WithLabelValues("test")) }

// TestPerAddressLimit: one address holding its share of idle keep-alive
// connections is refused another, while another address is served.
func TestPerAddressLimit(t *testing.T) {
	s := startServer(t, Limits{Max: 100, MaxPerAddr: 3})
	for i := 0; i < 3; i++ {
		if got := s.dial(t, "127.0.0.2").get("/"); got != http.StatusOK {
			t.Fatalf("connection %d: %d", i, got)
		}
	}
	if got := s.dial(t, "127.0.0.2").get("/"); got != 0 {
		t.Fatalf("4th connection from one address answered %d, want it closed", got)
	}
	if got := s.dial(t, "127.0.0.3").get("/"); got != http.StatusOK {
		t.Fatalf("another address: %d", got)
	}
	if s.rejected(CausePerAddress) != 1 || s.rejected(CauseTotal) != 0 || s.open() != 4 {
		t.Errorf("rejected per_address %v, total %v, open %v; want 1, 0, 4", s.rejected(CausePerAddress), s.rejected(CauseTotal), s.open())
	}
}

// TestIdleConnectionsMakeRoom: at the total limit, a new connection takes
// the place of the one idle longest (keep-alive or silent since accept).
func TestIdleConnectionsMakeRoom(t *testing.T) {
	s := startServer(t, Limits{Max: 3})
	oldest := s.dial(t, "127.0.0.2")
	if oldest.get("/") != http.StatusOK {
		t.Fatal("first connection not served")
	}
	s.waitIdle(t, 1)
	s.dial(t, "127.0.0.3") // never sends a request
	s.waitIdle(t, 2)
	recent := s.dial(t, "127.0.0.4")
	if recent.get("/") != http.StatusOK {
		t.Fatal("third connection not served")
	}
	s.waitIdle(t, 3)
	if got := s.dial(t, "127.0.0.5").get("/"); got != http.StatusOK {
		t.Fatalf("new connection at the limit: %d, want 200 after an idle one is closed", got)
	}
	if got := oldest.get("/"); got != 0 {
		t.Errorf("the longest idle connection answered %d, want it closed", got)
	}
	if got := recent.get("/"); got != http.StatusOK {
		t.Errorf("a recently idle connection: %d, want it kept", got)
	}
	if n := testutil.ToFloat64(s.metrics.evicted.WithLabelValues("test")); n != 1 || s.rejected(CauseTotal) != 0 {
		t.Errorf("idle closed %v, rejected %v; want 1, 0", n, s.rejected(CauseTotal))
	}
}

// TestBusyConnectionsAreNotClosed: with every connection inside a request,
// a new one is refused and counted, and the busy ones finish.
func TestBusyConnectionsAreNotClosed(t *testing.T) {
	s := startServer(t, Limits{Max: 2})
	busy := []*client{s.dial(t, "127.0.0.2"), s.dial(t, "127.0.0.3")}
	for _, c := range busy {
		c.send("/block")
		<-s.entered
	}
	if got := s.dial(t, "127.0.0.4").get("/"); got != 0 {
		t.Fatalf("connection over the limit answered %d, want it closed", got)
	}
	close(s.release)
	for i, c := range busy {
		if got := c.status(); got != http.StatusOK {
			t.Errorf("busy connection %d: %d", i, got)
		}
	}
	if s.rejected(CauseTotal) != 1 {
		t.Errorf("rejected total = %v, want 1", s.rejected(CauseTotal))
	}
}

func TestAutoLimits(t *testing.T) {
	for _, tc := range []struct{ files, listeners, max, perAddr int }{
		{20000, 2, 7500, 937},    // the trial's machine: 5000 kept for the engines
		{1024, 2, 256, 32},       // a default soft limit: half kept
		{1 << 20, 2, 8192, 1024}, // a container's limit: capped by memory
		{100, 1, 64, 16},         // tiny: still usable
		{0, 3, 8192, 1024},       // unknown
		{20000, 1, 8192, 1024},   // one listener: capped
		{6000, 3, (6000 - 2048) / 3, 164},
	} {
		max := AutoMax(tc.files, tc.listeners)
		if max != tc.max || AutoPerAddr(max) != tc.perAddr {
			t.Errorf("files %d, %d listeners: max %d, per address %d; want %d, %d",
				tc.files, tc.listeners, max, AutoPerAddr(max), tc.max, tc.perAddr)
		}
	}
}
