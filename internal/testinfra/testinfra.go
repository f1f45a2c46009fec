// Package testinfra starts the real engines hookledger runs on, once per
// test binary, and gives each test its own database or topics, so tests run
// in parallel against real ClickHouse and Kafka (kfake) without seeing each
// other's data. The embedded ClickHouse engine is in the subpackage
// chdbtest, so that test binaries that do not use it neither link chDB nor
// need libchdb.
package testinfra

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/hookledger/hookledger/storage"
)

// Main runs a test binary's tests, then closes (in order) what closers
// shut down and the shared Kafka broker, and exits. Packages that use
// testinfra call it from TestMain.
func Main(m *testing.M, closers ...func()) {
	code := m.Run()
	for _, c := range closers {
		c()
	}
	closeKafka()
	os.Exit(code)
}

// StoreOn returns a migrated Store on a fresh database of conn, dropped
// when the test ends.
func StoreOn(t testing.TB, conn storage.Conn) *storage.Store {
	t.Helper()
	db := "t_" + randomHex(6)
	s := storage.NewStore(conn, db)
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("testinfra: migrate %s: %v", db, err)
	}
	t.Cleanup(func() { _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db) })
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
