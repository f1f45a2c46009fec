package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

func TestTransient(t *testing.T) {
	syntax := &Exception{Code: 62, Message: "Syntax error"}
	cases := []struct {
		err  error
		want bool
	}{
		{syntax, false},
		{fmt.Errorf("query: %w", syntax), false},
		// An exception is final even when a connection error is wrapped
		// along with it.
		{fmt.Errorf("%w after %w", syntax, io.EOF), false},
		{fmt.Errorf("read: %w", io.EOF), true},
		{io.ErrUnexpectedEOF, true},
		{&net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}, true},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("no route to host")}, true},
		{&net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}, false},
		{&net.OpError{Op: "read", Net: "tcp", Err: &os.SyscallError{Syscall: "read", Err: syscall.ECONNRESET}}, true},
		{&net.OpError{Op: "write", Net: "tcp", Err: &os.SyscallError{Syscall: "write", Err: syscall.EPIPE}}, true},
		{&net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, false},
		{ch.ErrAcquireConnTimeout, false},
		{ch.ErrConnectionClosed, false},
		{context.Canceled, false},
		{errors.New("missing destination name"), false},
	}
	for _, c := range cases {
		if got := transient(c.err); got != c.want {
			t.Errorf("transient(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func testConn(log logRecorder) *Conn {
	return &Conn{log: slog.New(log), retry: retryPolicy{attempts: 4, backoff: time.Millisecond, maxBackoff: 2 * time.Millisecond}}
}

func TestDoRetriesBounded(t *testing.T) {
	log := newLogRecorder()
	c := testConn(log)
	calls := 0
	err := c.do(context.Background(), "exec", func(context.Context) (bool, error) {
		calls++
		return true, io.EOF
	})
	if calls != 4 || !errors.Is(err, io.EOF) || err.Error() != "clickhouse: exec: connection failed 4 times: EOF" {
		t.Errorf("after %d calls: %v", calls, err)
	}
	if n := log.count(retryMsg); n != 3 {
		t.Errorf("%d retries logged, want 3", n)
	}

	calls = 0
	err = c.do(context.Background(), "exec", func(context.Context) (bool, error) {
		if calls++; calls < 3 {
			return true, io.EOF
		}
		return true, nil
	})
	if err != nil || calls != 3 {
		t.Errorf("recovering op: %v after %d calls", err, calls)
	}

	calls = 0
	err = c.do(context.Background(), "select", func(context.Context) (bool, error) {
		calls++
		return false, io.EOF // rows already delivered
	})
	if calls != 1 || !errors.Is(err, io.EOF) {
		t.Errorf("non-retryable attempt: %v after %d calls", err, calls)
	}
}

func TestDoStopsOnContext(t *testing.T) {
	c := testConn(newLogRecorder())
	c.retry.backoff, c.retry.maxBackoff = time.Hour, time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.do(ctx, "ping", func(context.Context) (bool, error) { return true, io.EOF })
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Errorf("do under a deadline: %v after %v", err, time.Since(start))
	}
}
