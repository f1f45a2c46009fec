//go:build !nochdb

package app

import (
	"github.com/hookledger/hookledger/storage"
	"github.com/hookledger/hookledger/storage/chdb"
)

// EmbeddedClickHouse reports whether this build can embed chDB.
const EmbeddedClickHouse = true

func openEmbeddedClickHouse(dir string) (storage.Conn, error) { return chdb.Open(dir) }
