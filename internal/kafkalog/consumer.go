package kafkalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/segmentio/kafka-go"
)

// Fetched is one consumed record.
type Fetched struct {
	Topic     string
	Partition int
	Offset    int64
	Key       []byte
	Value     []byte
	Headers   map[string]string
}

// ConsumerOptions configure a Consumer.
type ConsumerOptions struct {
	Brokers  []string
	Group    string
	Topic    string
	ClientID string // distinguishes this member in the group, for readiness
	// BatchSize and FlushInterval bound one batch: it is handed over when
	// it is full or FlushInterval after its first record.
	BatchSize     int
	FlushInterval time.Duration
	Logger        *slog.Logger
}

// Consumer reads a topic as a member of a consumer group and commits a
// batch's offsets only after the batch's handler succeeded, so a crash
// between the two redelivers the batch (at-least-once).
type Consumer struct {
	o ConsumerOptions
	r *kafka.Reader
}

// NewConsumer joins the group lazily, on the first fetch.
func NewConsumer(o ConsumerOptions) *Consumer {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:     o.Brokers,
		GroupID:     o.Group,
		Topic:       o.Topic,
		Dialer:      &kafka.Dialer{ClientID: o.ClientID, Timeout: 5 * time.Second},
		MinBytes:    1,
		MaxBytes:    16 << 20,
		MaxWait:     250 * time.Millisecond,
		StartOffset: kafka.FirstOffset,
		// Offsets are committed explicitly after storage succeeded.
		CommitInterval: 0,
		// kfake's minimum session timeout is 6 s; real brokers accept it too.
		SessionTimeout:        10 * time.Second,
		HeartbeatInterval:     time.Second,
		RebalanceTimeout:      10 * time.Second,
		JoinGroupBackoff:      500 * time.Millisecond,
		ReadBackoffMin:        50 * time.Millisecond,
		ReadBackoffMax:        500 * time.Millisecond,
		WatchPartitionChanges: true,
	})
	return &Consumer{o: o, r: r}
}

// Handler stores one batch. It returns an error only when the batch could
// not be stored and should be retried as a whole.
type Handler func(ctx context.Context, batch []Fetched) error

// Run consumes until ctx is done. A failing batch is retried with backoff
// until it succeeds; it is never skipped.
func (c *Consumer) Run(ctx context.Context, handle Handler) error {
	for {
		batch, err := c.fetchBatch(ctx)
		if len(batch) == 0 {
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				c.o.Logger.Warn("kafka fetch failed", "topic", c.o.Topic, "err", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		if !c.handleWithRetry(ctx, handle, batch) {
			return nil // shutting down; the batch is redelivered later
		}
		if err := c.commit(batch); err != nil {
			// Not fatal: the batch is stored; a redelivery is absorbed by
			// deduplication.
			c.o.Logger.Warn("kafka commit failed", "topic", c.o.Topic, "err", err)
		}
	}
}

func (c *Consumer) fetchBatch(ctx context.Context) ([]Fetched, error) {
	first, err := c.r.FetchMessage(ctx)
	if err != nil {
		return nil, err
	}
	batch := []Fetched{toFetched(first)}
	deadline, cancel := context.WithTimeout(ctx, c.o.FlushInterval)
	defer cancel()
	for len(batch) < c.o.BatchSize {
		m, err := c.r.FetchMessage(deadline)
		if err != nil {
			break // deadline, shutdown or a fetch error: hand over what we have
		}
		batch = append(batch, toFetched(m))
	}
	return batch, nil
}

func (c *Consumer) handleWithRetry(ctx context.Context, handle Handler, batch []Fetched) bool {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := handle(ctx, batch)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		c.o.Logger.Error("storing batch failed; retrying", "topic", c.o.Topic, "records", len(batch),
			"attempt", attempt, "retry_in", backoff, "err", err)
		if !sleep(ctx, backoff) {
			return false
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

func (c *Consumer) commit(batch []Fetched) error {
	// The batch is stored: commit even while shutting down, so a graceful
	// stop does not redeliver it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs := make([]kafka.Message, len(batch))
	for i, f := range batch {
		msgs[i] = kafka.Message{Topic: f.Topic, Partition: f.Partition, Offset: f.Offset}
	}
	return c.r.CommitMessages(ctx, msgs...)
}

// WaitJoined blocks until this consumer is a member of its group with
// partitions assigned, or ctx ends.
func (c *Consumer) WaitJoined(ctx context.Context) error {
	client, closeClient := adminClient(c.o.Brokers)
	defer closeClient()
	for {
		resp, err := client.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{c.o.Group}})
		if err == nil {
			for _, g := range resp.Groups {
				if g.GroupState != "Stable" {
					continue
				}
				for _, m := range g.Members {
					if m.ClientID == c.o.ClientID && len(m.MemberAssignments.Topics) > 0 {
						return nil
					}
				}
			}
		}
		if !sleep(ctx, 200*time.Millisecond) {
			return fmt.Errorf("kafkalog: group %s not joined: %w", c.o.Group, errors.Join(ctx.Err(), err))
		}
	}
}

// Close leaves the group.
func (c *Consumer) Close() error { return c.r.Close() }

func toFetched(m kafka.Message) Fetched {
	f := Fetched{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: m.Key, Value: m.Value}
	if len(m.Headers) > 0 {
		f.Headers = make(map[string]string, len(m.Headers))
		for _, h := range m.Headers {
			f.Headers[h.Key] = string(h.Value)
		}
	}
	return f
}

// sleep waits d or until ctx ends, reporting whether the full d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
