// Package chdbtest gives tests the embedded ClickHouse engine (chDB): one
// engine per test binary, a fresh database per test. It is apart from
// testinfra so that only the test binaries that use chDB link it and need
// libchdb (CHDB_LIB_PATH).
package chdbtest

import (
	"os"
	"sync"
	"testing"

	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/storage"
	"github.com/hookledger/hookledger/storage/chdb"
)

var engine struct {
	once sync.Once
	dir  string
	conn *chdb.Conn
	err  error
}

// Main runs a test binary's tests and then shuts the shared engines down,
// chDB's included: an embedded chDB engine still open when the process
// exits crashes the race detector's exit hook. Packages that use chdbtest
// call it from TestMain instead of testinfra.Main.
func Main(m *testing.M) { testinfra.Main(m, closeEngine) }

func closeEngine() {
	if engine.conn != nil {
		_ = engine.conn.Close()
		_ = os.RemoveAll(engine.dir)
	}
}

// Conn returns the test binary's shared embedded ClickHouse engine. chDB
// allows one data path per process, so every test shares it; the path
// lives in a temporary folder removed when the process exits.
func Conn(t testing.TB) *chdb.Conn {
	t.Helper()
	engine.once.Do(func() {
		dir, err := os.MkdirTemp("", "hookledger-chdb-test-")
		if err != nil {
			engine.err = err
			return
		}
		engine.dir = dir
		engine.conn, engine.err = chdb.Open(dir)
	})
	if engine.err != nil {
		t.Fatalf("chdbtest: %v", engine.err)
	}
	return engine.conn
}

// Store returns a migrated Store on a fresh database of the shared engine,
// dropped when the test ends.
func Store(t testing.TB) *storage.Store {
	t.Helper()
	return testinfra.StoreOn(t, Conn(t))
}
