package clickhouse

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"math/big"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go/proto"
	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	chproto "github.com/ClickHouse/clickhouse-go/v2/lib/proto"
	chdbgo "github.com/chdb-io/chdb-go/v2/chdb"
	"github.com/google/uuid"

	"github.com/hookledger/hookledger/internal/testinfra/chdbtest"
)

// encodeOne renders v as the only column of a row.
func encodeOne(t *testing.T, v any) string {
	t.Helper()
	e := newRowEncoder([]string{"c"}, []reflect.Type{reflect.TypeOf(v)})
	e.dest()
	e.elems[0].Set(reflect.ValueOf(v))
	row, err := e.encode()
	if err != nil {
		t.Fatalf("encode %#v: %v", v, err)
	}
	s := string(row)
	if !strings.HasPrefix(s, `{"c":`) || !strings.HasSuffix(s, "}") {
		t.Fatalf("row %s", s)
	}
	return s[5 : len(s)-1]
}

func TestRowEncoderValues(t *testing.T) {
	tokyo := time.FixedZone("JST", 9*3600)
	at := time.Date(2026, 11, 22, 19, 0, 1, 500e6, tokyo)
	str := "x"
	cases := []struct {
		name string
		v    any
		want string
	}{
		{"DateTime64 in another zone", at, `"2026-11-22T10:00:01.5Z"`},
		{"DateTime", at.Truncate(time.Second), `"2026-11-22T10:00:01Z"`},
		{"Nullable(DateTime) null", (*time.Time)(nil), `null`},
		{"Nullable(DateTime)", &at, `"2026-11-22T10:00:01.5Z"`},
		{"UInt64 max", uint64(math.MaxUint64), `18446744073709551615`},
		{"Int64 min", int64(math.MinInt64), `-9223372036854775808`},
		{"UInt8", uint8(3), `3`},
		{"Bool", true, `true`},
		{"UUID", uuid.MustParse("0193a5f0-7c1e-7000-8000-000000000001"), `"0193a5f0-7c1e-7000-8000-000000000001"`},
		{"Map", map[string][]string{"b": {"x", "y"}, "a": nil}, `{"a":[],"b":["x","y"]}`},
		{"empty Map", map[string][]string(nil), `{}`},
		{"Map(Int64, String)", map[int64]string{2: "b", 10: "a"}, `{"10":"a","2":"b"}`},
		{"empty Array", []string(nil), `[]`},
		{"Array(Nullable(String))", []*string{nil, &str}, `[null,"x"]`},
		{"Nullable(String) null", (*string)(nil), `null`},
		{"String as is", "<b> & \"q\" \\ é\n", `"<b> & \"q\" \\ é\n"`},
		{"String bytes", []byte("raw"), `"raw"`},
		{"NaN", math.NaN(), `null`},
		{"Inf", math.Inf(-1), `null`},
		{"Float64", 0.25, `0.25`},
		{"Float32", float32(1.5), `1.5`},
		{"Int256", big.NewInt(-42), `-42`},
		{"IPv4", net.IPv4(10, 0, 0, 1).To4(), `"10.0.0.1"`},
		{"Tuple", []any{uint8(1), "x", nil}, `[1,"x",null]`},
	}
	for _, c := range cases {
		if got := encodeOne(t, c.v); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

func TestRowEncoderReusesNothing(t *testing.T) {
	// A row's map must not leak into the next row through the reused
	// destination.
	e := newRowEncoder([]string{"m"}, []reflect.Type{reflect.TypeFor[map[string]string]()})
	var rows []string
	for _, m := range []map[string]string{{"a": "1"}, {"b": "2"}} {
		dest := e.dest()[0].(*map[string]string)
		if *dest == nil {
			*dest = map[string]string{}
		}
		for k, v := range m { // what a driver merging into the map would do
			(*dest)[k] = v
		}
		row, err := e.encode()
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, string(row))
	}
	if rows[1] != `{"m":{"b":"2"}}` {
		t.Errorf("second row = %s", rows[1])
	}
}

// renderQuery has a column of every type hookledger's schema uses, and
// more.
const renderQuery = `SELECT
	toUUID('0193a5f0-7c1e-7000-8000-000000000001') AS event_id,
	toDateTime64('2026-11-22 10:00:01.500', 3, 'UTC') AS received_at,
	toDateTime64('2026-11-22 10:00:01.000', 3, 'UTC') AS whole_second,
	toDateTime('2026-11-22 10:00:01', 'Asia/Tokyo') AS tokyo,
	CAST('acme' AS LowCardinality(String)) AS tenant,
	CAST(map('X-Multi', ['a', 'b'], 'Content-Type', ['text/plain']) AS Map(String, Array(String))) AS headers,
	CAST(map() AS Map(String, Array(String))) AS no_headers,
	true AS body_truncated,
	toUInt32(4294967295) AS body_bytes,
	toUInt8(3) AS status_rank,
	toUInt64(18446744073709551615) AS big,
	toInt64(-9223372036854775808) AS small,
	'caf\xC3\xA9 <b> & "q" \\ \'' AS text,
	CAST([] AS Array(String)) AS empty,
	CAST(NULL AS Nullable(String)) AS nothing,
	toNullable('x') AS something,
	toDecimal64(1.5, 2) AS price,
	nan AS not_a_number,
	0.25 AS quarter,
	toFixedString('abc', 3) AS fixed,
	CAST('voice' AS Enum8('sms' = 1, 'voice' = 2)) AS kind,
	toIPv4('10.0.0.1') AS ip`

// TestRenderMatchesChDB checks, without a ClickHouse server, that rows
// rendered from clickhouse-go's scan types decode like the chDB driver's
// rows: a current engine (chDB) runs one query twice, once as the chDB
// driver's JSON, once as a Native block that clickhouse-go's own column
// decoders read, as they would from a server.
func TestRenderMatchesChDB(t *testing.T) {
	ctx := context.Background()
	var want []byte
	if err := chdbtest.Conn(t).Select(ctx, renderQuery, func(row []byte) error {
		want = bytes.Clone(row)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// A session without a path attaches to the engine testinfra opened.
	sess, err := chdbgo.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	res, err := sess.Query(renderQuery, "Native")
	if err != nil {
		t.Fatal(err)
	}
	native := bytes.Clone(res.Buf())
	res.Free()

	block := chproto.Block{ServerContext: &column.ServerContext{Timezone: time.UTC}}
	// Revision 0: the Native format, without the protocol's block info.
	if err := block.Decode(proto.NewReader(bytes.NewReader(native)), 0); err != nil {
		t.Fatal(err)
	}
	if block.Rows() != 1 {
		t.Fatalf("rows = %d", block.Rows())
	}
	scanTypes := make([]reflect.Type, len(block.Columns))
	for i, c := range block.Columns {
		scanTypes[i] = c.ScanType()
	}
	e := newRowEncoder(block.ColumnsNames(), scanTypes)
	for i, dest := range e.dest() {
		if err := block.Columns[i].ScanRow(dest, 0); err != nil {
			t.Fatalf("scan %s: %v", block.Columns[i].Name(), err)
		}
	}
	got, err := e.encode()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("chDB driver: %s", want)
	t.Logf("this driver: %s", got)
	g, w := decodeLoose(t, got), decodeLoose(t, want)
	for k, wv := range w {
		if gv, ok := g[k]; !ok || !reflect.DeepEqual(gv, wv) {
			t.Errorf("%s = %#v, chDB driver has %#v", k, g[k], wv)
		}
	}
	for k := range g {
		if _, ok := w[k]; !ok {
			t.Errorf("extra column %s", k)
		}
	}
}

// decodeLoose decodes a JSON row with numbers kept exact and times made
// comparable: the two drivers may spell one instant differently
// (".500Z" and ".5Z").
func decodeLoose(t *testing.T, row []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(row))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("%s: %v", row, err)
	}
	for k, v := range m {
		switch v := v.(type) {
		case string:
			if ts, err := time.Parse(time.RFC3339Nano, v); err == nil {
				m[k] = ts.UTC()
			}
		case json.Number:
			// 1.50 and 1.5 are one Decimal.
			if f, ok := new(big.Float).SetString(v.String()); ok && strings.ContainsAny(v.String(), ".eE") {
				m[k] = f.String()
			}
		}
	}
	return m
}

func TestColumnsOf(t *testing.T) {
	type Embedded struct {
		Tenant string `ch:"tenant"`
	}
	type row struct {
		Embedded
		ID      uint64 `ch:"id"`
		To      string `ch:"to"`
		Skipped string `ch:"-"`
		hidden  string
		Plain   string
	}
	_ = row{}.hidden
	c := &Conn{}
	cl, err := c.columnsOf(reflect.TypeFor[row]())
	if err != nil {
		t.Fatal(err)
	}
	if want := "`tenant`, `id`, `to`, `Plain`"; cl.list != want {
		t.Errorf("columns = %s, want %s", cl.list, want)
	}
	type dup struct {
		A string `ch:"a"`
		B string `ch:"a"`
	}
	if _, err := c.columnsOf(reflect.TypeFor[dup]()); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("a column named twice: %v", err)
	}
	type bad struct {
		X string "ch:\"a`b\""
	}
	if _, err := c.columnsOf(reflect.TypeFor[bad]()); err == nil {
		t.Errorf("a column name with a backtick was accepted")
	}
	type none struct{ x int }
	_ = none{}.x
	if _, err := c.columnsOf(reflect.TypeFor[none]()); err == nil {
		t.Errorf("a row type without columns was accepted")
	}
}

func TestApplyDefaults(t *testing.T) {
	for dsn, want := range map[string]string{
		"clickhouse://h1:9000,h2:9000/db":                "lz4",
		"clickhouse://h:9000/db?compress=false":          "",
		"clickhouse://h:9000/db?compress=zstd":           "zstd",
		"clickhouse://h:9000/db?max_open_conns=4&x=1":    "lz4",
		"clickhouse://u:p%3Fq@h:9000/db?dial_timeout=1s": "lz4",
	} {
		opts, err := ch.ParseDSN(dsn)
		if err != nil {
			t.Fatalf("%s: %v", dsn, err)
		}
		_, set := parsedQuery(dsn)["compress"]
		applyDefaults(opts, !set, slog.New(slog.DiscardHandler))
		got := ""
		if opts.Compression != nil {
			got = opts.Compression.Method.String()
		}
		if got != want {
			t.Errorf("%s: compression %q, want %q", dsn, got, want)
		}
		if opts.MaxIdleConns > opts.MaxOpenConns || opts.DialTimeout == 0 || opts.ConnMaxLifetime == 0 {
			t.Errorf("%s: pool %d/%d, dial %v, lifetime %v", dsn, opts.MaxIdleConns, opts.MaxOpenConns, opts.DialTimeout, opts.ConnMaxLifetime)
		}
	}
}
