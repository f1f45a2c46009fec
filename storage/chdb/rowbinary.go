package chdb

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/google/uuid"
)

// A rowPlan writes rows of one Go struct type into one table as
// RowBinaryWithNamesAndTypes: a header naming each column and its exact
// ClickHouse type, then each row's values in column order, binary.
//
// The header's types are the table's own (from system.columns), and
// ClickHouse refuses a header whose type differs from the column's, so a
// plan that went stale (a migration changed a column) fails the insert
// with a clear error instead of writing misread bytes.
type rowPlan struct {
	rowType reflect.Type
	query   string // INSERT INTO table (cols)
	header  []byte
	fields  []fieldPlan
}

type fieldPlan struct {
	offset uintptr
	encode func(b []byte, p unsafe.Pointer) []byte
}

// column is one column of a table as system.columns describes it.
type column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// newRowPlan plans rows of struct type t (columns named by `ch` tags, else
// field names; "-" skipped) into table, whose columns are cols.
func newRowPlan(table string, t reflect.Type, cols []column) (*rowPlan, error) {
	types := make(map[string]string, len(cols))
	for _, c := range cols {
		types[c.Name] = c.Type
	}
	p := &rowPlan{rowType: t}
	var names, chTypes []string
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Name
		if tag := f.Tag.Get("ch"); tag != "" {
			name = tag
		}
		if name == "-" || !f.IsExported() {
			continue
		}
		chType, ok := types[name]
		if !ok {
			return nil, fmt.Errorf("%s has no column %q (field %s of %v)", table, name, f.Name, t)
		}
		enc, err := encoderFor(f.Type, chType)
		if err != nil {
			return nil, fmt.Errorf("column %s.%s: %w", table, name, err)
		}
		p.fields = append(p.fields, fieldPlan{offset: f.Offset, encode: enc})
		names, chTypes = append(names, name), append(chTypes, chType)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("row type %v names no column of %s", t, table)
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		if strings.ContainsAny(n, "`\\") {
			return nil, fmt.Errorf("column name %q cannot be quoted", n)
		}
		quoted[i] = "`" + n + "`"
	}
	// A retried batch is the same block again, which the tables'
	// deduplication window drops; the views must judge it by their own
	// blocks, or a view insert that failed after the table's succeeded
	// would be skipped for good on the retry.
	p.query = "INSERT INTO " + table + " (" + strings.Join(quoted, ", ") + ") SETTINGS deduplicate_blocks_in_dependent_materialized_views = 1"
	p.header = binary.AppendUvarint(nil, uint64(len(names)))
	for _, n := range names {
		p.header = appendString(p.header, n)
	}
	for _, ct := range chTypes {
		p.header = appendString(p.header, ct)
	}
	return p, nil
}

// appendRow appends one row; row is a value or a pointer of the plan's
// type (the caller checked).
func (p *rowPlan) appendRow(b []byte, row unsafe.Pointer) []byte {
	for _, f := range p.fields {
		b = f.encode(b, unsafe.Add(row, f.offset))
	}
	return b
}

var (
	timeType    = reflect.TypeFor[time.Time]()
	uuidType    = reflect.TypeFor[uuid.UUID]()
	headerMap   = reflect.TypeFor[map[string][]string]()
	stringSlice = reflect.TypeFor[[]string]()
)

// encoderFor returns the RowBinary encoder of a Go field type into a
// ClickHouse column type. Only the pairs hookledger's rows use are known;
// any other is an error, never a guess.
func encoderFor(goType reflect.Type, chType string) (func([]byte, unsafe.Pointer) []byte, error) {
	base := chType
	if inner, ok := strings.CutPrefix(chType, "LowCardinality("); ok {
		base = strings.TrimSuffix(inner, ")") // same RowBinary as the inner type
	}
	switch {
	case goType.Kind() == reflect.String && base == "String":
		return func(b []byte, p unsafe.Pointer) []byte { return appendString(b, *(*string)(p)) }, nil
	case goType.Kind() == reflect.Bool && base == "Bool":
		return func(b []byte, p unsafe.Pointer) []byte {
			if *(*bool)(p) {
				return append(b, 1)
			}
			return append(b, 0)
		}, nil
	case goType.Kind() == reflect.Uint8 && base == "UInt8":
		return func(b []byte, p unsafe.Pointer) []byte { return append(b, *(*uint8)(p)) }, nil
	case goType.Kind() == reflect.Uint16 && base == "UInt16":
		return func(b []byte, p unsafe.Pointer) []byte { return binary.LittleEndian.AppendUint16(b, *(*uint16)(p)) }, nil
	case goType.Kind() == reflect.Uint32 && base == "UInt32":
		return func(b []byte, p unsafe.Pointer) []byte { return binary.LittleEndian.AppendUint32(b, *(*uint32)(p)) }, nil
	case goType.Kind() == reflect.Uint64 && base == "UInt64":
		return func(b []byte, p unsafe.Pointer) []byte { return binary.LittleEndian.AppendUint64(b, *(*uint64)(p)) }, nil
	case goType.Kind() == reflect.Int64 && base == "Int64":
		return func(b []byte, p unsafe.Pointer) []byte {
			return binary.LittleEndian.AppendUint64(b, uint64(*(*int64)(p)))
		}, nil
	case goType == uuidType && base == "UUID":
		return appendUUID, nil
	case goType == timeType && strings.HasPrefix(base, "DateTime64("):
		return dateTime64Encoder(base)
	case goType == headerMap && base == "Map(String, Array(String))":
		return appendHeaderMap, nil
	case goType == stringSlice && base == "Array(String)":
		return func(b []byte, p unsafe.Pointer) []byte {
			vs := *(*[]string)(p)
			b = binary.AppendUvarint(b, uint64(len(vs)))
			for _, v := range vs {
				b = appendString(b, v)
			}
			return b
		}, nil
	case goType.Kind() == reflect.Float64 && base == "Float64":
		return func(b []byte, p unsafe.Pointer) []byte {
			return binary.LittleEndian.AppendUint64(b, math.Float64bits(*(*float64)(p)))
		}, nil
	}
	return nil, fmt.Errorf("no RowBinary encoding of Go %v as %s", goType, chType)
}

// dateTime64Encoder writes a time.Time as DateTime64(P[, tz]): an Int64 of
// units of 10^-P seconds since the epoch. The time zone only affects how
// ClickHouse displays it.
func dateTime64Encoder(chType string) (func([]byte, unsafe.Pointer) []byte, error) {
	args := strings.TrimSuffix(strings.TrimPrefix(chType, "DateTime64("), ")")
	precision, _, _ := strings.Cut(args, ",")
	scale, err := strconv.Atoi(strings.TrimSpace(precision))
	if err != nil || scale < 0 || scale > 9 {
		return nil, fmt.Errorf("unknown precision in %s", chType)
	}
	div := int64(math.Pow10(9 - scale))
	return func(b []byte, p unsafe.Pointer) []byte {
		t := *(*time.Time)(p)
		// Whole seconds and the sub-second part apart: UnixNano overflows
		// outside 1678..2262.
		v := t.Unix()*int64(math.Pow10(scale)) + int64(t.Nanosecond())/div
		return binary.LittleEndian.AppendUint64(b, uint64(v))
	}, nil
}

// appendUUID writes ClickHouse's UUID layout: the two 64-bit halves, each
// little-endian, high half first.
func appendUUID(b []byte, p unsafe.Pointer) []byte {
	u := (*uuid.UUID)(p)
	b = binary.LittleEndian.AppendUint64(b, binary.BigEndian.Uint64(u[:8]))
	return binary.LittleEndian.AppendUint64(b, binary.BigEndian.Uint64(u[8:]))
}

// appendHeaderMap writes HTTP headers as Map(String, Array(String)), keys
// in sorted order: the same headers always give the same bytes, so a
// retried block is the same block to insert deduplication.
func appendHeaderMap(b []byte, p unsafe.Pointer) []byte {
	m := *(*map[string][]string)(p)
	b = binary.AppendUvarint(b, uint64(len(m)))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = appendString(b, k)
		vs := m[k]
		b = binary.AppendUvarint(b, uint64(len(vs)))
		for _, v := range vs {
			b = appendString(b, v)
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}
