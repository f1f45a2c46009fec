// Package provider declares what hookledger needs from an SMS or voice
// provider, and nothing provider-specific. Each provider lives in its own
// sub-package (provider/messagemedia, provider/vonage, provider/signalwire)
// and implements Provider; adding a provider means adding such a package and
// registering it in provider/providers.
//
// Ingest consumes the Verifier side, the processor the Normalise side.
package provider

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hookledger/hookledger/schema"
)

// Provider is one SMS/voice provider.
type Provider interface {
	// Name is the provider's name as written in config ("signalwire").
	Name() string
	// NewVerifier builds the verifier of one source from that source's
	// provider block. It validates the block and returns an error naming the
	// offending field (relative to the block) when it is wrong.
	NewVerifier(src Source, deps Deps) (Verifier, error)
	// Normalise turns one verified record into the rows hookledger stores.
	// An error wrapping ErrUnusable means the record can never be normalised
	// and belongs in the dead-letter topic.
	Normalise(rec *schema.Record) (schema.Normalised, error)
}

// Acknowledger is implemented by providers that expect a specific body in
// the 200 answer (SignalWire expects an empty cXML document).
type Acknowledger interface {
	Ack(eventID string) (contentType string, body []byte)
}

// Source is what a provider sees of one configured source.
type Source struct {
	ID     string
	Tenant string
	// Decode decodes the source's provider block (the YAML mapping under the
	// provider's name) into a provider-specific settings struct.
	Decode func(into any) error
}

// Deps are the shared services a verifier may use.
type Deps struct {
	// Replays remembers one-time tokens (Vonage jti). Never nil.
	Replays ReplayGuard
	// Now is the clock; tests pin it.
	Now func() time.Time
}

// ReplayGuard remembers keys until their expiry. Implementations must keep
// what they remember across a restart.
type ReplayGuard interface {
	// FirstUse records key, a token issued at issued, until expires and
	// reports whether it was not already remembered. It is atomic: of two
	// concurrent calls with the same key, exactly one returns true. A guard
	// that lost memory refuses a token issued before the loss with an error
	// wrapping ErrReplayMemoryLost: the verifier rejects it as replayed.
	FirstUse(ctx context.Context, key string, issued, expires time.Time) (bool, error)
	// Forget drops key, so its next use is a first use again. Ingest calls
	// it (through Verified.Release) when a verified callback could not be
	// stored: the provider's retry of that same signed request is genuine
	// and must not be refused as a replay.
	Forget(ctx context.Context, key string) error
}

// ErrReplayMemoryLost is wrapped by ReplayGuard.FirstUse for a token
// issued before the guard lost part of what it remembered: it may be a
// replay of a token the guard no longer knows, so it is refused.
var ErrReplayMemoryLost = errors.New("replay memory lost for tokens issued before the loss")

// Verifier proves that a request was signed by the provider.
type Verifier interface {
	// Verify returns which key verified req, or an error. A request that
	// fails verification returns a *Rejection (match with errors.As); any
	// other error is an internal failure (for example the replay store is
	// down) and must not be answered as a rejection.
	Verify(ctx context.Context, req *Request) (Verified, error)
}

// Verified describes a successful verification.
type Verified struct {
	// KeyID names the configured key that verified the request: the
	// provider's key id, or a fingerprint of a secret (never the secret).
	KeyID string
	// Release, when set, undoes what verification consumed (a one-time
	// token). Ingest calls it when the callback is not stored after all
	// (Kafka did not acknowledge), before answering 503.
	Release func(ctx context.Context) error
}

// Rejection is a verification failure with its fixed reason and an operator
// diagnosis. The diagnosis goes to the audit record only, never to the HTTP
// answer, because it can help a forger.
type Rejection struct {
	Reason schema.Reason
	Detail string
}

func (r *Rejection) Error() string {
	if r.Detail == "" {
		return string(r.Reason)
	}
	return string(r.Reason) + ": " + r.Detail
}

// Reject builds a *Rejection with a formatted diagnosis.
func Reject(reason schema.Reason, format string, args ...any) *Rejection {
	return &Rejection{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// ErrUnusable marks a verified record that can never be normalised (its
// payload is not one the provider sends). Such records go to the dead-letter
// topic instead of stalling a partition.
var ErrUnusable = errors.New("unusable payload")

// Unusable wraps ErrUnusable with a description.
func Unusable(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnusable, fmt.Sprintf(format, args...))
}
