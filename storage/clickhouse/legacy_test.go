package clickhouse

// Tests against Debian's clickhouse-server 18.16 (HOOKLEDGER_TEST_LEGACY_
// CLICKHOUSE_ADDR). clickhouse-go 2.50 handshakes with it: the server
// answers with protocol revision 54412 and the client downgrades to it.
// The server predates DateTime64, Map, Bool and TTL, so hookledger's schema
// cannot run there; these tests use a table of the types it has and check
// the driver itself: handshake, DDL, one-block inserts, JSON rendering,
// errors, and recovery from connection loss and a real restart.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookledger/hookledger/internal/testinfra"
)

const legacyTable = `CREATE TABLE IF NOT EXISTS %s.events (
	id     UInt64,
	name   String,
	at     DateTime,
	day    Date,
	tags   Array(String),
	note   Nullable(String),
	uid    UUID,
	score  Float64,
	kind   Enum8('sms' = 1, 'voice' = 2),
	source LowCardinality(String),
	code   FixedString(3),
	big    UInt64,
	` + "`to`" + `   String,
	` + "`from`" + ` String
) ENGINE = MergeTree ORDER BY id`

type legacyRow struct {
	ID     uint64    `ch:"id"`
	Name   string    `ch:"name"`
	At     time.Time `ch:"at"`
	Day    time.Time `ch:"day"`
	Tags   []string  `ch:"tags"`
	Note   *string   `ch:"note"`
	UID    uuid.UUID `ch:"uid"`
	Score  float64   `ch:"score"`
	Kind   string    `ch:"kind"`
	Source string    `ch:"source"`
	Code   string    `ch:"code"`
	Big    uint64    `ch:"big"`
	To     string    `ch:"to"` // keywords as column names, as in message_events
	From   string    `ch:"from"`
}

var legacyBase = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func legacyUUID(i uint64) uuid.UUID {
	return uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "row-%d", i))
}

// legacyRows returns rows from..to-1, alternately as values and pointers
// (Insert takes both).
func legacyRows(from, to uint64) []any {
	var rows []any
	for i := from; i < to; i++ {
		r := legacyRow{
			ID: i, Name: fmt.Sprintf("n%d", i), At: legacyBase.Add(time.Duration(i) * time.Second),
			Day: legacyBase.Truncate(24 * time.Hour), UID: legacyUUID(i), Score: float64(i) / 2,
			Kind: []string{"sms", "voice"}[i%2], Source: fmt.Sprintf("src%d", i%5), Code: "abc",
			Big: math.MaxUint64 - i, To: "+1555000" + fmt.Sprint(i%10), From: "hookledger",
		}
		for j := range i % 3 {
			r.Tags = append(r.Tags, fmt.Sprintf("t%d", j))
		}
		if i%2 == 1 {
			note := fmt.Sprintf(`note <%d> & "q" \ é`, i)
			r.Note = &note
		}
		if i == 0 {
			r.Score = math.NaN()
		}
		if i%2 == 0 {
			rows = append(rows, r)
		} else {
			rows = append(rows, &r)
		}
	}
	return rows
}

func selectAll(t *testing.T, c *Conn, q string) []string {
	t.Helper()
	var out []string
	if err := c.Select(context.Background(), q, func(row []byte) error {
		out = append(out, string(row))
		return nil
	}); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

func TestLegacyHandshake(t *testing.T) {
	log := newLogRecorder()
	c := openLegacy(t, legacyAddr(t), log)
	ctx := context.Background()
	v, err := c.db.ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("server %s, protocol revision %d", v.Version, v.Revision)
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	// Open created the DSN's database, which did not exist.
	got := selectAll(t, c, "SELECT name FROM system.databases WHERE name = currentDatabase()")
	if want := `{"name":"` + c.Database() + `"}`; len(got) != 1 || got[0] != want {
		t.Errorf("current database = %v, want %s", got, want)
	}
	if log.count("creating database") != 1 {
		t.Errorf("Open did not report creating the database")
	}
	// clickhouse-go's warning about the old server is kept at Debug.
	if n := log.count("WARN unsupported clickhouse version"); n != 0 {
		t.Errorf("driver warning not demoted")
	}
}

func TestLegacyInsertOneBlockAndRender(t *testing.T) {
	c := openLegacy(t, legacyAddr(t), newLogRecorder())
	ctx := context.Background()
	db := c.Database()
	if err := c.Exec(ctx, fmt.Sprintf(legacyTable, db)); err != nil {
		t.Fatal(err)
	}
	const n = 20000
	start := time.Now()
	if err := c.Insert(ctx, db+".events", legacyRows(0, n)); err != nil {
		t.Fatal(err)
	}
	t.Logf("inserted %d rows in %v", n, time.Since(start))
	got := selectAll(t, c, "SELECT count() AS n, sum(id) AS s, uniqExact(uid) AS u FROM "+db+".events")
	if want := fmt.Sprintf(`{"n":%d,"s":%d,"u":%d}`, n, n*(n-1)/2, n); got[0] != want {
		t.Errorf("aggregates = %s, want %s", got[0], want)
	}
	// One INSERT of one block writes one part (MergeTree never splits a
	// block this small, and merges can only lower the count).
	parts := selectAll(t, c, "SELECT count() AS parts FROM system.parts WHERE database = '"+db+"' AND table = 'events' AND active")
	if parts[0] != `{"parts":1}` {
		t.Errorf("parts after one Insert = %s, want 1", parts[0])
	}

	rows := selectAll(t, c, "SELECT id, name, at, toTimeZone(at, 'Asia/Tokyo') AS at_tokyo, day, tags, note, uid, score,"+
		" kind, source, code, big, `to`, `from` FROM "+db+".events WHERE id IN (0, 1) ORDER BY id")
	want := []string{
		`{"id":0,"name":"n0","at":"2026-11-22T10:00:00Z","at_tokyo":"2026-11-22T10:00:00Z","day":"2026-11-22T00:00:00Z",` +
			`"tags":[],"note":null,"uid":"` + legacyUUID(0).String() + `","score":null,"kind":"sms","source":"src0","code":"abc",` +
			`"big":18446744073709551615,"to":"+15550000","from":"hookledger"}`,
		`{"id":1,"name":"n1","at":"2026-11-22T10:00:01Z","at_tokyo":"2026-11-22T10:00:01Z","day":"2026-11-22T00:00:00Z",` +
			`"tags":["t0"],"note":"note <1> & \"q\" \\ é","uid":"` + legacyUUID(1).String() + `","score":0.5,"kind":"voice",` +
			`"source":"src1","code":"abc","big":18446744073709551614,"to":"+15550001","from":"hookledger"}`,
	}
	if len(rows) != 2 || rows[0] != want[0] || rows[1] != want[1] {
		t.Errorf("rows =\n%s\nwant\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
}

func TestLegacyErrors(t *testing.T) {
	log := newLogRecorder()
	c := openLegacy(t, legacyAddr(t), log)
	ctx := context.Background()
	db := c.Database()

	err := c.Exec(ctx, "SELEC 1")
	if !isException(err, 62) || !strings.HasPrefix(err.Error(), "clickhouse: exec: ") || !strings.Contains(err.Error(), "Syntax error") {
		t.Errorf("syntax error = %v, want exception 62 (SYNTAX_ERROR)", err)
	}
	err = c.Select(ctx, "SELECT * FROM "+db+".missing", func([]byte) error { return nil })
	if !isException(err, 60) {
		t.Errorf("select from unknown table = %v, want exception 60 (UNKNOWN_TABLE)", err)
	}
	err = c.Insert(ctx, db+".missing", legacyRows(0, 1))
	if !isException(err, 60) || !strings.HasPrefix(err.Error(), "clickhouse: insert into "+db+".missing: ") {
		t.Errorf("insert into unknown table = %v, want exception 60 (UNKNOWN_TABLE)", err)
	}

	if err := c.Exec(ctx, fmt.Sprintf(legacyTable, db)); err != nil {
		t.Fatal(err)
	}
	type unknownColumn struct {
		ID    uint64 `ch:"id"`
		Extra string `ch:"extra"`
	}
	if err := c.Insert(ctx, db+".events", []any{unknownColumn{ID: 1}}); !isException(err, 16) {
		t.Errorf("insert of a column the table lacks = %v, want exception 16 (NO_SUCH_COLUMN_IN_TABLE)", err)
	}
	if err := c.Insert(ctx, db+".events", []any{42}); err == nil || !strings.Contains(err.Error(), "not a struct") {
		t.Errorf("insert of an int = %v", err)
	}
	type idOnly struct {
		ID uint64 `ch:"id"`
	}
	if err := c.Insert(ctx, db+".events", []any{idOnly{1}, legacyRow{ID: 2}}); err == nil || !strings.Contains(err.Error(), "one row type") {
		t.Errorf("insert of mixed row types = %v", err)
	}
	if got := selectAll(t, c, "SELECT count() AS n FROM "+db+".events"); got[0] != `{"n":0}` {
		t.Errorf("failed inserts wrote rows: %s", got[0])
	}
	// Columns the row type lacks take their defaults.
	if err := c.Insert(ctx, db+".events", []any{idOnly{1}, &idOnly{2}}); err != nil {
		t.Fatalf("insert of some columns: %v", err)
	}
	got := selectAll(t, c, "SELECT id, name, tags, note, kind FROM "+db+".events ORDER BY id")
	if want := `{"id":2,"name":"","tags":[],"note":null,"kind":"sms"}`; len(got) != 2 || got[1] != want {
		t.Errorf("rows with defaults = %v, want ..., %s", got, want)
	}

	stop := errors.New("enough")
	calls := 0
	err = c.Select(ctx, "SELECT number FROM system.numbers LIMIT 10", func([]byte) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Errorf("fn error: got %v after %d calls, want it as is after 1", err, calls)
	}
	// The connection is usable after a query was abandoned half way.
	if got := selectAll(t, c, "SELECT 1 AS one"); got[0] != `{"one":1}` {
		t.Errorf("after abandoned query: %v", got)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := c.Exec(cancelled, "SELECT 1"); !errors.Is(err, context.Canceled) {
		t.Errorf("exec with a cancelled context = %v", err)
	}
	if n := log.count(retryMsg); n != 0 {
		t.Errorf("%d retries of errors that are not connection failures", n)
	}
}

// TestLegacyReconnectThroughProxy cuts every connection to the server and
// refuses new ones for a while, as a server restart does, around each
// operation, and mid-query.
func TestLegacyReconnectThroughProxy(t *testing.T) {
	p := startProxy(t, legacyAddr(t))
	log := newLogRecorder()
	c := openLegacy(t, p.addr, log)
	ctx := context.Background()
	db := c.Database()
	outage := func(d time.Duration) (waitUp func()) {
		p.down()
		done := make(chan struct{})
		go func() {
			defer close(done)
			time.Sleep(d)
			p.up()
		}()
		return func() { <-done }
	}

	if err := c.Exec(ctx, fmt.Sprintf(legacyTable, db)); err != nil {
		t.Fatal(err)
	}
	if err := c.Insert(ctx, db+".events", legacyRows(0, 100)); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		run  func() error
	}{
		{"insert", func() error { return c.Insert(ctx, db+".events", legacyRows(100, 200)) }},
		{"exec", func() error { return c.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+db+".other (x UInt8) ENGINE = Memory") }},
		{"select", func() error {
			got := selectAll(t, c, "SELECT count() AS n FROM "+db+".events")
			if got[0] != `{"n":200}` {
				return fmt.Errorf("count = %s", got[0])
			}
			return nil
		}},
		{"ping", func() error { return c.Ping(ctx) }},
	}
	for _, s := range steps {
		before := log.count(retryMsg)
		waitUp := outage(300 * time.Millisecond)
		err := s.run()
		waitUp()
		if err != nil {
			t.Errorf("%s across an outage: %v", s.name, err)
		}
		if log.count(retryMsg) == before {
			t.Errorf("%s: no retry logged; the outage was not noticed", s.name)
		}
	}

	// The connection breaks while the server is running the query, before
	// any row came back: the query runs again on a new connection.
	before := log.count(retryMsg)
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(300 * time.Millisecond)
		outage(200 * time.Millisecond)()
	}()
	rows := selectAll(t, c, "SELECT sleep(1) AS slept, 7 AS n")
	<-done
	if len(rows) != 1 || rows[0] != `{"slept":0,"n":7}` {
		t.Errorf("rows = %v", rows)
	}
	if log.count(retryMsg) == before {
		t.Errorf("mid-query break: no retry logged")
	}
	logRetries(t, log)
}

// TestLegacyServerRestart stops the real server and starts it again while
// an insert waits to be written. It needs the server to be one that
// scripts/clickhouse-server.sh manages, in the folder envLegacyDir names
// (else the script's default folder).
func TestLegacyServerRestart(t *testing.T) {
	addr := legacyAddr(t)
	script, err := filepath.Abs(filepath.Join("..", "..", "scripts", "clickhouse-server.sh"))
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv(envLegacyDir)
	run := func(cmd string) *exec.Cmd {
		args := []string{script, cmd}
		if dir != "" {
			args = append(args, dir)
		}
		return exec.Command("bash", args...)
	}
	status, _ := run("status").Output()
	if strings.TrimSpace(string(status)) != envLegacyAddr+"="+addr {
		t.Skipf("the server at %s is not the one %s manages in %q (set %s to the folder given to the script)",
			addr, script, dir, envLegacyDir)
	}
	log := newLogRecorder()
	c := openLegacy(t, addr, log)
	ctx := context.Background()
	db := c.Database()
	if err := c.Exec(ctx, fmt.Sprintf(legacyTable, db)); err != nil {
		t.Fatal(err)
	}
	if err := c.Insert(ctx, db+".events", legacyRows(0, 100)); err != nil {
		t.Fatal(err)
	}

	t0 := time.Now()
	if out, err := run("stop").CombinedOutput(); err != nil {
		t.Fatalf("stop: %v\n%s", err, out)
	}
	t.Logf("server stopped in %v", time.Since(t0))
	started := make(chan string, 1)
	go func() {
		time.Sleep(200 * time.Millisecond)
		out, err := run("start").Output()
		if err != nil {
			t.Errorf("start: %v", err)
		}
		started <- strings.TrimSpace(string(out))
	}()
	t1 := time.Now()
	err = c.Insert(ctx, db+".events", legacyRows(100, 200))
	t.Logf("insert across the restart took %v", time.Since(t1))
	logRetries(t, log)
	if out := <-started; out != envLegacyAddr+"="+addr {
		t.Errorf("restarted server printed %q", out)
	}
	if err != nil {
		t.Fatalf("insert across a restart: %v", err)
	}
	if log.count(retryMsg) == 0 {
		t.Errorf("no retry logged; the restart was not noticed")
	}
	if err := c.Exec(ctx, "OPTIMIZE TABLE "+db+".events FINAL"); err != nil {
		t.Errorf("exec after restart: %v", err)
	}
	if got := selectAll(t, c, "SELECT count() AS n FROM "+db+".events"); got[0] != `{"n":200}` {
		t.Errorf("rows after restart = %s, want 200", got[0])
	}
}

func TestOpenClosedPort(t *testing.T) {
	addr := testinfra.FreeAddr(t)
	start := time.Now()
	_, err := Open(context.Background(), "clickhouse://default:secret@"+addr+"/default?dial_timeout=1s", nil)
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("open succeeded")
	}
	t.Logf("%v after %v", err, elapsed)
	msg := err.Error()
	if !strings.HasPrefix(msg, "clickhouse: connect to ["+addr+"]") || !strings.Contains(msg, "connection refused") {
		t.Errorf("error does not say what failed: %v", err)
	}
	if strings.Contains(msg, "secret") {
		t.Errorf("error shows the password: %v", err)
	}
	if elapsed > time.Second {
		t.Errorf("took %v, more than the dial timeout", elapsed)
	}
}

// TestOpenSilentServer: a peer that accepts connections and never answers
// (a hung server, a wrong port) fails Open within the dial timeout.
func TestOpenSilentServer(t *testing.T) {
	ln, err := newSilentListener(t)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = Open(context.Background(), "clickhouse://"+ln+"/default?dial_timeout=500ms", nil)
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("open succeeded")
	}
	t.Logf("%v after %v", err, elapsed)
	if !strings.HasPrefix(err.Error(), "clickhouse: connect to ["+ln+"]") {
		t.Errorf("error does not say what failed: %v", err)
	}
	if elapsed > 2*time.Second {
		t.Errorf("took %v with a dial timeout of 500ms", elapsed)
	}
}

func TestOpenRejects(t *testing.T) {
	for dsn, want := range map[string]string{
		"http://127.0.0.1:8123/default":        "only the native protocol",
		"clickhouse://127.0.0.1:9000/bad-name": "not a plain identifier",
		"clickhouse://:9000/x%zz":              "parse dsn",
	} {
		if _, err := Open(context.Background(), dsn, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%q) = %v, want %q", dsn, err, want)
		}
	}
}
