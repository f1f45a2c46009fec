package storage

import (
	"context"
	"fmt"
	"time"
)

// Rejection is one audited rejected callback (SPEC §9 /v1/rejections).
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
	timeRange(&w, "received_at", p)
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

// timeRange bounds column to p's [Since, Until).
func timeRange(w *where, column string, p Page) {
	if !p.Since.IsZero() {
		w.add(column + " >= " + timeLiteral(p.Since))
	}
	if !p.Until.IsZero() {
		w.add(column + " < " + timeLiteral(p.Until))
	}
}
