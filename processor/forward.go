package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hookledger/hookledger/internal/kafkalog"
	"github.com/hookledger/hookledger/schema"
)

// Forwarder fills the verified topic: it reads the raw topic and appends
// every record schema.ToForward selects (accepted, written by an ingest
// that leaves the verified copy to the processor), with the same key,
// value and headers. Run as a consumer-group handler it is at-least-once:
// a batch's offsets are committed only after the verified topic
// acknowledged all of it, so a crash in between forwards the batch again,
// and the history consumer's deduplication absorbs the copies.
//
// A record the verified topic can never take (kafkalog.ErrMessageTooLarge:
// accepted under a larger ingest.max_body_bytes than the topic or this
// process allows now) is not retried forever, which would stall every
// later record of its partition: it is logged at ERROR and passed over.
// It stays in the raw topic and in the audit table; `hookledger replay`
// reads it from there into the history.
type Forwarder struct {
	pub           Publisher
	verifiedTopic string
	log           *slog.Logger
}

// ForwardFlushInterval bounds how long the forwarder's consumer gathers a
// batch after its first record (processor.flush_interval when shorter).
// The forwarder only copies, so a batch costs one produce round and one
// commit; every wait here would delay the history consumer's batch, which
// has a flush interval of its own.
const ForwardFlushInterval = 10 * time.Millisecond

// NewForwarder builds a Forwarder appending to verifiedTopic through pub.
func NewForwarder(pub Publisher, verifiedTopic string) *Forwarder {
	return &Forwarder{pub: pub, verifiedTopic: verifiedTopic, log: slog.Default()}
}

// WithLogger sets where passed-over records are reported.
func (f *Forwarder) WithLogger(log *slog.Logger) *Forwarder {
	f.log = log
	return f
}

// Handle forwards the selected records of one raw-topic batch and returns
// once the verified topic has acknowledged them.
func (f *Forwarder) Handle(ctx context.Context, batch []kafkalog.Fetched) error {
	var msgs []kafkalog.Message
	for _, r := range batch {
		if schema.ToForward(r.Headers) {
			msgs = append(msgs, kafkalog.Message{Topic: f.verifiedTopic, Key: r.Key, Value: r.Value, Headers: r.Headers})
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	err := f.pub.Publish(ctx, msgs...)
	if errors.Is(err, kafkalog.ErrMessageTooLarge) {
		err = f.publishFitting(ctx, msgs)
	}
	if err != nil {
		return fmt.Errorf("processor: forward to %s: %w", f.verifiedTopic, err)
	}
	return nil
}

// publishFitting forwards msgs one by one, passing over those the topic
// can never take.
func (f *Forwarder) publishFitting(ctx context.Context, msgs []kafkalog.Message) error {
	for _, m := range msgs {
		err := f.pub.Publish(ctx, m)
		if errors.Is(err, kafkalog.ErrMessageTooLarge) {
			f.log.Error("accepted record too large for the verified topic: not forwarded; it stays in the raw topic and the audit table, and `hookledger replay` brings it into the history",
				"topic", f.verifiedTopic, "bytes", len(m.Value), "err", err)
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}
