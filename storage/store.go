package storage

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/hookledger/hookledger/schema"
)

// Store is hookledger's ClickHouse history: writes from the processor and
// reads for the query API, over any Conn.
type Store struct {
	conn Conn
	db   string
}

// NewStore uses database db (a plain identifier) on conn.
func NewStore(conn Conn, db string) *Store { return &Store{conn: conn, db: db} }

// Conn returns the underlying connection.
func (s *Store) Conn() Conn { return s.conn }

// Database returns the database name.
func (s *Store) Database() string { return s.db }

func (s *Store) table(name string) string { return s.db + "." + name }

// Ping checks the engine answers.
func (s *Store) Ping(ctx context.Context) error { return s.conn.Ping(ctx) }

// Migrate applies every pending embedded migration in order. It is safe to
// run concurrently from several tiers: statements are idempotent and the
// bookkeeping table tolerates a version recorded twice.
func (s *Store) Migrate(ctx context.Context) error {
	migrations, err := schema.Migrations()
	if err != nil {
		return err
	}
	if err := s.conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+s.db); err != nil {
		return fmt.Errorf("storage: create database %s: %w", s.db, err)
	}
	if err := s.conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+s.table("schema_migrations")+
		" (version UInt32, name String, applied_at DateTime64(3, 'UTC')) ENGINE = ReplacingMergeTree ORDER BY version"); err != nil {
		return fmt.Errorf("storage: create schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	err = s.conn.Select(ctx, "SELECT DISTINCT version FROM "+s.table("schema_migrations"), func(row []byte) error {
		var r struct{ Version int }
		if err := json.Unmarshal(row, &r); err != nil {
			return err
		}
		applied[r.Version] = true
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: read applied migrations: %w", err)
	}
	for _, m := range migrations {
		if applied[m.Version] {
			continue
		}
		for i, stmt := range m.Statements {
			if err := s.conn.Exec(ctx, strings.ReplaceAll(stmt, "{db}", s.db)); err != nil {
				return fmt.Errorf("storage: migration %s statement %d: %w", m.Name, i+1, err)
			}
		}
		row := migrationRow{Version: uint32(m.Version), Name: m.Name, AppliedAt: time.Now().UTC()}
		if err := s.conn.Insert(ctx, s.table("schema_migrations"), []any{row}); err != nil {
			return fmt.Errorf("storage: record migration %s: %w", m.Name, err)
		}
	}
	return nil
}

type migrationRow struct {
	Version   uint32    `ch:"version" json:"version"`
	Name      string    `ch:"name" json:"name"`
	AppliedAt time.Time `ch:"applied_at" json:"applied_at"`
}

// retentionColumns names, per table, the time its rows expire from. The
// current-state tables expire a message or call with its last event.
var retentionColumns = map[string]string{
	"callbacks": "received_at", "message_events": "received_at",
	"replies": "received_at", "call_events": "received_at", "dead_letters": "received_at",
	"messages_state": "last_received_at", "message_times": "received_at", "message_events_by_id": "received_at",
	"calls_current": "last_received_at",
}

// ApplyRetention sets (or, for 0, removes) the TTL of every history table.
func (s *Store) ApplyRetention(ctx context.Context, keep time.Duration) error {
	for table, column := range retentionColumns {
		stmt := "ALTER TABLE " + s.table(table) + " REMOVE TTL"
		if keep > 0 {
			stmt = fmt.Sprintf("ALTER TABLE %s MODIFY TTL toDateTime(%s) + INTERVAL %d SECOND", s.table(table), column, int64(keep/time.Second))
		}
		if err := s.conn.Exec(ctx, stmt); err != nil {
			// REMOVE TTL on a table that never had one is an error in
			// ClickHouse; that is the state we want.
			if keep == 0 && strings.Contains(err.Error(), "TTL") {
				continue
			}
			return fmt.Errorf("storage: retention of %s: %w", table, err)
		}
	}
	return nil
}

// callbackRow is the callbacks table's row.
type callbackRow struct {
	EventID       uuid.UUID           `ch:"event_id" json:"event_id"`
	ReceivedAt    time.Time           `ch:"received_at" json:"received_at"`
	Tenant        string              `ch:"tenant" json:"tenant"`
	Source        string              `ch:"source" json:"source"`
	Provider      string              `ch:"provider" json:"provider"`
	Verdict       string              `ch:"verdict" json:"verdict"`
	Reason        string              `ch:"reason" json:"reason"`
	Detail        string              `ch:"detail" json:"detail"`
	KeyID         string              `ch:"key_id" json:"key_id"`
	Method        string              `ch:"method" json:"method"`
	URL           string              `ch:"url" json:"url"`
	RemoteAddr    string              `ch:"remote_addr" json:"remote_addr"`
	Headers       map[string][]string `ch:"headers" json:"headers"`
	BodyBase64    string              `ch:"body_base64" json:"body_base64"`
	BodyBytes     uint32              `ch:"body_bytes" json:"body_bytes"`
	BodyTruncated bool                `ch:"body_truncated" json:"body_truncated"`
}

// InsertCallbacks stores raw records (either verdict) in the audit table.
func (s *Store) InsertCallbacks(ctx context.Context, recs []*schema.Record) error {
	if len(recs) == 0 {
		return nil
	}
	rows := make([]callbackRow, len(recs))
	for i, r := range recs {
		headers := map[string][]string(r.Headers)
		if headers == nil {
			headers = map[string][]string{}
		}
		rows[i] = callbackRow{
			EventID: r.ID, ReceivedAt: r.ReceivedAt.UTC(), Tenant: r.Tenant, Source: r.Source,
			Provider: r.Provider, Verdict: string(r.Verdict), Reason: string(r.Reason), Detail: r.Detail,
			KeyID: r.KeyID, Method: r.Method, URL: r.URL, RemoteAddr: r.RemoteAddr, Headers: headers,
			BodyBase64: base64.StdEncoding.EncodeToString(r.Body), BodyBytes: uint32(r.BodyBytes),
			BodyTruncated: r.BodyTruncated,
		}
	}
	if err := s.conn.Insert(ctx, s.table("callbacks"), anySlice(rows)); err != nil {
		return fmt.Errorf("storage: insert callbacks: %w", err)
	}
	return nil
}

// InsertDeadLetters marks verified records the processor could not use
// (Callback reports them). Marking a record again replaces its mark.
func (s *Store) InsertDeadLetters(ctx context.Context, dead []schema.DeadLetter) error {
	if len(dead) == 0 {
		return nil
	}
	if err := s.conn.Insert(ctx, s.table("dead_letters"), anySlice(dead)); err != nil {
		return fmt.Errorf("storage: insert dead letters: %w", err)
	}
	return nil
}

// InsertNormalised stores the rows derived from verified records, one
// insert per table.
func (s *Store) InsertNormalised(ctx context.Context, n schema.Normalised) error {
	if len(n.Messages) > 0 {
		if err := s.conn.Insert(ctx, s.table("message_events"), anySlice(n.Messages)); err != nil {
			return fmt.Errorf("storage: insert message events: %w", err)
		}
	}
	if len(n.Replies) > 0 {
		if err := s.conn.Insert(ctx, s.table("replies"), anySlice(n.Replies)); err != nil {
			return fmt.Errorf("storage: insert replies: %w", err)
		}
	}
	if len(n.Calls) > 0 {
		if err := s.conn.Insert(ctx, s.table("call_events"), anySlice(n.Calls)); err != nil {
			return fmt.Errorf("storage: insert call events: %w", err)
		}
	}
	return nil
}

// anySlice returns pointers to in's rows, which the drivers read in place
// (a value in an interface would be a copy of each row).
func anySlice[T any](in []T) []any {
	out := make([]any, len(in))
	for i := range in {
		out[i] = &in[i]
	}
	return out
}

// TruncateNormalised empties the normalised tables and the current state
// derived from them, for a replay that rebuilds them from the raw topic.
func (s *Store) TruncateNormalised(ctx context.Context) error {
	for _, t := range append([]string{"message_events", "message_events_by_id", "replies", "call_events"}, currentStateTables...) {
		if err := s.conn.Exec(ctx, "TRUNCATE TABLE IF EXISTS "+s.table(t)); err != nil {
			return fmt.Errorf("storage: truncate %s: %w", t, err)
		}
	}
	return nil
}

// currentStateTables are the tables that materialized views feed from
// message_events (migration 0006) and call_events (0002, 0004).
var currentStateTables = []string{"messages_state", "message_times", "calls_current"}

// backfillMigration is the migration whose statements fill the
// current-state tables from the event tables.
const backfillMigration = "0007_backfill_message_lists"

// RebuildCurrentState recomputes messages_state, message_times and
// calls_current from the event tables, and inserts every event's current
// version into message_events_by_id once more (which it does not empty,
// so that timelines stay readable meanwhile: FINAL keeps the version
// inserted last, the current one).
//
// The materialized views only ever add to the current state. A replay that
// stores a different row under an existing dedup key (after a corrected
// status mapping, say) replaces the event, but the old version keeps taking
// part in the aggregate until this runs.
//
// It is safe while the processor writes: a row inserted meanwhile may reach
// the aggregate through both the view and the refill, which min, max and
// argMax do not notice. Between the truncate and the end of the refill,
// lists and statistics are incomplete.
func (s *Store) RebuildCurrentState(ctx context.Context) error {
	migrations, err := schema.Migrations()
	if err != nil {
		return err
	}
	var refill []string
	for _, m := range migrations {
		if m.Name == backfillMigration {
			refill = m.Statements
		}
	}
	if len(refill) == 0 {
		return fmt.Errorf("storage: migration %s not found", backfillMigration)
	}
	for _, t := range currentStateTables {
		if err := s.conn.Exec(ctx, "TRUNCATE TABLE IF EXISTS "+s.table(t)); err != nil {
			return fmt.Errorf("storage: truncate %s: %w", t, err)
		}
	}
	for i, stmt := range refill {
		if err := s.conn.Exec(ctx, strings.ReplaceAll(stmt, "{db}", s.db)); err != nil {
			return fmt.Errorf("storage: refill current state (statement %d): %w", i+1, err)
		}
	}
	return nil
}
