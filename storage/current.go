package storage

import (
	"context"
	"fmt"
	"time"
)

// Lists of messages and calls read the current-state tables (migration
// 0002), never the event tables: one aggregated row per message or call,
// merged at query time with the -Merge combinators because a message's
// rows may still sit in several parts.
//
// Every list is ordered newest first by (first_at, provider, id, tenant),
// which is unique per item, so the keyset cursor neither skips nor repeats
// items that share a first-event time.

// messageStates is a subquery with one row per message the scope sees
// (restricted to provider when set): its first event time, its current
// status per the SPEC §7 ranking (folded into the aggregate by the
// materialized view), its latest source and addresses, and the provider
// time of its first "delivered" event (first_delivered_at, NULL if none).
// Filters on the sorting key (tenant, provider) go inside, where they
// narrow what is read; filters on merged values must go outside.
func (s *Store) messageStates(scope Scope, provider string) string {
	w := where{scope.condition()}
	if provider != "" {
		w.add("provider = " + quote(provider))
	}
	return "SELECT tenant, provider, message_id," +
		" min(first_event_at) AS first_at," +
		" argMaxMerge(current_state) AS current," +
		" tupleElement(current, 1) AS status," +
		" tupleElement(current, 2) AS status_at," +
		" tupleElement(current, 3) AS error_code," +
		" argMaxMerge(source_state) AS source," +
		" argMaxIfMerge(to_state) AS to_addr," +
		" argMaxIfMerge(from_state) AS from_addr," +
		" min(delivered_at) AS first_delivered_at" +
		" FROM " + s.table("messages_current") + w.String() +
		" GROUP BY tenant, provider, message_id"
}

// MessageFilter narrows ListMessages; empty fields do not filter.
type MessageFilter struct {
	Status   string // the current status, not any past one
	Provider string
	Source   string
	To, From string
}

// messageListRow is a list item plus its position in the list.
type messageListRow struct {
	Message
	FirstAt time.Time `json:"first_at"`
}

// ListMessages lists messages newest first by the provider time of their
// first event; p's Since and Until bound that time. Items carry the
// current state and no events, one per (tenant, provider, message_id).
func (s *Store) ListMessages(ctx context.Context, scope Scope, f MessageFilter, p Page) ([]Message, *Cursor, error) {
	var w where
	if f.Status != "" {
		w.add("status = " + quote(f.Status))
	}
	if f.Source != "" {
		w.add("source = " + quote(f.Source))
	}
	if f.To != "" {
		w.add("to_addr = " + quote(f.To))
	}
	if f.From != "" {
		w.add("from_addr = " + quote(f.From))
	}
	order := newestFirst(&w, p, "first_at", "message_id")
	q := "SELECT message_id, provider, tenant, source, status, status_at, to_addr AS `to`, from_addr AS `from`," +
		" error_code, first_at FROM (" + s.messageStates(scope, f.Provider) + ")" + w.String() + order
	rows, err := selectAll[messageListRow](ctx, s.conn, q)
	if err != nil {
		return nil, nil, fmt.Errorf("storage: list messages: %w", err)
	}
	rows, next := cutPage(rows, p, func(r messageListRow) Cursor {
		return Cursor{At: r.FirstAt, ID: r.MessageID, Key: r.Provider, Tenant: r.Tenant}
	})
	out := make([]Message, len(rows))
	for i, r := range rows {
		out[i] = r.Message
	}
	return out, next, nil
}

// CallFilter narrows ListCalls; empty fields do not filter.
type CallFilter struct {
	Status   string // the current status, not any past one
	Provider string
	Source   string
}

// callListRow is a list item plus its position in the list.
type callListRow struct {
	Call
	FirstAt time.Time `json:"first_at"`
}

// ListCalls lists calls newest first by the provider time of their first
// event (status or not); p's Since and Until bound that time. Items carry
// the current state and no events.
func (s *Store) ListCalls(ctx context.Context, scope Scope, f CallFilter, p Page) ([]Call, *Cursor, error) {
	inner := where{scope.condition()}
	if f.Provider != "" {
		inner.add("provider = " + quote(f.Provider))
	}
	var w where
	if f.Status != "" {
		w.add("status = " + quote(f.Status))
	}
	if f.Source != "" {
		w.add("source = " + quote(f.Source))
	}
	order := newestFirst(&w, p, "first_at", "call_id")
	// A call whose events so far are all non-status events has no status
	// yet: argMaxIf then yields the empty tuple, shown as "" and null.
	states := "SELECT tenant, provider, call_id," +
		" min(first_event_at) AS first_at," +
		" argMaxIfMerge(current_state) AS current," +
		" tupleElement(current, 1) AS status," +
		" if(status = '', NULL, tupleElement(current, 2)) AS status_at," +
		" argMaxMerge(source_state) AS source," +
		" argMaxIfMerge(to_state) AS to_addr," +
		" argMaxIfMerge(from_state) AS from_addr," +
		" argMaxIfMerge(direction_state) AS direction," +
		" argMaxIfMerge(conversation_state) AS conversation_id," +
		" max(duration_seconds) AS duration" +
		" FROM " + s.table("calls_current") + inner.String() +
		" GROUP BY tenant, provider, call_id"
	q := "SELECT call_id, provider, tenant, source, status, status_at, to_addr AS `to`, from_addr AS `from`," +
		" direction, duration AS duration_seconds, conversation_id, first_at FROM (" + states + ")" + w.String() + order
	rows, err := selectAll[callListRow](ctx, s.conn, q)
	if err != nil {
		return nil, nil, fmt.Errorf("storage: list calls: %w", err)
	}
	rows, next := cutPage(rows, p, func(r callListRow) Cursor {
		return Cursor{At: r.FirstAt, ID: r.CallID, Key: r.Provider, Tenant: r.Tenant}
	})
	out := make([]Call, len(rows))
	for i, r := range rows {
		out[i] = r.Call
	}
	return out, next, nil
}
