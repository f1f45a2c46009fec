//go:build nochdb

package app

import (
	"errors"

	"github.com/hookledger/hookledger/storage"
)

// openEmbeddedClickHouse fails in server builds: images are built with
// -tags nochdb because they talk to a ClickHouse server and need not ship
// the 566 MB engine.
func openEmbeddedClickHouse(string) (storage.Conn, error) {
	return nil, errors.New("this build has no embedded ClickHouse (built with -tags nochdb): set clickhouse.dsn")
}
