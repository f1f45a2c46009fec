// Package testinfra starts the real engines hookledger runs on, once per
// test binary, and gives each test its own database or topics, so tests run
// in parallel against real ClickHouse (chDB) and Kafka (kfake) without
// seeing each other's data.
package testinfra

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"

	"github.com/hookledger/hookledger/storage"
	"github.com/hookledger/hookledger/storage/chdb"
)

var chdbEngine struct {
	once sync.Once
	dir  string
	conn *chdb.Conn
	err  error
}

// Main runs a test binary's tests and then shuts the shared engines down.
// Packages that use testinfra call it from TestMain: an embedded chDB
// engine still open when the process exits crashes the race detector's
// exit hook.
func Main(m *testing.M) {
	code := m.Run()
	if chdbEngine.conn != nil {
		_ = chdbEngine.conn.Close()
		_ = os.RemoveAll(chdbEngine.dir)
	}
	closeKafka()
	os.Exit(code)
}

// ChDBConn returns the test binary's shared embedded ClickHouse engine.
// chDB allows one data path per process, so every test shares it; the path
// lives in a temporary folder removed when the process exits.
func ChDBConn(t testing.TB) *chdb.Conn {
	t.Helper()
	chdbEngine.once.Do(func() {
		dir, err := os.MkdirTemp("", "hookledger-chdb-test-")
		if err != nil {
			chdbEngine.err = err
			return
		}
		chdbEngine.dir = dir
		chdbEngine.conn, chdbEngine.err = chdb.Open(dir)
	})
	if chdbEngine.err != nil {
		t.Fatalf("testinfra: chdb: %v", chdbEngine.err)
	}
	return chdbEngine.conn
}

// Store returns a migrated Store on a fresh database of the shared chDB
// engine, dropped when the test ends.
func Store(t testing.TB) *storage.Store {
	t.Helper()
	return StoreOn(t, ChDBConn(t))
}

// StoreOn returns a migrated Store on a fresh database of conn.
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
