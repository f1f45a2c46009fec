//go:build !nochdb

package app

import (
	"github.com/hookledger/hookledger/storage"
	"github.com/hookledger/hookledger/storage/chdb"
)

// loadEmbeddedClickHouse loads the engine library, so a missing one fails
// the start before anything else starts.
func loadEmbeddedClickHouse() error { return chdb.Load() }

func openEmbeddedClickHouse(dir string) (storage.Conn, error) { return chdb.Open(dir) }
