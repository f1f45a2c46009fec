package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/segmentio/kafka-go"

	"github.com/hookledger/hookledger/internal/kafkalog"
	"github.com/hookledger/hookledger/internal/observe"
	"github.com/hookledger/hookledger/storage"
)

// Dependency waits: how long one attempt may take, and the backoff between
// attempts (doubling from the first to the last).
const (
	dependencyAttemptTimeout = 10 * time.Second
	dependencyFirstBackoff   = 250 * time.Millisecond
	dependencyMaxBackoff     = 10 * time.Second
	// dependencyCheckEvery is how often a running App checks that Kafka
	// and ClickHouse still answer, for /readyz.
	dependencyCheckEvery = 5 * time.Second
)

// waitFor runs attempt until it succeeds, ctx ends, or it fails in a way
// that waiting cannot fix (see retryable). Each failure is logged as a
// warning naming what is waited for (what, attrs: an address, never a
// credential) and the error, so an operator sees why a tier is not ready.
func waitFor(ctx context.Context, log *slog.Logger, what string, attrs []any, attempt func(context.Context) error) error {
	delay := dependencyFirstBackoff
	for n := 1; ; n++ {
		actx, cancel := context.WithTimeout(ctx, dependencyAttemptTimeout)
		err := attempt(actx)
		cancel()
		if err == nil {
			if n > 1 {
				log.Info(what+" is reachable", append(attrs, "attempts", n)...)
			}
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("app: stopped while waiting for %s: %w", what, ctx.Err())
		}
		if !retryable(err) {
			return err
		}
		log.Warn("waiting for "+what, append(attrs, "attempt", n, "err", err, "retry_in", delay)...)
		select {
		case <-ctx.Done():
			return fmt.Errorf("app: stopped while waiting for %s: %w", what, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, dependencyMaxBackoff)
	}
}

// retryable reports whether err is the kind a dependency that is down,
// starting or restarting gives: the network failing, an attempt timing
// out, or a Kafka error the protocol calls temporary. Anything else (a
// wrong DSN, a refused login, a topic that cannot be created as
// configured) fails the start at once.
func retryable(err error) bool {
	var netErr net.Error
	var kafkaErr kafka.Error
	switch {
	case errors.As(err, &kafkaErr):
		// kafka-go also reports a broker it cannot reach as Broker Not
		// Available, which it does not call temporary.
		return kafkaErr.Temporary() || kafkaErr == kafka.BrokerNotAvailable
	case errors.As(err, &netErr),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return true
	}
	return false
}

// watchDependencies checks every interval that Kafka (when brokers is not
// empty) and ClickHouse (when store is not nil) still answer, and keeps
// their readiness components in step: /readyz says 503 while one is down.
// A change either way is logged once. The returned stop ends it and waits.
func watchDependencies(brokers []string, store *storage.Store, ready *observe.Readiness, log *slog.Logger, interval time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	check := func(name string, attrs []any, ping func(context.Context) error) {
		defer wg.Done()
		up := true
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			pctx, pcancel := context.WithTimeout(ctx, dependencyAttemptTimeout)
			err := ping(pctx)
			pcancel()
			if ctx.Err() != nil {
				return
			}
			// Readiness first, so /readyz already says what the log line
			// below announces.
			was := up
			up = err == nil
			ready.Set(name, up)
			switch {
			case err != nil && was:
				log.Warn(name+" does not answer; not ready until it does", append(attrs, "err", err)...)
			case err == nil && !was:
				log.Info(name+" answers again; ready", attrs...)
			}
		}
	}
	if len(brokers) > 0 {
		wg.Add(1)
		go check("kafka", []any{"brokers", strings.Join(brokers, ",")}, func(ctx context.Context) error {
			return kafkalog.Ping(ctx, brokers)
		})
	}
	if store != nil {
		wg.Add(1)
		go check("clickhouse", nil, store.Conn().Ping)
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// swapHandler is a listener's handler, replaced once its tier is up.
type swapHandler struct{ h atomic.Pointer[http.Handler] }

func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load()).ServeHTTP(w, r)
}

func (s *swapHandler) set(h http.Handler) { s.h.Store(&h) }

// startingHandler answers a listener while its tier waits for what it
// depends on: the probes work (/readyz is 503 and names the components),
// everything else is 503 with Retry-After, so a provider retries the
// callback later.
func (a *App) startingHandler() http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = observe.JSONErrorHandler
	observe.Mount(e, a.ready, a.metrics)
	starting := func(c echo.Context) error {
		c.Response().Header().Set("Retry-After", "5")
		return c.JSON(http.StatusServiceUnavailable, map[string]string{
			"error": "starting: waiting for " + strings.Join(a.ready.Pending(), ", "),
		})
	}
	e.Any("/", starting)
	e.Any("/*", starting)
	return e
}
