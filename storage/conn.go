// Package storage keeps hookledger's history in ClickHouse. Store holds
// every query hookledger runs, written once; the engines behind it are
// drivers implementing the small Conn interface: storage/clickhouse (a
// ClickHouse server over clickhouse-go) and storage/chdb (the embedded chDB
// engine). storage/storagetest is the conformance suite both must pass.
package storage

import (
	"context"
	"errors"
)

// Conn is what Store needs from a ClickHouse engine.
//
// Invariants every driver keeps: a statement either fully applies or returns
// an error; Insert of a batch is one insert (one block, so ClickHouse's
// insert deduplication treats a retried batch as the same block); Select
// renders DateTime64 as RFC 3339 strings and integers as JSON numbers.
type Conn interface {
	// Exec runs one statement that returns no rows.
	Exec(ctx context.Context, query string) error
	// Insert appends rows to table ("db.table") in one block. Each row is a
	// struct (or pointer to one) whose `ch` tags name the columns; its
	// `json` tags must name them identically. Field types are those both
	// drivers write as the column's type: string, bool, uint8..uint64,
	// int64, float64, uuid.UUID, time.Time (DateTime64), []string and
	// map[string][]string; anything else fails the insert on chDB.
	Insert(ctx context.Context, table string, rows []any) error
	// Select runs query and calls fn with each result row as a JSON object
	// keyed by column name. fn must not keep row after it returns.
	Select(ctx context.Context, query string, fn func(row []byte) error) error
	// Ping checks the engine answers.
	Ping(ctx context.Context) error
	Close() error
}

// ErrNotFound is returned by single-item reads when nothing matches.
var ErrNotFound = errors.New("storage: not found")
