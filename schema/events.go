package schema

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// The rows below are what the processor derives from one verified Record.
// Their DedupKey is deterministic per provider event (docs/vocabularies.md#identity-and-deduplication): a provider
// retry, a Kafka redelivery or a replay all produce the same key, and the
// ReplacingMergeTree tables keep one row per key.

// MessageEvent is one status report about an outbound message.
type MessageEvent struct {
	DedupKey       string    `json:"dedup_key" ch:"dedup_key"`
	EventID        uuid.UUID `json:"event_id" ch:"event_id"`
	Tenant         string    `json:"tenant" ch:"tenant"`
	Source         string    `json:"source" ch:"source"`
	Provider       string    `json:"provider" ch:"provider"`
	MessageID      string    `json:"message_id" ch:"message_id"`
	Status         string    `json:"status" ch:"status"`
	StatusRank     uint8     `json:"status_rank" ch:"status_rank"`
	ProviderStatus string    `json:"provider_status" ch:"provider_status"`
	OccurredAt     time.Time `json:"occurred_at" ch:"occurred_at"`
	ReceivedAt     time.Time `json:"received_at" ch:"received_at"`
	To             string    `json:"to" ch:"to"`
	From           string    `json:"from" ch:"from"`
	ErrorCode      string    `json:"error_code" ch:"error_code"`
	ErrorDetail    string    `json:"error_detail" ch:"error_detail"`
}

// Reply is one inbound message (a reply to, or independent of, an outbound
// message).
type Reply struct {
	DedupKey   string    `json:"dedup_key" ch:"dedup_key"`
	EventID    uuid.UUID `json:"event_id" ch:"event_id"`
	Tenant     string    `json:"tenant" ch:"tenant"`
	Source     string    `json:"source" ch:"source"`
	Provider   string    `json:"provider" ch:"provider"`
	ReplyID    string    `json:"reply_id" ch:"reply_id"`
	MessageID  string    `json:"message_id" ch:"message_id"` // the message it answers, when the provider says
	From       string    `json:"from" ch:"from"`
	To         string    `json:"to" ch:"to"`
	Text       string    `json:"text" ch:"text"`
	OccurredAt time.Time `json:"occurred_at" ch:"occurred_at"`
	ReceivedAt time.Time `json:"received_at" ch:"received_at"`
}

// CallEvent is one event in a call's timeline. Status is empty for events
// that do not change the call's status (recordings, input, transfers,
// answering-machine detection); ProviderStatus then names the event kind.
type CallEvent struct {
	DedupKey        string    `json:"dedup_key" ch:"dedup_key"`
	EventID         uuid.UUID `json:"event_id" ch:"event_id"`
	Tenant          string    `json:"tenant" ch:"tenant"`
	Source          string    `json:"source" ch:"source"`
	Provider        string    `json:"provider" ch:"provider"`
	CallID          string    `json:"call_id" ch:"call_id"`
	ConversationID  string    `json:"conversation_id" ch:"conversation_id"`
	Status          string    `json:"status" ch:"status"`
	StatusRank      uint8     `json:"status_rank" ch:"status_rank"`
	ProviderStatus  string    `json:"provider_status" ch:"provider_status"`
	OccurredAt      time.Time `json:"occurred_at" ch:"occurred_at"`
	ReceivedAt      time.Time `json:"received_at" ch:"received_at"`
	To              string    `json:"to" ch:"to"`
	From            string    `json:"from" ch:"from"`
	Direction       string    `json:"direction" ch:"direction"`
	DurationSeconds uint32    `json:"duration_seconds" ch:"duration_seconds"`
	Detail          string    `json:"detail" ch:"detail"`
}

// Normalised is everything one verified record turned into. A record may
// legitimately produce nothing (an event kind hookledger does not track).
type Normalised struct {
	Messages []MessageEvent
	Replies  []Reply
	Calls    []CallEvent
}

// Rows counts n's rows across all tables.
func (n Normalised) Rows() int { return len(n.Messages) + len(n.Replies) + len(n.Calls) }

// Empty reports whether n holds no rows.
func (n Normalised) Empty() bool { return n.Rows() == 0 }

// Add appends other's rows to n, so a batch of records is stored with one
// insert per table.
func (n *Normalised) Add(other Normalised) {
	n.Messages = append(n.Messages, other.Messages...)
	n.Replies = append(n.Replies, other.Replies...)
	n.Calls = append(n.Calls, other.Calls...)
}

// Bounds of a row's identity: MaxIDBytes for each id it carries (message,
// reply, call, conversation, answered message), MaxDedupKeyBytes for its
// dedup key. Provider ids are a few dozen ASCII bytes; the query API takes
// ids and filter values up to MaxIDBytes, so every stored id can be asked
// for.
const (
	MaxIDBytes       = 1024
	MaxDedupKeyBytes = 4 * MaxIDBytes
)

// ErrBadIdentity is wrapped by CheckIdentity's errors.
var ErrBadIdentity = errors.New("identity cannot be stored exactly")

// CheckIdentity reports the first id or dedup key of n's rows that could
// not be stored and found again exactly: one that is not valid UTF-8, holds
// U+FFFD, or exceeds its bound.
//
// Ids are kept byte for byte or refused, never rewritten. Rows travel to
// ClickHouse and out of the query API as JSON, which has no way to carry
// invalid UTF-8: encoding/json turns each bad byte into U+FFFD, so SM\xff
// and SM\xfe would become one message, and asking for SM\xff would find
// nothing. A decoder upstream (the JSON payload's) may already have made
// that substitution, which is why U+FFFD itself is refused: no provider
// issues an id holding it, so it can only mark bytes already lost.
func (n Normalised) CheckIdentity() error {
	for _, r := range n.Messages {
		if err := checkIDs("message event", r.DedupKey, r.MessageID); err != nil {
			return err
		}
	}
	for _, r := range n.Replies {
		if err := checkIDs("reply", r.DedupKey, r.ReplyID, r.MessageID); err != nil {
			return err
		}
	}
	for _, r := range n.Calls {
		if err := checkIDs("call event", r.DedupKey, r.CallID, r.ConversationID); err != nil {
			return err
		}
	}
	return nil
}

func checkIDs(row, dedupKey string, ids ...string) error {
	if err := checkID(dedupKey, MaxDedupKeyBytes); err != nil {
		return fmt.Errorf("%w: %s dedup key %q: %s", ErrBadIdentity, row, truncated(dedupKey), err)
	}
	for _, id := range ids {
		if err := checkID(id, MaxIDBytes); err != nil {
			return fmt.Errorf("%w: %s id %q: %s", ErrBadIdentity, row, truncated(id), err)
		}
	}
	return nil
}

func checkID(id string, limit int) error {
	switch {
	case len(id) > limit:
		return fmt.Errorf("%d bytes, more than %d", len(id), limit)
	case !utf8.ValidString(id):
		return errors.New("not valid UTF-8")
	case strings.ContainsRune(id, utf8.RuneError):
		return errors.New("holds U+FFFD, the mark of bytes a decoder could not read")
	}
	return nil
}

// truncated shortens s for an error message.
func truncated(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// DeadLetter marks a verified record the processor could not use: it was
// sent to the dead-letter topic with Error. Unusable is true when no retry
// or replay of this build can use it (provider.ErrUnusable).
type DeadLetter struct {
	EventID    uuid.UUID `json:"event_id" ch:"event_id"`
	Tenant     string    `json:"tenant" ch:"tenant"`
	Source     string    `json:"source" ch:"source"`
	Provider   string    `json:"provider" ch:"provider"`
	ReceivedAt time.Time `json:"received_at" ch:"received_at"`
	DeadAt     time.Time `json:"dead_at" ch:"dead_at"`
	Unusable   bool      `json:"unusable" ch:"unusable"`
	Error      string    `json:"error" ch:"error"`
}
