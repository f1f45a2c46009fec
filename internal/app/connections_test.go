package app

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/internal/testinfra/chdbtest"
	"github.com/hookledger/hookledger/provider/signalwire"
)

// TestIdleConnectionsFromOneClientLeaveRoomForOthers is the keep-alive
// flood over real TCP: one client address holds its whole share of idle
// connections on both listeners and is refused more, counted in metrics,
// while a provider at another address is still answered by ingest and an
// operator by the query API.
func TestIdleConnectionsFromOneClientLeaveRoomForOthers(t *testing.T) {
	brokers := testinfra.KafkaBrokers(t)
	cfg := testConfig(t, brokers)
	const perAddr = 5
	cfg.Ingest.MaxConnections, cfg.Ingest.MaxConnectionsPerAddress = 50, perAddr
	cfg.Query.MaxConnections, cfg.Query.MaxConnectionsPerAddress = 50, perAddr
	a := New(cfg, Tiers{Ingest: true, Process: true, Query: true}, slog.New(slog.NewTextHandler(io.Discard, nil)), WithStore(chdbtest.Store(t)))
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Stop)
	testinfra.Eventually(t, 60*time.Second, "app ready", func() bool { return len(a.Ready()) == 0 })

	flooder, provider := clientFrom("127.0.0.2"), clientFrom("127.0.0.3")
	for _, tier := range []string{"ingest", "query"} {
		for i := 0; i < perAddr; i++ {
			if got := keepAliveGet(t, "127.0.0.2", a.Addr(tier)); got != http.StatusOK {
				t.Fatalf("%s: idle connection %d: %d", tier, i, got)
			}
		}
		if got := keepAliveGet(t, "127.0.0.2", a.Addr(tier)); got != 0 {
			t.Fatalf("%s: connection %d from one address answered %d, want it closed", tier, perAddr+1, got)
		}
	}
	if _, err := flooder.Get("http://" + a.Addr("ingest") + "/healthz"); err == nil {
		t.Error("the flooding address got yet another connection")
	}

	u, body := "http://"+a.Addr("ingest")+"/hooks/sw-main", swStatusForm("SMconnflood00000000000000000001", "delivered")
	req := formRequest(http.MethodPost, u, body)
	req.Header.Set(signalwire.HeaderSignature, signalwire.SignSchemeA(swKey, u, []byte(body)))
	resp, err := provider.Do(req)
	if err != nil {
		t.Fatalf("genuine callback during the flood: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("genuine callback during the flood: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest(http.MethodGet, "http://"+a.Addr("query")+"/v1/rejections", nil)
	req.Header.Set("Authorization", "Bearer "+queryToken)
	if resp, err = provider.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("query API during the flood: %v %v", resp, err)
	}
	resp.Body.Close()

	resp, err = provider.Get("http://" + a.Addr("query") + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`hookledger_http_connections_rejected_total{cause="per_address",listener="ingest"} 2`,
		`hookledger_http_connections_rejected_total{cause="per_address",listener="query"} 1`,
		`hookledger_http_connections_open{listener="ingest"}`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// clientFrom is an HTTP client whose connections come from a loopback
// address of its own.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
}

// keepAliveGet opens a connection from ip, asks for /healthz and leaves the
// connection open and idle. It returns the status, or 0 when the server
// closed the connection instead of answering.
func keepAliveGet(t *testing.T, ip, addr string) int {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
