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
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"

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
	sess *chdbgo.Session // Exec and Select
	path string
	// inserters are idle sessions for inserts, at most maxInsertSessions:
	// a session streaming an insert runs nothing else, and inserts of
	// different batches run in parallel.
	inserters chan *chdbgo.Session
	mu        sync.Mutex // guards open
	open      []*chdbgo.Session
	plans     sync.Map  // planKey → *rowPlan
	bufs      sync.Pool // *[]byte: a batch of a thousand callbacks is a few hundred KiB
}

// maxInsertSessions bounds concurrent inserts: one per partition the
// processor works on, for a few partitions.
const maxInsertSessions = 4

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
	c := &Conn{sess: sess, path: path, inserters: make(chan *chdbgo.Session, maxInsertSessions)}
	// Inserts stream binary rows (chdb_stream_insert_n): fail here, not at
	// the first insert, on a libchdb without it.
	if err := sess.Insert("INSERT INTO FUNCTION null('probe UInt8')", "CSV", []byte("1\n")); err != nil {
		sess.Close()
		return nil, fmt.Errorf("chdb: streaming insert: %w (libchdb 26.7.3, as scripts/libchdb.sh fetches it, has it)", err)
	}
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

// Insert sends rows as one RowBinaryWithNamesAndTypes block through chDB's
// streaming insert, on a session of its own: no text encoding on either
// side, and values may hold any byte. Inserts run in parallel up to
// maxInsertSessions.
func (c *Conn) Insert(ctx context.Context, table string, rows []any) error {
	if len(rows) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	t, err := rowType(rows)
	if err != nil {
		return fmt.Errorf("chdb: insert into %s: %w", table, err)
	}
	plan, err := c.planFor(ctx, table, t)
	if err != nil {
		return err
	}
	bufp, _ := c.bufs.Get().(*[]byte)
	if bufp == nil {
		bufp = new([]byte)
	}
	defer c.bufs.Put(bufp)
	b := append((*bufp)[:0], plan.header...)
	var scratch reflect.Value
	for _, r := range rows {
		v := reflect.ValueOf(r)
		if v.Kind() == reflect.Pointer {
			b = plan.appendRow(b, v.UnsafePointer())
			continue
		}
		if !scratch.IsValid() {
			scratch = reflect.New(t).Elem()
		}
		scratch.Set(v)
		b = plan.appendRow(b, scratch.Addr().UnsafePointer())
	}
	*bufp = b
	sess, err := c.inserter(ctx)
	if err != nil {
		return err
	}
	defer func() { c.inserters <- sess }()
	if err := sess.Insert(plan.query, "RowBinaryWithNamesAndTypes", b); err != nil {
		// The table may have changed under the plan (a migration): plan
		// again next time.
		c.plans.Delete(planKey{table, t})
		return fmt.Errorf("chdb: insert into %s: %w", table, err)
	}
	return nil
}

// inserter returns an idle insert session, opening one while fewer than
// maxInsertSessions are open, else waiting for one.
func (c *Conn) inserter(ctx context.Context) (*chdbgo.Session, error) {
	select {
	case s := <-c.inserters:
		return s, nil
	default:
	}
	c.mu.Lock()
	if len(c.open) < maxInsertSessions {
		s, err := chdbgo.NewSession(c.path)
		if err == nil {
			c.open = append(c.open, s)
		}
		c.mu.Unlock()
		if err != nil {
			return nil, fmt.Errorf("chdb: open insert session: %w", err)
		}
		return s, nil
	}
	c.mu.Unlock()
	select {
	case s := <-c.inserters:
		return s, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type planKey struct {
	table string
	t     reflect.Type
}

// planFor returns the RowBinary plan of row type t into table, reading the
// table's columns the first time.
func (c *Conn) planFor(ctx context.Context, table string, t reflect.Type) (*rowPlan, error) {
	key := planKey{table, t}
	if p, ok := c.plans.Load(key); ok {
		return p.(*rowPlan), nil
	}
	db, name, ok := strings.Cut(table, ".")
	if !ok {
		return nil, fmt.Errorf("chdb: insert into %s: want database.table", table)
	}
	var cols []column
	err := c.Select(ctx, "SELECT name, type FROM system.columns WHERE database = "+quote(db)+" AND table = "+quote(name)+
		" ORDER BY position", func(row []byte) error {
		var col column
		if err := json.Unmarshal(row, &col); err != nil {
			return err
		}
		cols = append(cols, col)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("chdb: columns of %s: %w", table, err)
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("chdb: insert into %s: no such table", table)
	}
	p, err := newRowPlan(table, t, cols)
	if err != nil {
		return nil, fmt.Errorf("chdb: insert into %s: %w", table, err)
	}
	c.plans.Store(key, p)
	return p, nil
}

// rowType returns the struct type of rows, values or pointers, all alike.
func rowType(rows []any) (reflect.Type, error) {
	var t reflect.Type
	for i, r := range rows {
		rt := reflect.TypeOf(r)
		if rt != nil && rt.Kind() == reflect.Pointer {
			if reflect.ValueOf(r).IsNil() {
				return nil, fmt.Errorf("row %d is a nil %v", i, rt)
			}
			rt = rt.Elem()
		}
		if rt == nil || rt.Kind() != reflect.Struct {
			return nil, fmt.Errorf("row %d is %T, not a struct", i, r)
		}
		if t == nil {
			t = rt
		} else if rt != t {
			return nil, fmt.Errorf("row %d is a %v, row 0 a %v: one insert takes one row type", i, rt, t)
		}
	}
	return t, nil
}

// quote renders s as a ClickHouse string literal (identifiers from the
// Store, never from requests).
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
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

// Close releases the sessions; the data stays on disk. No insert may be
// running.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.open {
		s.Close()
	}
	c.open = nil
	c.sess.Close()
	return nil
}
