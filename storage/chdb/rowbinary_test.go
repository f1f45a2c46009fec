package chdb_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookledger/hookledger/internal/testinfra/chdbtest"
)

// every is a row of every Go type the RowBinary plan encodes.
type every struct {
	S   string              `ch:"s"`
	LC  string              `ch:"lc"`
	B   bool                `ch:"b"`
	U8  uint8               `ch:"u8"`
	U16 uint16              `ch:"u16"`
	U32 uint32              `ch:"u32"`
	U64 uint64              `ch:"u64"`
	I64 int64               `ch:"i64"`
	ID  uuid.UUID           `ch:"id"`
	T3  time.Time           `ch:"t3"`
	T6  time.Time           `ch:"t6"`
	H   map[string][]string `ch:"h"`
	A   []string            `ch:"a"`
	F   float64             `ch:"f"`
	Not string              `ch:"-"`
}

const everyTable = `(s String, lc LowCardinality(String), b Bool, u8 UInt8, u16 UInt16, u32 UInt32, u64 UInt64,
	i64 Int64, id UUID, t3 DateTime64(3, 'UTC'), t6 DateTime64(6), h Map(String, Array(String)), a Array(String), f Float64,
	extra String DEFAULT 'default') ENGINE = MergeTree ORDER BY s`

// TestInsertEveryType writes one row of every supported type (values and
// pointers) and reads each value back as ClickHouse renders it.
func TestInsertEveryType(t *testing.T) {
	ctx := context.Background()
	conn := chdbtest.Conn(t)
	table := chdbtest.Store(t).Database() + ".every"
	if err := conn.Exec(ctx, "CREATE TABLE "+table+" "+everyTable); err != nil {
		t.Fatal(err)
	}
	at := time.Date(1969, 12, 31, 23, 59, 58, 123456789, time.UTC) // before the epoch: floor, not truncation
	row := every{
		S: "a\x00b\n\nc", LC: "low", B: true, U8: 255, U16: 65535, U32: 1 << 31, U64: 1<<64 - 1, I64: -42,
		ID: uuid.MustParse("0193d4a8-7b1c-7def-8123-456789abcdef"), T3: at, T6: at,
		H: map[string][]string{"X-B": {"2", ""}, "X-A": {"1"}}, A: []string{"x", "", "y"}, F: -0.5, Not: "not a column",
	}
	if err := conn.Insert(ctx, table, []any{row, &row}); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := conn.Select(ctx, "SELECT s, lc, b, u8, u16, u32, u64, i64, id, toUnixTimestamp64Milli(t3) AS t3, "+
		"toUnixTimestamp64Micro(t6) AS t6, h, a, f, extra FROM "+table, func(row []byte) error {
		got = append(got, string(row))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"s":"a\u0000b\n\nc","lc":"low","b":true,"u8":255,"u16":65535,"u32":2147483648,` +
		`"u64":18446744073709551615,"i64":-42,"id":"0193d4a8-7b1c-7def-8123-456789abcdef","t3":-1877,` +
		`"t6":-1876544,"h":{"X-A":["1"],"X-B":["2",""]},"a":["x","","y"],"f":-0.5,"extra":"default"}`
	if len(got) != 2 || got[0] != want || got[1] != want {
		t.Errorf("rows = %q\nwant twice %s", got, want)
	}
}

// TestInsertRefusesWhatItCannotEncode: a field without a column, or whose
// Go type does not match the column's, fails the insert naming the
// column; nothing is guessed.
func TestInsertRefusesWhatItCannotEncode(t *testing.T) {
	ctx := context.Background()
	conn := chdbtest.Conn(t)
	table := chdbtest.Store(t).Database() + ".every"
	if err := conn.Exec(ctx, "CREATE TABLE "+table+" "+everyTable); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		row  any
		want string
	}{
		{"unknown column", struct {
			S string `ch:"nope"`
		}{"x"}, `no column "nope"`},
		{"int into a String", struct {
			S uint32 `ch:"s"`
		}{1}, "column " + table + ".s: no RowBinary encoding of Go uint32 as String"},
		{"string into a UUID", struct {
			ID string `ch:"id"`
		}{"0193d4a8-7b1c-7def-8123-456789abcdef"}, "as UUID"},
		{"not a struct", "row", "not a struct"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := conn.Insert(ctx, table, []any{tc.row})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestInsertAfterColumnChange: a column's type changed after rows were
// inserted (a migration). The next insert fails, as ClickHouse refuses a
// header naming the old type, rather than writing bytes read as the new
// one; the one after plans again from the table and stores the row.
func TestInsertAfterColumnChange(t *testing.T) {
	ctx := context.Background()
	conn := chdbtest.Conn(t)
	table := chdbtest.Store(t).Database() + ".every"
	if err := conn.Exec(ctx, "CREATE TABLE "+table+" "+everyTable); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.UTC)
	if err := conn.Insert(ctx, table, []any{every{S: "before", T3: at}}); err != nil {
		t.Fatal(err)
	}
	if err := conn.Exec(ctx, "ALTER TABLE "+table+" MODIFY COLUMN t3 DateTime64(6, 'UTC')"); err != nil {
		t.Fatal(err)
	}
	if err := conn.Insert(ctx, table, []any{every{S: "stale", T3: at}}); err == nil {
		t.Error("insert with the plan of the old column type succeeded")
	}
	if err := conn.Insert(ctx, table, []any{every{S: "after", T3: at}}); err != nil {
		t.Fatalf("insert after planning again: %v", err)
	}
	var got []string
	err := conn.Select(ctx, "SELECT s, toUnixTimestamp64Micro(t3) AS t3 FROM "+table+" ORDER BY s", func(row []byte) error {
		got = append(got, string(row))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`{"s":"after","t3":1796119200123456}`, `{"s":"before","t3":1796119200123000}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows = %q, want %q", got, want)
	}
}
