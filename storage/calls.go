package storage

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/hookledger/hookledger/schema"
)

// CallEvent is one logical event in a call's timeline (docs/query-api.md#get-v1callscall_id). A
// non-status event (recording, input, transfer, machine detection) has
// the empty Status and its kind in ProviderStatus.
type CallEvent struct {
	EventID        string    `json:"event_id"`
	Status         string    `json:"status"`
	ProviderStatus string    `json:"provider_status"`
	OccurredAt     time.Time `json:"occurred_at"`
	ReceivedAt     time.Time `json:"received_at"`
	Detail         string    `json:"detail"`
}

// Call is a call's current state and, for single reads, its timeline.
//
// Status is the best-ranked status event's (docs/vocabularies.md#ranking; ties to
// the later provider time, then the later receive time); non-status events
// never set it. A call with no status event yet has Status "" and a nil
// StatusAt (JSON null). DurationSeconds is the largest duration any event
// reported.
type Call struct {
	CallID          string      `json:"call_id"`
	Provider        string      `json:"provider"`
	Tenant          string      `json:"tenant"`
	Source          string      `json:"source"`
	Status          string      `json:"status"`
	StatusAt        *time.Time  `json:"status_at"`
	To              string      `json:"to"`
	From            string      `json:"from"`
	Direction       string      `json:"direction"`
	DurationSeconds uint32      `json:"duration_seconds"`
	ConversationID  string      `json:"conversation_id,omitempty"` // Vonage's conversation_uuid
	Events          []CallEvent `json:"events,omitempty"`
}

// Owner returns the (tenant, provider) c belongs to.
func (c Call) Owner() Owner { return Owner{Tenant: c.Tenant, Provider: c.Provider} }

// Calls returns call id's state per owner (tenant, provider) in scope that
// knows it, narrowed to the set fields of want, in ownerOrder, each with
// its own timeline oldest first by provider time. More than one means the
// id is ambiguous. It returns ErrNotFound when the scope sees none. It
// aggregates exactly as the calls_current view does, so a call reads the
// same here and in ListCalls.
func (s *Store) Calls(ctx context.Context, scope Scope, id string, want Owner) ([]Call, error) {
	if id == "" {
		return nil, ErrNotFound // the empty call id marks conversation-level events, not a call
	}
	w := where{scope.condition(), "call_id = " + quote(id)}
	want.narrow(&w)
	q := "SELECT event_id, tenant, source, provider, call_id, conversation_id, status, status_rank, provider_status," +
		" occurred_at, received_at, `to`, `from`, direction, duration_seconds, detail FROM " +
		s.table("call_events") + " FINAL" + w.String() + " ORDER BY tenant, provider, occurred_at, received_at, dedup_key"
	rows, err := selectAll[schema.CallEvent](ctx, s.conn, q)
	if err != nil {
		return nil, fmt.Errorf("storage: read call %q: %w", id, err)
	}
	if len(rows) == 0 {
		return nil, ErrNotFound
	}
	byOwner := map[Owner]*Call{}
	best := map[Owner]schema.CallEvent{}
	for _, r := range rows {
		o := Owner{Tenant: r.Tenant, Provider: r.Provider}
		c, ok := byOwner[o]
		if !ok {
			c = &Call{CallID: r.CallID, Provider: r.Provider, Tenant: r.Tenant}
			byOwner[o] = c
		}
		c.Events = append(c.Events, timelineEvent(r))
		// Rows come in provider-time order: the latest event that carries a
		// value wins, as argMaxIf over (occurred_at, received_at) in the view.
		c.Source = r.Source
		c.To = lastNonEmpty(c.To, r.To)
		c.From = lastNonEmpty(c.From, r.From)
		c.Direction = lastNonEmpty(c.Direction, r.Direction)
		c.ConversationID = lastNonEmpty(c.ConversationID, r.ConversationID)
		c.DurationSeconds = max(c.DurationSeconds, r.DurationSeconds)
		if r.Status == "" {
			continue // a non-status event never sets the status
		}
		if b, seen := best[o]; !seen || ranksAbove(r.StatusRank, r.OccurredAt, r.ReceivedAt, b.StatusRank, b.OccurredAt, b.ReceivedAt) {
			best[o] = r
		}
	}
	if err := s.addConversationEvents(ctx, scope, rows, byOwner); err != nil {
		return nil, fmt.Errorf("storage: read call %q: %w", id, err)
	}
	out := make([]Call, 0, len(byOwner))
	for o, c := range byOwner {
		if b, ok := best[o]; ok {
			at := b.OccurredAt
			c.Status, c.StatusAt = b.Status, &at
		}
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b Call) int { return ownerOrder(a.Owner(), b.Owner()) })
	return out, nil
}

// timelineEvent is a stored call event as a call's timeline shows it.
func timelineEvent(r schema.CallEvent) CallEvent {
	return CallEvent{
		EventID: r.EventID.String(), Status: r.Status, ProviderStatus: r.ProviderStatus,
		OccurredAt: r.OccurredAt, ReceivedAt: r.ReceivedAt, Detail: r.Detail,
	}
}

// addConversationEvents adds to each call's timeline the events of its
// conversations that name no call (Vonage recordings carry only the
// conversation), keeping the timeline in provider-time order. Such an event
// has no status, so it changes nothing but the timeline. A conversation
// belongs to its owner: another tenant's event under the same conversation
// id never joins.
func (s *Store) addConversationEvents(ctx context.Context, scope Scope, callRows []schema.CallEvent, calls map[Owner]*Call) error {
	conversations := map[Owner][]string{}
	for _, r := range callRows {
		o := Owner{Tenant: r.Tenant, Provider: r.Provider}
		if r.ConversationID != "" && !slices.Contains(conversations[o], r.ConversationID) {
			conversations[o] = append(conversations[o], r.ConversationID)
		}
	}
	for o, ids := range conversations {
		w := where{scope.condition(), "call_id = ''", "conversation_id IN " + quoteList(ids)}
		o.narrow(&w)
		q := "SELECT event_id, status, provider_status, occurred_at, received_at, detail FROM " +
			s.table("call_events") + " FINAL" + w.String()
		rows, err := selectAll[schema.CallEvent](ctx, s.conn, q)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			continue
		}
		c := calls[o]
		for _, r := range rows {
			c.Events = append(c.Events, timelineEvent(r))
		}
		sort.SliceStable(c.Events, func(i, j int) bool {
			a, b := c.Events[i], c.Events[j]
			if !a.OccurredAt.Equal(b.OccurredAt) {
				return a.OccurredAt.Before(b.OccurredAt)
			}
			return a.ReceivedAt.Before(b.ReceivedAt)
		})
	}
	return nil
}

func lastNonEmpty(current, next string) string {
	if next != "" {
		return next
	}
	return current
}
