//go:build nochdb

package app

import (
	"errors"

	"github.com/hookledger/hookledger/storage"
)

// errNoEmbedded: server images are built with -tags nochdb because they
// talk to a ClickHouse server; they ship neither the 566 MB engine nor the
// dynamic loader chdb-go needs, so the binary stays static.
var errNoEmbedded = errors.New("this build has no embedded ClickHouse (built with -tags nochdb): set clickhouse.dsn")

func loadEmbeddedClickHouse() error { return errNoEmbedded }

func openEmbeddedClickHouse(string) (storage.Conn, error) { return nil, errNoEmbedded }
