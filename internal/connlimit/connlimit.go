// Package connlimit bounds the connections an HTTP listener holds, in total
// and per client address, so idle or slow clients cannot use up the
// process's file descriptors, which the storage engines and Kafka need too.
//
// A connection over a limit is accepted and closed at once (the client sees
// the connection closed rather than a hang). Before refusing one for the
// total limit, the listener closes the connection idle the longest (a
// keep-alive connection between requests, or one that has not sent its
// first request yet): idle connections hold descriptors but no work, so a
// new client with a request to make goes first.
package connlimit

import (
	"container/list"
	"net"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Causes of a refused connection, the cause label of
// hookledger_http_connections_rejected_total.
const (
	CauseTotal      = "total"       // the listener's max_connections, with no idle connection to close
	CausePerAddress = "per_address" // the client address's max_connections_per_address
)

// Metrics are the connection metrics of every listener of a process,
// labelled by listener name.
type Metrics struct {
	open     *prometheus.GaugeVec
	rejected *prometheus.CounterVec
	evicted  *prometheus.CounterVec
}

// NewMetrics registers the connection metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hookledger_http_connections_open",
			Help: "HTTP connections currently open, by listener.",
		}, []string{"listener"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookledger_http_connections_rejected_total",
			Help: "HTTP connections closed on accept because a limit was reached, by listener and cause (total, per_address).",
		}, []string{"listener", "cause"}),
		evicted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookledger_http_connections_idle_closed_total",
			Help: "Idle HTTP connections closed to make room for a new one at max_connections, by listener.",
		}, []string{"listener"}),
	}
	reg.MustRegister(m.open, m.rejected, m.evicted)
	return m
}

// Limits are one listener's bounds; a zero field is no limit.
type Limits struct {
	Max        int // open connections in total
	MaxPerAddr int // open connections per client IP address
}

// Listener is a net.Listener that enforces Limits. Its ConnState method
// must be the http.Server's ConnState hook, so it knows which connections
// are idle.
//
// Invariant: open counts every connection Accept returned and whose Close
// has not been called yet; idle holds exactly those of them in StateNew or
// StateIdle, oldest first.
type Listener struct {
	net.Listener
	limits Limits
	open   prometheus.Gauge
	reject map[string]prometheus.Counter
	evict  prometheus.Counter

	mu     sync.Mutex
	count  int
	byAddr map[string]int
	idle   *list.List // of *conn
}

// Wrap bounds ln's connections; name is the listener label in metrics.
func Wrap(ln net.Listener, name string, limits Limits, m *Metrics) *Listener {
	return &Listener{
		Listener: ln, limits: limits,
		open: m.open.WithLabelValues(name),
		reject: map[string]prometheus.Counter{
			CauseTotal:      m.rejected.WithLabelValues(name, CauseTotal),
			CausePerAddress: m.rejected.WithLabelValues(name, CausePerAddress),
		},
		evict:  m.evicted.WithLabelValues(name),
		byAddr: map[string]int{}, idle: list.New(),
	}
}

// Accept returns the next connection within the limits, closing those over
// them.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if tracked := l.admit(c); tracked != nil {
			return tracked, nil
		}
		_ = c.Close()
	}
}

// admit tracks c if the limits allow it, after closing the longest-idle
// connection when only the total limit stands in the way.
func (l *Listener) admit(c net.Conn) *conn {
	addr := hostOf(c.RemoteAddr())
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.limits.MaxPerAddr > 0 && l.byAddr[addr] >= l.limits.MaxPerAddr {
		l.reject[CausePerAddress].Inc()
		return nil
	}
	if l.limits.Max > 0 && l.count >= l.limits.Max {
		oldest := l.idle.Front()
		if oldest == nil {
			l.reject[CauseTotal].Inc()
			return nil
		}
		victim := oldest.Value.(*conn)
		l.forgetLocked(victim)
		l.evict.Inc()
		_ = victim.Conn.Close()
	}
	tc := &conn{Conn: c, l: l, addr: addr}
	l.count++
	l.byAddr[addr]++
	l.open.Inc()
	tc.idle = l.idle.PushBack(tc)
	return tc
}

// ConnState is the http.Server ConnState hook.
func (l *Listener) ConnState(c net.Conn, state http.ConnState) {
	tc, ok := c.(*conn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if tc.closed {
		return
	}
	switch state {
	case http.StateNew, http.StateIdle:
		if tc.idle == nil {
			tc.idle = l.idle.PushBack(tc)
		} else if state == http.StateIdle {
			l.idle.MoveToBack(tc.idle)
		}
	default: // active, hijacked, closed: not available to close
		if tc.idle != nil {
			l.idle.Remove(tc.idle)
			tc.idle = nil
		}
	}
}

// forgetLocked stops counting c; it runs once per connection.
func (l *Listener) forgetLocked(c *conn) {
	if c.closed {
		return
	}
	c.closed = true
	if c.idle != nil {
		l.idle.Remove(c.idle)
		c.idle = nil
	}
	l.count--
	if l.byAddr[c.addr]--; l.byAddr[c.addr] <= 0 {
		delete(l.byAddr, c.addr)
	}
	l.open.Dec()
}

// conn is an accepted connection; closed and idle belong to l.mu.
type conn struct {
	net.Conn
	l      *Listener
	addr   string
	closed bool
	idle   *list.Element
}

func (c *conn) Close() error {
	c.l.mu.Lock()
	c.l.forgetLocked(c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

func hostOf(a net.Addr) string {
	if tcp, ok := a.(*net.TCPAddr); ok {
		return tcp.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}
