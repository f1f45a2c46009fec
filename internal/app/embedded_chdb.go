//go:build !nochdb

package app

import (
	"github.com/hookledger/hookledger/storage"
	"github.com/hookledger/hookledger/storage/chdb"
)

func openEmbeddedClickHouse(dir string) (storage.Conn, error) { return chdb.Open(dir) }
