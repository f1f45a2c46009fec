// Package clickhouse is the storage driver for ClickHouse servers, spoken to
// over the native protocol with clickhouse-go. It is what every tier uses
// when the config names a ClickHouse DSN (the production topology).
//
// The driver keeps the storage.Conn invariants:
//   - Insert sends its rows as one block in one INSERT, so a retried batch is
//     the same block to ClickHouse's insert deduplication;
//   - Select renders each row as the JSON object the chDB driver produces for
//     the same query (see rowEncoder);
//   - a statement either applies or returns an error. Transient connection
//     failures (the server restarting, a connection dropped by the network)
//     are retried a bounded number of times; server exceptions never are.
//
// Every error it returns starts with "clickhouse:" and wraps the driver's
// error, so a server exception stays matchable with errors.As against
// *Exception (clickhouse-go's *clickhouse.Exception).
package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/churl"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/hookledger/hookledger/storage"
)

// Pool defaults, used for whatever the DSN does not set
// (dial_timeout, max_open_conns, max_idle_conns, conn_max_lifetime).
const (
	// defaultDialTimeout bounds a TCP dial plus handshake. clickhouse-go also
	// uses it as the longest wait for a free connection when the pool is
	// exhausted, so it cannot be very short either.
	defaultDialTimeout = 5 * time.Second
	// The processor writes from a few consumer goroutines and the query API
	// reads concurrently; 16 connections cover both with room to spare.
	defaultMaxOpenConns = 16
	defaultMaxIdleConns = 8
	// Recycling connections lets a client follow a server that was
	// replaced behind the same name (a load balancer, a Kubernetes service).
	defaultConnMaxLifetime = 10 * time.Minute
)

// identifier is what Store accepts as a database name: it is spliced into
// SQL unquoted.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Exception is a server-side error (a syntax error, an unknown table, ...):
// the statement reached the server and was refused there. Conn never
// retries one. Match it with errors.As; its Code is ClickHouse's error code.
type Exception = ch.Exception

// errCodeUnknownDatabase is ClickHouse's UNKNOWN_DATABASE exception code.
const errCodeUnknownDatabase = 81

// Conn is a pool of native-protocol connections to one ClickHouse server
// (or the hosts a DSN lists). It is safe for concurrent use.
type Conn struct {
	db     driver.Conn
	dbName string
	log    *slog.Logger
	retry  retryPolicy
	// columns caches the column list of each row type Insert has seen:
	// reflect.Type → columnList.
	columns sync.Map
}

var _ storage.Conn = (*Conn)(nil)

// Open connects to the server dsn names, for example
// clickhouse://user:pass@host:9000/db?dial_timeout=5s, and checks that it
// answers. Options the DSN does not set get the pool defaults above, and
// LZ4 compression.
//
// The DSN's database (default "default") is the session's default database
// and what Database returns. When it does not exist yet, Open creates it:
// the server refuses a handshake naming an unknown database, and the Store
// that creates hookledger's database can only run once connected.
//
// Open does not retry: a server that cannot be reached fails it within the
// dial timeout, with an error that names the address. logger may be nil.
func Open(ctx context.Context, dsn string, logger *slog.Logger) (*Conn, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts, err := ch.ParseDSN(dsn)
	if err != nil {
		// ParseDSN redacts credentials from its errors.
		return nil, fmt.Errorf("clickhouse: parse dsn: %w", err)
	}
	if opts.Protocol != ch.Native {
		return nil, errors.New("clickhouse: only the native protocol (clickhouse://host:9000) is supported")
	}
	dbName := opts.Auth.Database
	if dbName == "" {
		dbName = "default"
	}
	if !identifier.MatchString(dbName) {
		return nil, fmt.Errorf("clickhouse: database name %q is not a plain identifier", dbName)
	}
	// ParseDSN leaves Compression nil both for no parameter and for
	// compress=false; only the first gets the default.
	_, compressSet := parsedQuery(dsn)["compress"]
	applyDefaults(opts, !compressSet, logger)

	c, err := open(ctx, opts, dbName, logger)
	var ex *Exception
	if errors.As(err, &ex) && ex.Code == errCodeUnknownDatabase {
		if err := createDatabase(ctx, *opts, dbName, logger); err != nil {
			return nil, err
		}
		c, err = open(ctx, opts, dbName, logger)
	}
	if err != nil {
		return nil, err
	}
	if v, err := c.db.ServerVersion(); err == nil {
		logger.Info("clickhouse: connected", "addr", opts.Addr, "database", dbName,
			"server_version", v.Version.String(), "server_revision", v.Revision)
	}
	return c, nil
}

// applyDefaults fills the options the DSN left unset.
func applyDefaults(opts *ch.Options, defaultCompression bool, logger *slog.Logger) {
	if opts.DialTimeout == 0 {
		opts.DialTimeout = defaultDialTimeout
	}
	if opts.MaxOpenConns == 0 {
		opts.MaxOpenConns = defaultMaxOpenConns
	}
	if opts.MaxIdleConns == 0 {
		opts.MaxIdleConns = min(defaultMaxIdleConns, opts.MaxOpenConns)
	}
	if opts.ConnMaxLifetime == 0 {
		opts.ConnMaxLifetime = defaultConnMaxLifetime
	}
	if opts.Compression == nil && defaultCompression {
		// Callback bodies and headers are text and compress well; every
		// server version speaks LZ4 on the native protocol.
		opts.Compression = &ch.Compression{Method: ch.CompressionLZ4}
	}
	// clickhouse-go logs every server exception at Warn and warns about
	// servers older than it supports. Both reach the caller as errors (or
	// are irrelevant to hookledger's SQL), so its records are kept at Debug.
	opts.Logger = slog.New(debugOnly{logger.Handler()}).With("component", "clickhouse-go")
}

// parsedQuery returns the DSN's query parameters (none if it does not
// parse, which ParseDSN has already ruled out). churl is the parser
// ParseDSN uses: net/url rejects a DSN that lists several hosts.
func parsedQuery(dsn string) url.Values {
	u, err := churl.Parse(dsn)
	if err != nil {
		return nil
	}
	return u.Query()
}

// open builds the pool and pings it once.
func open(ctx context.Context, opts *ch.Options, dbName string, logger *slog.Logger) (*Conn, error) {
	db, err := ch.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: open %v: %w", opts.Addr, err)
	}
	c := &Conn{db: db, dbName: dbName, log: logger, retry: defaultRetryPolicy()}
	if err := db.Ping(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("clickhouse: connect to %v (database %s): %w", opts.Addr, dbName, err)
	}
	return c, nil
}

// createDatabase creates dbName over a connection that names no database.
func createDatabase(ctx context.Context, opts ch.Options, dbName string, logger *slog.Logger) error {
	opts.Auth.Database = ""
	opts.MaxOpenConns, opts.MaxIdleConns = 1, 1
	c, err := open(ctx, &opts, "default", logger)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	logger.Info("clickhouse: creating database named by the DSN", "database", dbName)
	return c.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+dbName)
}

// Database returns the DSN's database, "default" when it names none.
// Store uses it as hookledger's database.
func (c *Conn) Database() string { return c.dbName }

// Exec runs one statement that returns no rows.
//
// It is retried after a transient connection failure, which may re-run a
// statement the server had already applied: every statement hookledger
// runs is idempotent (IF [NOT] EXISTS, MODIFY TTL, TRUNCATE).
func (c *Conn) Exec(ctx context.Context, query string) error {
	return c.do(ctx, "exec", func(ctx context.Context) (bool, error) {
		return true, c.db.Exec(ctx, query)
	})
}

// Insert appends rows to table in one block. Each row is a struct, or a
// pointer to one, all of the same type; its `ch` tags (else field names)
// name the columns to fill, and the table's other columns take their
// defaults, as they do for the chDB driver's JSONEachRow inserts.
//
// The INSERT names its columns. Besides keeping rows valid when a later
// migration adds a column, that is what makes inserts work on old servers:
// ClickHouse 18.16 answers a bare "INSERT INTO t FORMAT Native" (the form
// clickhouse-go sends) with an empty table header, after which the driver
// sends no column and the server writes nothing, without an error.
//
// A failed attempt is re-sent whole, in the same order, so the server sees
// the same block again: ReplicatedMergeTree (and MergeTree with
// non_replicated_deduplication_window) drop the copy if the first attempt
// had in fact been written.
func (c *Conn) Insert(ctx context.Context, table string, rows []any) error {
	if len(rows) == 0 {
		return nil
	}
	rowType, ptrs, err := structPointers(rows)
	if err != nil {
		return fmt.Errorf("clickhouse: insert into %s: %w", table, err)
	}
	cols, err := c.columnsOf(rowType)
	if err != nil {
		return fmt.Errorf("clickhouse: insert into %s: %w", table, err)
	}
	query := "INSERT INTO " + table + " (" + cols.list + ")"
	return c.do(ctx, "insert into "+table, func(ctx context.Context) (bool, error) {
		return true, c.insertOnce(ctx, query, len(cols.names), ptrs)
	})
}

// structPointers returns rows as pointers to structs of one type:
// clickhouse-go's AppendStruct takes pointers, Store passes values.
func structPointers(rows []any) (reflect.Type, []any, error) {
	var typ reflect.Type
	ptrs := make([]any, len(rows))
	for i, r := range rows {
		v := reflect.ValueOf(r)
		switch {
		case v.Kind() == reflect.Pointer && !v.IsNil() && v.Elem().Kind() == reflect.Struct:
			ptrs[i] = r
			v = v.Elem()
		case v.Kind() == reflect.Struct:
			p := reflect.New(v.Type())
			p.Elem().Set(v)
			ptrs[i] = p.Interface()
		default:
			return nil, nil, fmt.Errorf("row %d is %T, not a struct", i, r)
		}
		if typ == nil {
			typ = v.Type()
		} else if v.Type() != typ {
			return nil, nil, fmt.Errorf("row %d is a %v, row 0 a %v: one insert takes one row type", i, v.Type(), typ)
		}
	}
	return typ, ptrs, nil
}

func (c *Conn) insertOnce(ctx context.Context, query string, ncols int, rows []any) error {
	batch, err := c.db.PrepareBatch(ctx, query)
	if err != nil {
		return err
	}
	// Close releases the connection when Send was never reached; after
	// Send it does nothing.
	defer func() { _ = batch.Close() }()
	// clickhouse-go fills only the columns of the header the server sent
	// back. Fewer than asked for would drop data without an error.
	if n := len(batch.Columns()); n != ncols {
		return fmt.Errorf("server answered %q with %d columns, want %d", query, n, ncols)
	}
	for _, r := range rows {
		if err := batch.AppendStruct(r); err != nil {
			return err
		}
	}
	return batch.Send()
}

// Select runs query and calls fn with each row as a JSON object keyed by
// column name (see rowEncoder for how values are rendered). An error from fn
// stops the query and is returned as is.
//
// A transient failure is retried only while no row has reached fn, so fn
// never sees a row twice.
func (c *Conn) Select(ctx context.Context, query string, fn func(row []byte) error) error {
	var fnErr error
	err := c.do(ctx, "select", func(ctx context.Context) (bool, error) {
		delivered := false
		err := c.selectOnce(ctx, query, func(row []byte) error {
			delivered = true
			if err := fn(row); err != nil {
				fnErr = err
				return err
			}
			return nil
		})
		return !delivered, err
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

func (c *Conn) selectOnce(ctx context.Context, query string, fn func(row []byte) error) error {
	rows, err := c.db.Query(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	scanTypes := make([]reflect.Type, len(types))
	for i, ct := range types {
		scanTypes[i] = ct.ScanType()
	}
	enc := newRowEncoder(rows.Columns(), scanTypes)
	for rows.Next() {
		if err := rows.Scan(enc.dest()...); err != nil {
			return err
		}
		row, err := enc.encode()
		if err != nil {
			return err
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Ping checks the server answers.
func (c *Conn) Ping(ctx context.Context) error {
	return c.do(ctx, "ping", func(ctx context.Context) (bool, error) {
		return true, c.db.Ping(ctx)
	})
}

// Close closes every connection of the pool.
func (c *Conn) Close() error {
	if err := c.db.Close(); err != nil {
		return fmt.Errorf("clickhouse: close: %w", err)
	}
	return nil
}

// debugOnly hands every record to h at Debug level.
type debugOnly struct{ h slog.Handler }

func (d debugOnly) Enabled(ctx context.Context, _ slog.Level) bool {
	return d.h.Enabled(ctx, slog.LevelDebug)
}

func (d debugOnly) Handle(ctx context.Context, r slog.Record) error {
	r.Level = slog.LevelDebug
	return d.h.Handle(ctx, r)
}

func (d debugOnly) WithAttrs(attrs []slog.Attr) slog.Handler { return debugOnly{d.h.WithAttrs(attrs)} }
func (d debugOnly) WithGroup(name string) slog.Handler       { return debugOnly{d.h.WithGroup(name)} }

// columnList is the columns a row type fills, in field order.
type columnList struct {
	names []string
	list  string // the names quoted and comma-separated, for the INSERT
}

// columnsOf returns the columns of row type t, named as clickhouse-go's
// AppendStruct maps them: a field's `ch` tag, else its name; "-" and
// unexported fields skipped; embedded structs (not pointers) flattened.
func (c *Conn) columnsOf(t reflect.Type) (columnList, error) {
	if cl, ok := c.columns.Load(t); ok {
		return cl.(columnList), nil
	}
	var (
		cl   columnList
		seen = map[string]bool{}
		dup  string
		walk func(t reflect.Type)
	)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			name := f.Name
			if tag := f.Tag.Get("ch"); tag != "" {
				name = tag
			}
			switch {
			case name == "-", !f.IsExported() && !f.Anonymous:
			case f.Anonymous:
				if f.Type.Kind() == reflect.Struct {
					walk(f.Type)
				}
			case seen[name]:
				// AppendStruct would fill the column from one of them,
				// silently.
				dup = name
			default:
				seen[name] = true
				cl.names = append(cl.names, name)
			}
		}
	}
	walk(t)
	if dup != "" {
		return cl, fmt.Errorf("row type %v names column %q twice", t, dup)
	}
	if len(cl.names) == 0 {
		return cl, fmt.Errorf("row type %v names no column", t)
	}
	quoted := make([]string, len(cl.names))
	for i, n := range cl.names {
		if strings.ContainsAny(n, "`\\") {
			return cl, fmt.Errorf("row type %v: column name %q cannot be quoted", t, n)
		}
		quoted[i] = "`" + n + "`"
	}
	cl.list = strings.Join(quoted, ", ")
	c.columns.Store(t, cl)
	return cl, nil
}
