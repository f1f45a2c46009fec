package clickhouse

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"time"
)

// rowEncoder renders result rows as the JSON objects the chDB driver's
// JSONEachRow output decodes to, from values scanned into each column's
// ScanType:
//
//   - DateTime, DateTime64: RFC 3339 strings in UTC, with as many fractional
//     digits as needed (time.Time's own JSON form; chDB writes ".500Z" where
//     this writes ".5Z", the same instant to any JSON decoder);
//   - Date, Date32: midnight UTC in that form, where chDB writes
//     "2006-01-02" (hookledger's schema has no Date column);
//   - integers of any width: JSON numbers, never quoted;
//   - UUID, IPv4/IPv6, Enum, LowCardinality(String), FixedString: strings;
//   - Bool: true/false; Nullable: null or the value;
//   - Array: JSON arrays, [] when empty; Map: JSON objects, {} when empty,
//     keys in sorted order; non-finite floats: null (as ClickHouse does);
//   - Decimal: a JSON number.
//
// Strings are written as they are: no HTML escaping, and bytes that are not
// UTF-8 become U+FFFD, as Go's JSON decoder would make of them anyway.
//
// A rowEncoder is used by one goroutine; the row it returns is valid until
// the next call.
type rowEncoder struct {
	keys  [][]byte // the JSON-quoted column names, with their ':'
	ptrs  []any    // a *ScanType per column, reused row after row
	elems []reflect.Value
	buf   bytes.Buffer
	enc   *json.Encoder // writes into buf
}

// newRowEncoder renders rows of columns names whose values scan into
// scanTypes (clickhouse-go's ColumnType.ScanType of each column).
func newRowEncoder(names []string, scanTypes []reflect.Type) *rowEncoder {
	e := &rowEncoder{}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	for i, name := range names {
		k, _ := json.Marshal(name)
		e.keys = append(e.keys, append(k, ':'))
		p := reflect.New(scanTypes[i])
		e.ptrs = append(e.ptrs, p.Interface())
		e.elems = append(e.elems, p.Elem())
	}
	return e
}

// dest returns the scan destinations for the next row, zeroed so that no
// value (a map above all) carries over from the previous row.
func (e *rowEncoder) dest() []any {
	for _, v := range e.elems {
		v.SetZero()
	}
	return e.ptrs
}

// encode renders the values last scanned into dest.
func (e *rowEncoder) encode() ([]byte, error) {
	e.buf.Reset()
	e.buf.WriteByte('{')
	for i, v := range e.elems {
		if i > 0 {
			e.buf.WriteByte(',')
		}
		e.buf.Write(e.keys[i])
		if err := e.value(v); err != nil {
			return nil, fmt.Errorf("column %s: %w", e.keys[i][:len(e.keys[i])-1], err)
		}
	}
	e.buf.WriteByte('}')
	return e.buf.Bytes(), nil
}

var (
	timeType          = reflect.TypeFor[time.Time]()
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

func (e *rowEncoder) value(v reflect.Value) error {
	if !v.IsValid() {
		e.buf.WriteString("null")
		return nil
	}
	t := v.Type()
	switch {
	case (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil():
		e.buf.WriteString("null")
		return nil
	case t == timeType:
		e.buf.WriteByte('"')
		e.buf.Write(v.Interface().(time.Time).UTC().AppendFormat(e.buf.AvailableBuffer(), time.RFC3339Nano))
		e.buf.WriteByte('"')
		return nil
	case t.PkgPath() == "github.com/shopspring/decimal" && t.Name() == "Decimal":
		// Its MarshalJSON quotes the number; ClickHouse does not. Matched
		// by name to keep the decimal package out of this one's imports.
		e.buf.WriteString(v.Interface().(fmt.Stringer).String())
		return nil
	case v.Kind() == reflect.Pointer && v.Elem().Type() == timeType:
		return e.value(v.Elem())
	case t.Implements(jsonMarshalerType) || t.Implements(textMarshalerType):
		// UUID, net.IP, *big.Int (Int128/256), geometry types.
		return e.marshal(v.Interface())
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return e.value(v.Elem())
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			e.buf.WriteString("null")
			return nil
		}
		return e.marshal(v.Interface())
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			// Bytes of a String column: text, not base64.
			return e.marshal(string(v.Bytes()))
		}
		return e.array(v)
	case reflect.Array:
		return e.array(v)
	case reflect.Map:
		return e.object(v)
	default:
		return e.marshal(v.Interface())
	}
}

func (e *rowEncoder) array(v reflect.Value) error {
	e.buf.WriteByte('[')
	for i := range v.Len() {
		if i > 0 {
			e.buf.WriteByte(',')
		}
		if err := e.value(v.Index(i)); err != nil {
			return err
		}
	}
	e.buf.WriteByte(']')
	return nil
}

func (e *rowEncoder) object(v reflect.Value) error {
	type entry struct {
		key string
		val reflect.Value
	}
	entries := make([]entry, 0, v.Len())
	for it := v.MapRange(); it.Next(); {
		k, err := mapKey(it.Key())
		if err != nil {
			return err
		}
		entries = append(entries, entry{k, it.Value()})
	}
	slices.SortFunc(entries, func(a, b entry) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
	e.buf.WriteByte('{')
	for i, en := range entries {
		if i > 0 {
			e.buf.WriteByte(',')
		}
		if err := e.marshal(en.key); err != nil {
			return err
		}
		e.buf.WriteByte(':')
		if err := e.value(en.val); err != nil {
			return err
		}
	}
	e.buf.WriteByte('}')
	return nil
}

// mapKey renders a Map key as the string a JSON object key must be.
func mapKey(k reflect.Value) (string, error) {
	if k.Kind() == reflect.Interface && !k.IsNil() {
		k = k.Elem()
	}
	if k.Type() == timeType {
		return k.Interface().(time.Time).UTC().Format(time.RFC3339Nano), nil
	}
	if tm, ok := k.Interface().(encoding.TextMarshaler); ok {
		b, err := tm.MarshalText()
		return string(b), err
	}
	switch k.Kind() {
	case reflect.String:
		return k.String(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(k.Uint(), 10), nil
	default:
		return fmt.Sprint(k.Interface()), nil
	}
}

// marshal appends x's encoding/json form.
func (e *rowEncoder) marshal(x any) error {
	if err := e.enc.Encode(x); err != nil {
		return err
	}
	e.buf.Truncate(e.buf.Len() - 1) // Encode's newline
	return nil
}
