package kafkalog

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// Message is one record to append.
type Message struct {
	Topic   string
	Key     []byte
	Value   []byte
	Headers map[string]string
}

// Producer appends records and waits until every in-sync replica has them
// (acks=all). It is safe for concurrent use; concurrent Publish calls are
// batched together on the wire.
type Producer struct {
	w *kafka.Writer
}

// NewProducer connects to brokers lazily; the first Publish dials.
func NewProducer(brokers []string) *Producer {
	return &Producer{w: &kafka.Writer{
		Addr:         kafka.TCP(brokers...),
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		// kafka-go holds a partial batch for BatchTimeout (default 1 s);
		// ingest answers only after the ack, so keep it to a few ms.
		BatchTimeout: 2 * time.Millisecond,
		BatchSize:    500,
		// kafka-go retries transient network errors (a connection pooled
		// before a broker restart, a refused dial) itself; the caller's
		// context bounds the attempts in time.
		MaxAttempts:     6,
		WriteBackoffMin: 10 * time.Millisecond,
		WriteBackoffMax: 200 * time.Millisecond,
		Transport: &kafka.Transport{
			DialTimeout: 3 * time.Second,
			IdleTimeout: 60 * time.Second,
		},
	}}
}

// Publish appends msgs and returns once all are acknowledged, or an error.
// On error some of msgs may have been appended; callers that retry produce
// duplicates, which hookledger's consumers are built to absorb.
func (p *Producer) Publish(ctx context.Context, msgs ...Message) error {
	km := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		km[i] = kafka.Message{Topic: m.Topic, Key: m.Key, Value: m.Value}
		for k, v := range m.Headers {
			km[i].Headers = append(km[i].Headers, kafka.Header{Key: k, Value: []byte(v)})
		}
	}
	if err := p.w.WriteMessages(ctx, km...); err != nil {
		return fmt.Errorf("kafkalog: publish: %w", err)
	}
	return nil
}

// Close flushes pending writes and closes connections.
func (p *Producer) Close() error { return p.w.Close() }
