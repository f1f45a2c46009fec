package storage

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookledger/hookledger/schema"
)

// Lists of messages and calls read the current-state tables (migration
// 0002), never the event tables: one aggregated row per message or call,
// merged at query time with the -Merge combinators because a message's
// rows may still sit in several parts.
//
// Every list is ordered newest first by (first_at, provider, id, tenant),
// which is unique per item, so the keyset cursor neither skips nor repeats
// items that share a first-event time.

// messageStates is a subquery with one row per message of messages_state
// (migration 0006) that satisfies w, conditions on its sorting key
// (tenant, provider, message_id), which narrow what is read: its first
// event time, its current status per docs/vocabularies.md#ranking, its latest
// source and addresses, and the provider time of its first "delivered"
// event (first_delivered_at, NULL if none). Filters on merged values must
// go outside.
func (s *Store) messageStates(w where) string {
	return "SELECT tenant, provider, message_id," +
		" min(first_event_at) AS first_at," +
		" max(current) AS best," +
		" tupleElement(best, 4) AS status," +
		" tupleElement(best, 2) AS status_at," +
		" tupleElement(best, 5) AS error_code," +
		" tupleElement(max(source_latest), 3) AS source," +
		" tupleElement(max(to_latest), 3) AS to_addr," +
		" tupleElement(max(from_latest), 3) AS from_addr," +
		" min(delivered_at) AS first_delivered_at" +
		" FROM " + s.table("messages_state") + w.String() +
		" GROUP BY tenant, provider, message_id"
}

// ownerScope is the condition on (tenant, provider) of a list: the scope,
// and provider when set.
func ownerScope(scope Scope, provider string) where {
	w := where{scope.condition()}
	if provider != "" {
		w.add("provider = " + quote(provider))
	}
	return w
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
//
// It never aggregates the whole history: it reads message_times backwards
// from the cursor in spans (listScan), and the state of only the messages
// those spans name. A span holds the first event of every message that
// starts in it, so the spans, newest first, give the list in order; the
// work per page grows with the page size over the share of messages that
// match the filter, not with the history.
func (s *Store) ListMessages(ctx context.Context, scope Scope, f MessageFilter, p Page) ([]Message, *Cursor, error) {
	l := s.newListScan(scope, f, p)
	rows, err := l.run(ctx)
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

// listScan is one ListMessages call: it reads message_times newest first,
// a span at a time (the events before before, nil meaning no bound, at
// most events of them), until it has a page and the next item or has read
// every event the page may use (done).
type listScan struct {
	s        *Store
	scope    Scope
	provider string
	page     Page
	match    where // conditions on a message's merged state
	want     int   // items to find: the page and one more
	before   *time.Time
	events   int
	done     bool
	// A list by status passes over a message whose events include a higher
	// rank than the status's. complete says whether every event after the
	// current span has been read (a first page with no until): then a
	// message can have the status only if withStatus holds it.
	status     string
	rank       int // -1 when status is not of the vocabulary
	complete   bool
	withStatus map[string]bool
}

func (s *Store) newListScan(scope Scope, f MessageFilter, p Page) *listScan {
	l := &listScan{s: s, scope: scope, provider: f.Provider, page: p, want: p.size() + 1, before: p.Until,
		status: f.Status, rank: -1, complete: f.Status != "" && p.After == nil && p.Until == nil, withStatus: map[string]bool{}}
	l.events = 4 * l.want
	if f.Status != "" {
		l.match.add("status = " + quote(f.Status))
		if r, ok := schema.MessageStatusRank(f.Status); ok {
			l.rank = int(r)
		}
	}
	if f.Source != "" {
		l.match.add("source = " + quote(f.Source))
	}
	if f.To != "" {
		l.match.add("to_addr = " + quote(f.To))
	}
	if f.From != "" {
		l.match.add("from_addr = " + quote(f.From))
	}
	if c := p.After; c != nil && (p.Until == nil || c.At.Before(*p.Until)) {
		// The cursor's first time is inclusive (the keyset continues
		// among items that share it); stored times are whole milliseconds.
		before := c.At.Add(time.Millisecond)
		l.before = &before
	}
	return l
}

func (l *listScan) run(ctx context.Context) ([]messageListRow, error) {
	if l.status != "" {
		// A message has its current status from one of its events: when no
		// event since the page's start has it, nothing does.
		any, err := l.anyWithStatus(ctx)
		if err != nil || !any {
			return nil, err
		}
	}
	var rows []messageListRow
	for len(rows) < l.want && !l.done {
		found, err := l.next(ctx, l.want-len(rows))
		if err != nil {
			return nil, err
		}
		rows = append(rows, found...)
	}
	return rows, nil
}

// anyWithStatus reports whether an event at or after the page's Since has
// the status (the set index answers without reading when none has).
func (l *listScan) anyWithStatus(ctx context.Context) (bool, error) {
	w := ownerScope(l.scope, l.provider)
	w.add("status = " + quote(l.status))
	timeRange(&w, "occurred_at", l.page.Since, nil)
	rows, err := selectAll[struct{ N int }](ctx, l.s.conn, "SELECT 1 AS n FROM "+l.s.table("message_times")+w.String()+" LIMIT 1")
	return len(rows) > 0, err
}

// maxWithStatus bounds the messages a first page remembers as having an
// event with the status it lists.
const maxWithStatus = 100_000

// maxSpanEvents bounds how many events a span grows to (unless one instant
// holds more), so that a list whose filter matches little reads the
// history in steps of bounded memory.
const maxSpanEvents = 1 << 16

// maxListLookup bounds the messages whose state one query reads by id, so
// that the query stays well under ClickHouse's max_query_size (256 KiB):
// an id is at most a few dozen bytes in practice.
const maxListLookup = 2000

// spanEvent is a message_times row.
type spanEvent struct {
	OccurredAt time.Time `json:"occurred_at"`
	Owner
	MessageID  string `json:"message_id"`
	Status     string `json:"status"`
	StatusRank int    `json:"status_rank"`
}

// next reads the next span's events, then the state of the messages they
// name that may have the status, and returns those that belong on the page
// (match and the page's keyset and bounds) and whose first event lies in
// the span, newest first, at most limit. It moves to the next span: older,
// or, when every event read shares one time, the same one twice as long.
func (l *listScan) next(ctx context.Context, limit int) ([]messageListRow, error) {
	w := ownerScope(l.scope, l.provider)
	timeRange(&w, "occurred_at", l.page.Since, l.before)
	q := "SELECT occurred_at, tenant, provider, message_id, status, status_rank FROM " + l.s.table("message_times") + w.String() +
		" ORDER BY occurred_at DESC LIMIT " + strconv.Itoa(l.events)
	events, err := selectAll[spanEvent](ctx, l.s.conn, q)
	if err != nil {
		return nil, err
	}
	// Every message whose first event is newer than the oldest event read
	// has that event among those read; one whose first event is exactly as
	// old may have it among those left, so the next span takes it.
	var oldest *time.Time
	if len(events) == l.events {
		oldest = &events[len(events)-1].OccurredAt
		if l.before != nil && !oldest.Add(time.Millisecond).Before(*l.before) {
			l.events *= 2 // one instant holds every event read: read further
			return nil, nil
		}
	}
	ids := l.candidates(events)
	var out []messageListRow
	for len(ids) > 0 {
		n := min(len(ids), maxListLookup)
		rows, err := l.s.pageStates(ctx, l.scope, l.page, l.match, ids[:n], oldest, limit)
		if err != nil {
			return nil, err
		}
		out = mergeNewestFirst(out, rows, limit)
		ids = ids[n:]
	}
	if oldest == nil {
		l.done = true
	} else {
		before := oldest.Add(time.Millisecond)
		l.before, l.events = &before, min(l.events*2, max(l.events, maxSpanEvents))
	}
	return out, nil
}

// candidates returns the messages events name, as rendered (tenant,
// provider, message_id) tuples, less those that cannot have the status.
func (l *listScan) candidates(events []spanEvent) []string {
	type seen struct {
		key     string
		maxRank int
	}
	var order []*seen
	byKey := map[string]*seen{}
	for _, e := range events {
		key := quoteList([]string{e.Tenant, e.Provider, e.MessageID})
		m, ok := byKey[key]
		if !ok {
			m = &seen{key: key}
			byKey[key] = m
			order = append(order, m)
		}
		m.maxRank = max(m.maxRank, e.StatusRank)
		if l.complete && e.Status == l.status {
			l.withStatus[key] = true
		}
	}
	if len(l.withStatus) > maxWithStatus {
		// Remembering more would hold memory in proportion to the history:
		// look the rest up instead.
		l.complete, l.withStatus = false, nil
	}
	ids := make([]string, 0, len(order))
	for _, m := range order {
		if l.rank >= 0 && m.maxRank > l.rank {
			continue // its current status ranks at least as high
		}
		if l.status != "" && l.complete && !l.withStatus[m.key] {
			continue // every event it has since this span was read: none has the status
		}
		ids = append(ids, m.key)
	}
	return ids
}

// pageStates returns, newest first and at most limit, the messages among
// ids (rendered (tenant, provider, message_id) tuples) that match and fall
// within p's bounds and keyset, and whose first event is after oldest (if
// set).
func (s *Store) pageStates(ctx context.Context, scope Scope, p Page, match where, ids []string, oldest *time.Time, limit int) ([]messageListRow, error) {
	w := append(where{}, match...)
	if oldest != nil {
		w.add("first_at > " + timeLiteral(*oldest))
	}
	order := newestFirst(&w, Page{Since: p.Since, Until: p.Until, After: p.After, Limit: limit}, "first_at", "message_id")
	q := "SELECT message_id, provider, tenant, source, status, status_at, to_addr AS `to`, from_addr AS `from`," +
		" error_code, first_at FROM (" + s.messageStates(where{scope.condition(), "(tenant, provider, message_id) IN (" + strings.Join(ids, ", ") + ")"}) + ")" +
		w.String() + order
	return selectAll[messageListRow](ctx, s.conn, q)
}

// mergeNewestFirst merges two lists ordered newest first by the list
// keyset into one, keeping at most limit items.
func mergeNewestFirst(a, b []messageListRow, limit int) []messageListRow {
	out := append(a, b...)
	slices.SortFunc(out, func(x, y messageListRow) int { return -compareListKey(x, y) })
	return out[:min(len(out), limit)]
}

// compareListKey orders list rows by (first_at, provider, message_id,
// tenant), the keyset newestFirst pages on.
func compareListKey(x, y messageListRow) int {
	if c := x.FirstAt.Compare(y.FirstAt); c != 0 {
		return c
	}
	if c := strings.Compare(x.Provider, y.Provider); c != 0 {
		return c
	}
	if c := strings.Compare(x.MessageID, y.MessageID); c != 0 {
		return c
	}
	return strings.Compare(x.Tenant, y.Tenant)
}

// CallFilter narrows ListCalls; empty fields do not filter.
type CallFilter struct {
	Status   string // the current status, not any past one
	Provider string
	Source   string
	To, From string // the latest number the call's events carry, exactly
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
	if f.To != "" {
		w.add("to_addr = " + quote(f.To))
	}
	if f.From != "" {
		w.add("from_addr = " + quote(f.From))
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
