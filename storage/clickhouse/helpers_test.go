package clickhouse

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/hookledger/hookledger/internal/testinfra/chdbtest"
)

// The test binary links the chDB driver through testinfra (and
// TestRenderMatchesChDB uses chDB itself), so it needs libchdb
// (CHDB_LIB_PATH) even to run only the server tests.
func TestMain(m *testing.M) { chdbtest.Main(m) }

// Environment of the server tests.
const (
	// envModernDSN names a current ClickHouse server, on which the
	// conformance suite runs: clickhouse://default:@127.0.0.1:9000/default.
	envModernDSN = "HOOKLEDGER_TEST_CLICKHOUSE_DSN"
	// envLegacyAddr is host:port of the native port of Debian's
	// clickhouse-server 18.16, as scripts/clickhouse-server.sh prints it.
	envLegacyAddr = "HOOKLEDGER_TEST_LEGACY_CLICKHOUSE_ADDR"
	// envLegacyDir is the folder given to scripts/clickhouse-server.sh for
	// that server, when not the script's default: TestLegacyServerRestart
	// restarts the server through the script.
	envLegacyDir = "HOOKLEDGER_TEST_LEGACY_CLICKHOUSE_DIR"
)

// logRecorder is a slog handler that keeps the messages it is given.
type logRecorder struct {
	mu   *sync.Mutex
	msgs *[]string
}

func newLogRecorder() logRecorder { return logRecorder{mu: new(sync.Mutex), msgs: new([]string)} }

func (l logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (l logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	*l.msgs = append(*l.msgs, b.String())
	return nil
}

func (l logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l logRecorder) WithGroup(string) slog.Handler      { return l }

// all returns the messages so far.
func (l logRecorder) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), *l.msgs...)
}

// count returns how many messages contain s.
func (l logRecorder) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range *l.msgs {
		if strings.Contains(m, s) {
			n++
		}
	}
	return n
}

const retryMsg = "connection failed, retrying"

// logRetries shows the retries a test caused, with the errors behind them.
func logRetries(t *testing.T, log logRecorder) {
	t.Helper()
	for _, m := range log.all() {
		if strings.Contains(m, retryMsg) {
			t.Log(m)
		}
	}
}

func randomName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// legacyAddr returns the 18.16 server's address, skipping the test when
// there is none.
func legacyAddr(t *testing.T) string {
	t.Helper()
	addr := os.Getenv(envLegacyAddr)
	if addr == "" {
		t.Skipf("%s is not set: no legacy ClickHouse server to test against (scripts/clickhouse-server.sh starts one)", envLegacyAddr)
	}
	return addr
}

// openLegacy opens a Conn to addr on a database of the test's own, which
// Open creates and the test drops when it ends.
func openLegacy(t *testing.T, addr string, log logRecorder) *Conn {
	t.Helper()
	db := randomName("t_")
	// LowCardinality is experimental in 18.16; a DSN parameter that is not
	// the driver's is a setting sent with every query.
	dsn := "clickhouse://default:@" + addr + "/" + db + "?dial_timeout=2s&allow_experimental_low_cardinality_type=1"
	c, err := Open(context.Background(), dsn, slog.New(log))
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	t.Cleanup(func() {
		if err := c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db); err != nil {
			t.Errorf("drop %s: %v", db, err)
		}
		_ = c.Close()
	})
	return c
}

// proxy forwards TCP connections to target. down closes every connection
// and the listener, as a server going away does; up listens again on the
// same address, as the server coming back does.
type proxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	p := &proxy{t: t, target: target, conns: map[net.Conn]struct{}{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(func() {
		p.down()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = c.Close()
				continue
			}
			if !p.track(c, s) {
				return
			}
			p.wg.Add(2)
			go p.pipe(c, s)
			go p.pipe(s, c)
		}
	}()
}

func (p *proxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		for _, c := range cs {
			_ = c.Close()
		}
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
}

func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
		delete(p.conns, c)
	}
}

func (p *proxy) up() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Errorf("proxy: listen again on %s: %v", p.addr, err)
		return
	}
	p.serve(ln)
}

func isException(err error, code int32) bool {
	var ex *Exception
	return errors.As(err, &ex) && ex.Code == code
}

// newSilentListener listens on loopback, accepts connections and never
// writes to them; it returns the address.
func newSilentListener(t *testing.T) (string, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String(), nil
}
