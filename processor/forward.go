package processor

import (
	"context"
	"fmt"
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
type Forwarder struct {
	pub           Publisher
	verifiedTopic string
}

// ForwardFlushInterval bounds how long the forwarder's consumer gathers a
// batch after its first record (processor.flush_interval when shorter).
// The forwarder only copies, so a batch costs one produce round and one
// commit; every wait here would delay the history consumer's batch, which
// has a flush interval of its own.
const ForwardFlushInterval = 10 * time.Millisecond

// NewForwarder builds a Forwarder appending to verifiedTopic through pub.
func NewForwarder(pub Publisher, verifiedTopic string) *Forwarder {
	return &Forwarder{pub: pub, verifiedTopic: verifiedTopic}
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
	if err := f.pub.Publish(ctx, msgs...); err != nil {
		return fmt.Errorf("processor: forward to %s: %w", f.verifiedTopic, err)
	}
	return nil
}
