package storage

import (
	"context"
	"fmt"
	"time"
)

// Rejection is one audited rejected callback (docs/query-api.md#get-v1rejections).
type Rejection struct {
	EventID    string    `json:"event_id"`
	ReceivedAt time.Time `json:"received_at"`
	Source     string    `json:"source"`
	Provider   string    `json:"provider"`
	Tenant     string    `json:"tenant"`
	Reason     string    `json:"reason"`
	RemoteAddr string    `json:"remote_addr"`
	Method     string    `json:"method"`
	URL        string    `json:"url"`
	BodyBytes  uint32    `json:"body_bytes"`
}

// RejectionFilter narrows Rejections.
type RejectionFilter struct {
	Source, Reason string
}

// Rejections lists rejected callbacks newest first. Rejections of unknown
// sources belong to no tenant and are visible to all-tenant tokens only.
func (s *Store) Rejections(ctx context.Context, scope Scope, f RejectionFilter, p Page) ([]Rejection, *Cursor, error) {
	w := where{scope.condition(), "verdict = 'rejected'"}
	if f.Source != "" {
		w.add("source = " + quote(f.Source))
	}
	if f.Reason != "" {
		w.add("reason = " + quote(f.Reason))
	}
	timeRange(&w, "received_at", p.Since, p.Until)
	if p.After != nil {
		w.add(fmt.Sprintf("(received_at, event_id) < (%s, toUUIDOrZero(%s))", timeLiteral(p.After.At), quote(p.After.ID)))
	}
	q := "SELECT event_id, received_at, source, provider, tenant, reason, remote_addr, method, url, body_bytes FROM " +
		s.table("callbacks") + " FINAL" + w.String() +
		" ORDER BY received_at DESC, event_id DESC" + p.fetchLimit()
	out, err := selectAll[Rejection](ctx, s.conn, q)
	if err != nil {
		return nil, nil, fmt.Errorf("storage: list rejections: %w", err)
	}
	out, next := cutPage(out, p, func(r Rejection) Cursor { return Cursor{At: r.ReceivedAt, ID: r.EventID} })
	return out, next, nil
}

// storedTimes is the range every stored time lies in: DateTime64's
// documented range [1900-01-01, 2300-01-01). Receive times are the clock's
// and provider times are kept only when plausible (provider.PlausibleTime),
// so nothing outside it is ever written.
var storedTimes = struct{ from, to time.Time }{
	time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC),
	time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC),
}

// timeRange bounds column to [since, until); a nil side is open.
//
// Every given time is a bound. One outside storedTimes is decided here, as
// the constant condition it amounts to, rather than sent as a literal that
// an engine may saturate or wrap (older servers hold DateTime64 in
// 1900..2299 only): since=0001-01-01 keeps every row, until=0001-01-01
// none.
func timeRange(w *where, column string, since, until *time.Time) {
	if since != nil {
		switch {
		case !since.After(storedTimes.from):
			// every stored time is at or after it
		case !since.Before(storedTimes.to):
			w.add("0")
		default:
			w.add(column + " >= " + timeLiteral(*since))
		}
	}
	if until != nil {
		switch {
		case !until.After(storedTimes.from):
			w.add("0")
		case !until.Before(storedTimes.to):
			// every stored time is before it
		default:
			w.add(column + " < " + timeLiteral(*until))
		}
	}
}

// CallbackSummary is one stored raw request in a list (GET /v1/callbacks):
// a Callback without headers, body and diagnosis.
type CallbackSummary struct {
	EventID    string    `json:"event_id"`
	ReceivedAt time.Time `json:"received_at"`
	Source     string    `json:"source"`
	Provider   string    `json:"provider"`
	Tenant     string    `json:"tenant"`
	Verdict    string    `json:"verdict"`
	Reason     string    `json:"reason"`
	KeyID      string    `json:"key_id"`
	RemoteAddr string    `json:"remote_addr"`
	Method     string    `json:"method"`
	URL        string    `json:"url"`
	BodyBytes  uint32    `json:"body_bytes"`
}

// CallbackFilter narrows ListCallbacks; empty fields filter nothing.
type CallbackFilter struct {
	Source, Verdict, Reason string
}

// ListCallbacks lists stored raw requests, either verdict, newest first by
// receive time (the audit's order, as Rejections). Requests to unknown
// sources belong to no tenant and are visible to all-tenant tokens only.
func (s *Store) ListCallbacks(ctx context.Context, scope Scope, f CallbackFilter, p Page) ([]CallbackSummary, *Cursor, error) {
	w := where{scope.condition()}
	for _, c := range [][2]string{{"source", f.Source}, {"verdict", f.Verdict}, {"reason", f.Reason}} {
		if c[1] != "" {
			w.add(c[0] + " = " + quote(c[1]))
		}
	}
	timeRange(&w, "received_at", p.Since, p.Until)
	if p.After != nil {
		w.add(fmt.Sprintf("(received_at, event_id) < (%s, toUUIDOrZero(%s))", timeLiteral(p.After.At), quote(p.After.ID)))
	}
	q := "SELECT event_id, received_at, source, provider, tenant, verdict, reason, key_id, remote_addr, method, url, body_bytes FROM " +
		s.table("callbacks") + " FINAL" + w.String() +
		" ORDER BY received_at DESC, event_id DESC" + p.fetchLimit()
	out, err := selectAll[CallbackSummary](ctx, s.conn, q)
	if err != nil {
		return nil, nil, fmt.Errorf("storage: list callbacks: %w", err)
	}
	out, next := cutPage(out, p, func(c CallbackSummary) Cursor { return Cursor{At: c.ReceivedAt, ID: c.EventID} })
	return out, next, nil
}
