package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

// retryPolicy bounds how Conn retries an operation that failed because the
// connection did, not the statement.
type retryPolicy struct {
	attempts   int           // tries in all, at least 1
	backoff    time.Duration // wait before the second try, doubled after each
	maxBackoff time.Duration // cap on one wait
}

// defaultRetryPolicy rides out a server restart of a few seconds: eight
// tries spread over 6 s (waits of 0.1, 0.2, 0.4, 0.8, then 1.5 s). Longer
// outages are the caller's to handle (the processor does not commit what it
// could not store).
func defaultRetryPolicy() retryPolicy {
	return retryPolicy{attempts: 8, backoff: 100 * time.Millisecond, maxBackoff: 1500 * time.Millisecond}
}

// do runs f until it succeeds, fails for good, or the policy is spent, and
// wraps the last error as "clickhouse: op: ...". f reports whether its
// attempt may be retried at all (Select stops retrying once a row reached
// the caller).
func (c *Conn) do(ctx context.Context, op string, f func(context.Context) (retryable bool, err error)) error {
	wait := c.retry.backoff
	for attempt := 1; ; attempt++ {
		retryable, err := f(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || !retryable || !transient(err) {
			return fmt.Errorf("clickhouse: %s: %w", op, err)
		}
		if attempt >= c.retry.attempts {
			return fmt.Errorf("clickhouse: %s: connection failed %d times: %w", op, attempt, err)
		}
		c.log.Warn("clickhouse: connection failed, retrying", "op", op, "attempt", attempt, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("clickhouse: %s: %w (while retrying after: %v)", op, ctx.Err(), err)
		case <-t.C:
		}
		wait = min(2*wait, c.retry.maxBackoff)
	}
}

// transient reports whether err is a connection failure that a new
// connection may not meet: the server closed or reset the connection, or
// refused a new one (as it does while restarting). A server exception is
// never transient, whatever its code: the statement reached the server and
// was judged there. Neither is a timeout of a query that was running, nor
// the pool being exhausted: retrying those only adds load.
func transient(err error) bool {
	var ex *ch.Exception
	if errors.As(err, &ex) {
		return false
	}
	if errors.Is(err, ch.ErrAcquireConnTimeout) || errors.Is(err, ch.ErrConnectionClosed) {
		return false
	}
	// A failed dial sent nothing, so trying again is always safe; but one
	// that timed out would make each retry wait a whole dial timeout for a
	// host that is unreachable rather than restarting.
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return !op.Timeout()
	}
	for _, target := range []error{
		io.EOF, io.ErrUnexpectedEOF, net.ErrClosed,
		syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
