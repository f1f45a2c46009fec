package kafkalog

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
)

// TestProducerStaysWithinTheTopicLimit: with a topic that takes 64 KiB
// messages, a message too large for it is refused at once as
// ErrMessageTooLarge (not sent, so not retried for an ack timeout), and
// 300 concurrent 4 KiB records are all stored: no group-commit batch
// outgrows the limit (the fixed 900 KiB batch budget did, and the broker
// refused the whole batch).
func TestProducerStaysWithinTheTopicLimit(t *testing.T) {
	const limit = 64 << 10
	b := newBroker(t)
	ctx := context.Background()
	if err := EnsureTopics(ctx, b.brokers(), []TopicSpec{{Name: "small", Partitions: 1, ReplicationFactor: 1, MaxMessageBytes: limit}}); err != nil {
		t.Fatal(err)
	}
	limits, err := TopicMessageLimits(ctx, b.brokers(), []string{"small"})
	if err != nil || limits["small"] != limit {
		t.Fatalf("topic limit %v, %v", limits, err)
	}
	p := NewProducer(b.brokers(), WithMaxMessageBytes(limit))
	defer p.Close()

	err = p.Publish(ctx, Message{Topic: "small", Value: bytes.Repeat([]byte("x"), limit)})
	if !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("message of the limit's size: %v, want ErrMessageTooLarge", err)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 300)
	for range 300 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- p.Publish(ctx, Message{Topic: "small", Key: []byte("k"), Value: bytes.Repeat([]byte("v"), 4<<10),
				Headers: map[string]string{"hookledger-record": `{"v":2}`}})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a record well under the limit: %v", err)
		}
	}

	// Raised on the broker (as the app does for the embedded one), the
	// topic takes what it refused.
	if err := SetTopicLimit(ctx, b.brokers(), "small", 2*limit); err != nil {
		t.Fatal(err)
	}
	p2 := NewProducer(b.brokers(), WithMaxMessageBytes(2*limit))
	defer p2.Close()
	if err := p2.Publish(ctx, Message{Topic: "small", Value: bytes.Repeat([]byte("x"), limit)}); err != nil {
		t.Fatal(err)
	}
}
