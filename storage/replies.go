package storage

import (
	"context"
	"fmt"
	"time"
)

// Reply is one inbound message (docs/query-api.md#get-v1replies). MessageID is the
// outbound message it answers, when the provider says; else "".
type Reply struct {
	ReplyID    string    `json:"reply_id"`
	Provider   string    `json:"provider"`
	Tenant     string    `json:"tenant"`
	Source     string    `json:"source"`
	MessageID  string    `json:"message_id"`
	From       string    `json:"from"`
	To         string    `json:"to"`
	Text       string    `json:"text"`
	OccurredAt time.Time `json:"occurred_at"`
	ReceivedAt time.Time `json:"received_at"`
}

// ReplyFilter narrows Replies; empty fields do not filter.
type ReplyFilter struct {
	MessageID string
	From, To  string
}

// replyRow is a list item plus the rest of its identity: the replies
// table keeps one row per (tenant, provider, dedup_key).
type replyRow struct {
	Reply
	DedupKey string `json:"dedup_key"`
}

// Replies lists inbound messages newest first by provider time; p's Since
// and Until bound that time.
func (s *Store) Replies(ctx context.Context, scope Scope, f ReplyFilter, p Page) ([]Reply, *Cursor, error) {
	w := where{scope.condition()}
	if f.MessageID != "" {
		w.add("message_id = " + quote(f.MessageID))
	}
	if f.From != "" {
		w.add("`from` = " + quote(f.From))
	}
	if f.To != "" {
		w.add("`to` = " + quote(f.To))
	}
	order := newestFirst(&w, p, "occurred_at", "dedup_key")
	q := "SELECT reply_id, provider, tenant, source, message_id, `from`, `to`, text, occurred_at, received_at, dedup_key FROM " +
		s.table("replies") + " FINAL" + w.String() + order
	rows, err := selectAll[replyRow](ctx, s.conn, q)
	if err != nil {
		return nil, nil, fmt.Errorf("storage: list replies: %w", err)
	}
	rows, next := cutPage(rows, p, func(r replyRow) Cursor {
		return Cursor{At: r.OccurredAt, ID: r.DedupKey, Key: r.Provider, Tenant: r.Tenant}
	})
	out := make([]Reply, len(rows))
	for i, r := range rows {
		out[i] = r.Reply
	}
	return out, next, nil
}
