package clickhouse

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/storage"
	"github.com/hookledger/hookledger/storage/storagetest"
)

// TestConformance runs the storage conformance suite on a current
// ClickHouse server (HOOKLEDGER_TEST_CLICKHOUSE_DSN), each test on a
// database of its own.
func TestConformance(t *testing.T) {
	dsn := os.Getenv(envModernDSN)
	if dsn == "" {
		t.Skipf("%s is not set: no current ClickHouse server to run the conformance suite on "+
			"(e.g. clickhouse://default:@127.0.0.1:9000/default)", envModernDSN)
	}
	c, err := Open(context.Background(), dsn, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	storagetest.Run(t, func(t *testing.T) *storage.Store { return testinfra.StoreOn(t, c) })
}
