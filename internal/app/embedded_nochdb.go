//go:build nochdb

package app

import (
	"errors"

	"github.com/hookledger/hookledger/storage"
)

// EmbeddedClickHouse reports whether this build can embed chDB. Server
// images are built with -tags nochdb: they talk to a ClickHouse server and
// need not ship the 566 MB engine.
const EmbeddedClickHouse = false

func openEmbeddedClickHouse(string) (storage.Conn, error) {
	return nil, errors.New("this build has no embedded ClickHouse (built with -tags nochdb): set clickhouse.dsn")
}
