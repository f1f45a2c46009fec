// Package chdb is the storage driver for the embedded ClickHouse engine
// (chDB, libchdb.so loaded through chdb-go). It is what `hookledger run`
// uses when the config names no ClickHouse DSN.
//
// chDB allows one data path per process: every Conn opened in a process must
// use the same path. libchdb is loaded by the first Load or Open, not when
// the program starts (chdb-go is patched for that, see
// third_party/chdb-go): CHDB_LIB_PATH, else /usr/local/lib/libchdb.so. A
// binary that imports this package runs every command that does not open
// the engine without the library; builds for a ClickHouse server only use
// the "nochdb" build tag to leave the package out and stay static.
package chdb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	chdbgo "github.com/chdb-io/chdb-go/v2/chdb"
	chdbpurego "github.com/chdb-io/chdb-go/v2/chdb-purego"

	"github.com/hookledger/hookledger/storage"
)

// sessionSettings make chDB read and write the JSON Store exchanges:
// RFC 3339 times both ways and 64-bit integers as numbers.
var sessionSettings = []string{
	"SET date_time_input_format = 'best_effort'",
	"SET date_time_output_format = 'iso'",
	"SET output_format_json_quote_64bit_integers = 0",
}

// Conn is a chDB session. It is safe for concurrent use.
//
// chDB queries are synchronous calls into the engine and cannot be
// cancelled: a context is checked before each call only.
type Conn struct {
	sess *chdbgo.Session
}

var _ storage.Conn = (*Conn)(nil)

// Load loads libchdb, once per process, and says what to set when it is
// missing. Open calls it; a program calls it early to fail before starting
// anything else.
func Load() error {
	if err := chdbpurego.Load(); err != nil {
		return fmt.Errorf("chdb: load the embedded ClickHouse engine: %w; "+
			"set CHDB_LIB_PATH to the path of libchdb.so (scripts/libchdb.sh fetches it and prints its path), "+
			"or set clickhouse.dsn to use a ClickHouse server", err)
	}
	return nil
}

// Open opens (creating if needed) the engine at path.
func Open(path string) (*Conn, error) {
	if err := Load(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, fmt.Errorf("chdb: data path: %w", err)
	}
	sess, err := chdbgo.NewSession(path)
	if err != nil {
		return nil, fmt.Errorf("chdb: open %s: %w", path, err)
	}
	c := &Conn{sess: sess}
	for _, s := range sessionSettings {
		if err := c.Exec(context.Background(), s); err != nil {
			sess.Close()
			return nil, err
		}
	}
	return c, nil
}

func (c *Conn) query(ctx context.Context, q, format string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res, err := c.sess.Query(q, format)
	if err != nil {
		return nil, fmt.Errorf("chdb: %w", err)
	}
	if res == nil {
		return nil, nil
	}
	defer res.Free()
	if err := res.Error(); err != nil {
		return nil, fmt.Errorf("chdb: %w", err)
	}
	// The buffer belongs to the result, which is freed on return.
	return bytes.Clone(res.Buf()), nil
}

// Exec runs one statement.
func (c *Conn) Exec(ctx context.Context, q string) error {
	_, err := c.query(ctx, q, "CSV")
	return err
}

// Insert sends rows as one JSONEachRow block.
func (c *Conn) Insert(ctx context.Context, table string, rows []any) error {
	if len(rows) == 0 {
		return nil
	}
	var b bytes.Buffer
	b.WriteString("INSERT INTO ")
	b.WriteString(table)
	b.WriteString(" FORMAT JSONEachRow\n")
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("chdb: encode row for %s: %w", table, err)
		}
	}
	if bytes.IndexByte(b.Bytes(), 0) >= 0 {
		// The query crosses into C as a NUL-terminated string. encoding/json
		// escapes NUL inside strings, so this cannot happen for valid rows.
		return errors.New("chdb: insert contains a NUL byte")
	}
	_, err := c.query(ctx, b.String(), "CSV")
	return err
}

// Select runs q with JSONEachRow output.
func (c *Conn) Select(ctx context.Context, q string, fn func(row []byte) error) error {
	out, err := c.query(ctx, q, "JSONEachRow")
	if err != nil {
		return err
	}
	for len(out) > 0 {
		line, rest, _ := bytes.Cut(out, []byte{'\n'})
		out = rest
		if len(line) == 0 {
			continue
		}
		if err := fn(line); err != nil {
			return err
		}
	}
	return nil
}

// Ping runs a trivial query.
func (c *Conn) Ping(ctx context.Context) error { return c.Exec(ctx, "SELECT 1") }

// Close releases the session; the data stays on disk.
func (c *Conn) Close() error {
	c.sess.Close()
	return nil
}
