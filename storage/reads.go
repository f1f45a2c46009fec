package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hookledger/hookledger/schema"
)

// Scope limits reads to the tenants an API token may see.
type Scope struct {
	All     bool     // every tenant ("*")
	Tenants []string // when !All
}

// Sees reports whether the scope includes tenant.
func (sc Scope) Sees(tenant string) bool { return sc.All || slices.Contains(sc.Tenants, tenant) }

func (sc Scope) condition() string {
	if sc.All {
		return "1"
	}
	if len(sc.Tenants) == 0 {
		return "0"
	}
	return "tenant IN " + quoteList(sc.Tenants)
}

// MessageEvent is one logical event in a message's history (docs/query-api.md#get-v1messagesmessage_id).
type MessageEvent struct {
	EventID        string    `json:"event_id"`
	Status         string    `json:"status"`
	ProviderStatus string    `json:"provider_status"`
	OccurredAt     time.Time `json:"occurred_at"`
	ReceivedAt     time.Time `json:"received_at"`
	ErrorCode      string    `json:"error_code"`
	ErrorDetail    string    `json:"error_detail"`
}

// Message is a message's current state and, for single reads, its history.
type Message struct {
	MessageID string         `json:"message_id"`
	Provider  string         `json:"provider"`
	Tenant    string         `json:"tenant"`
	Source    string         `json:"source"`
	Status    string         `json:"status"`
	StatusAt  time.Time      `json:"status_at"`
	To        string         `json:"to"`
	From      string         `json:"from"`
	ErrorCode string         `json:"error_code"`
	Events    []MessageEvent `json:"events,omitempty"`
}

// ranksAbove reports whether a is a better "current status" than b: higher
// rank, then later provider time, then later receive time (docs/vocabularies.md#ranking).
func ranksAbove(aRank uint8, aOcc, aRecv time.Time, bRank uint8, bOcc, bRecv time.Time) bool {
	if aRank != bRank {
		return aRank > bRank
	}
	if !aOcc.Equal(bOcc) {
		return aOcc.After(bOcc)
	}
	return aRecv.After(bRecv)
}

// Owner is the (tenant, provider) half of an object's identity. A message
// or call id is unique per provider only, and a tenant can report any id
// from its own sources, so a message or call is (tenant, provider, id):
// single reads never merge what two owners report under one id.
type Owner struct {
	Tenant   string `json:"tenant"`
	Provider string `json:"provider"`
}

// narrow adds w's conditions for the fields of o that are set.
func (o Owner) narrow(w *where) {
	if o.Tenant != "" {
		w.add("tenant = " + quote(o.Tenant))
	}
	if o.Provider != "" {
		w.add("provider = " + quote(o.Provider))
	}
}

// Owner returns the (tenant, provider) m belongs to.
func (m Message) Owner() Owner { return Owner{Tenant: m.Tenant, Provider: m.Provider} }

// ownerOrder sorts owners by tenant, then provider: single reads return
// their candidates in this order.
func ownerOrder(a, b Owner) int {
	if c := strings.Compare(a.Tenant, b.Tenant); c != 0 {
		return c
	}
	return strings.Compare(a.Provider, b.Provider)
}

// Messages returns message id's state per owner (tenant, provider) in
// scope that knows it, narrowed to the set fields of want, in ownerOrder,
// each with its own events oldest first. More than one means the id is
// ambiguous. It returns ErrNotFound when the scope sees none.
//
// It reads message_events_by_id (migration 0006), sorted by message id
// first in small granules: one granule per part, whatever the tenant.
func (s *Store) Messages(ctx context.Context, scope Scope, id string, want Owner) ([]Message, error) {
	w := where{scope.condition(), "message_id = " + quote(id)}
	want.narrow(&w)
	q := "SELECT event_id, tenant, source, provider, message_id, status, status_rank," +
		" provider_status, occurred_at, received_at, `to`, `from`, error_code, error_detail FROM " +
		s.table("message_events_by_id") + " FINAL" + w.String() + " ORDER BY tenant, provider, occurred_at, received_at, dedup_key"
	byOwner := map[Owner]*Message{}
	best := map[Owner]schema.MessageEvent{}
	err := s.conn.Select(ctx, q, func(row []byte) error {
		var r schema.MessageEvent
		if err := json.Unmarshal(row, &r); err != nil {
			return err
		}
		o := Owner{Tenant: r.Tenant, Provider: r.Provider}
		m, ok := byOwner[o]
		if !ok {
			m = &Message{MessageID: r.MessageID, Provider: r.Provider, Tenant: r.Tenant}
			byOwner[o] = m
		}
		m.Events = append(m.Events, MessageEvent{
			EventID: r.EventID.String(), Status: r.Status, ProviderStatus: r.ProviderStatus,
			OccurredAt: r.OccurredAt, ReceivedAt: r.ReceivedAt, ErrorCode: r.ErrorCode, ErrorDetail: r.ErrorDetail,
		})
		// Addresses and the source come from whichever event carries them;
		// the latest received wins.
		if r.To != "" {
			m.To = r.To
		}
		if r.From != "" {
			m.From = r.From
		}
		m.Source = r.Source
		if b, seen := best[o]; !seen || ranksAbove(r.StatusRank, r.OccurredAt, r.ReceivedAt, b.StatusRank, b.OccurredAt, b.ReceivedAt) {
			best[o] = r
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: read message %q: %w", id, err)
	}
	if len(byOwner) == 0 {
		return nil, ErrNotFound
	}
	out := make([]Message, 0, len(byOwner))
	for o, m := range byOwner {
		b := best[o]
		m.Status, m.StatusAt, m.ErrorCode = b.Status, b.OccurredAt, b.ErrorCode
		out = append(out, *m)
	}
	slices.SortFunc(out, func(a, b Message) int { return ownerOrder(a.Owner(), b.Owner()) })
	return out, nil
}

// Callback is one stored raw request (docs/query-api.md#get-v1callbacksevent_id).
type Callback struct {
	EventID    string              `json:"event_id"`
	ReceivedAt time.Time           `json:"received_at"`
	Source     string              `json:"source"`
	Provider   string              `json:"provider"`
	Tenant     string              `json:"tenant"`
	Verdict    string              `json:"verdict"`
	Reason     string              `json:"reason"`
	Detail     string              `json:"detail"`
	KeyID      string              `json:"key_id"`
	Method     string              `json:"method"`
	URL        string              `json:"url"`
	RemoteAddr string              `json:"remote_addr"`
	Headers    map[string][]string `json:"headers"`
	BodyBase64 string              `json:"body_base64"`
	BodyBytes  uint32              `json:"body_bytes"`
	Truncated  bool                `json:"body_truncated"`
	// DeadLettered is true when the processor could not use this accepted
	// callback (it went to the dead-letter topic, with DeadLetterError);
	// its events are then missing from the history.
	DeadLettered    bool       `json:"dead_lettered"`
	DeadLetterError string     `json:"dead_letter_error,omitempty"`
	DeadLetteredAt  *time.Time `json:"dead_lettered_at,omitempty"`
}

// Callback returns the raw request with event id, either verdict.
func (s *Store) Callback(ctx context.Context, scope Scope, eventID string) (*Callback, error) {
	w := where{scope.condition(), "event_id = toUUIDOrZero(" + quote(eventID) + ")"}
	q := "SELECT event_id, received_at, source, provider, tenant, verdict, reason, detail, key_id," +
		" method, url, remote_addr, headers, body_base64, body_bytes, body_truncated FROM " +
		s.table("callbacks") + " FINAL" + w.String() + " LIMIT 1"
	var found *Callback
	err := s.conn.Select(ctx, q, func(row []byte) error {
		found = new(Callback)
		return json.Unmarshal(row, found)
	})
	if err != nil {
		return nil, fmt.Errorf("storage: read callback %q: %w", eventID, err)
	}
	if found == nil {
		return nil, ErrNotFound
	}
	if err := s.readDeadLetter(ctx, found); err != nil {
		return nil, err
	}
	return found, nil
}

// readDeadLetter adds cb's dead-letter mark, if any, to cb.
func (s *Store) readDeadLetter(ctx context.Context, cb *Callback) error {
	q := "SELECT argMax(error, dead_at) AS last_error, max(dead_at) AS last_at FROM " + s.table("dead_letters") +
		where{"tenant = " + quote(cb.Tenant), "event_id = toUUIDOrZero(" + quote(cb.EventID) + ")"}.String() +
		" GROUP BY event_id"
	err := s.conn.Select(ctx, q, func(row []byte) error {
		var r struct {
			Error  string    `json:"last_error"`
			DeadAt time.Time `json:"last_at"`
		}
		if err := json.Unmarshal(row, &r); err != nil {
			return err
		}
		cb.DeadLettered, cb.DeadLetterError, cb.DeadLetteredAt = true, r.Error, &r.DeadAt
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: read dead letter of %q: %w", cb.EventID, err)
	}
	return nil
}
