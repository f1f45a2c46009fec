package kafkalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
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
	Time      time.Time // when the record was appended (the producer's timestamp); zero if unknown
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
	// BehindAfter is the age past which a record counts as backlog: a
	// batch past its FlushInterval goes on taking such records (see
	// fetchBatch); 0 means FlushInterval. A consumer with a very short
	// FlushInterval (the forwarder) sets it higher, or every record would
	// look behind by the time it is fetched.
	BehindAfter time.Duration
	// CheckInterval is how often Run compares the group's committed
	// offsets with the log (see CheckOffsets); default 5 s.
	CheckInterval time.Duration
	// OnReset, if set, is told of every partition Run moves back to its
	// log start after broker data damage (metrics).
	OnReset func(OffsetReset)
	// OnLag, if set, is told after every offset check how far the group's
	// committed offset of each partition trails the log end (metrics).
	OnLag func(PartitionLag)
	// Pipeline is how many batches may be in the handler at once (default
	// 1): the next batch is fetched and handled while earlier ones are
	// still being stored, on one partition or several. Batches are
	// committed in fetch order, each only once it and every batch before
	// it were stored, so at-least-once holds; a handler given more than one
	// must be safe for concurrent use and must not depend on the order in
	// which batches are stored.
	Pipeline int
	Logger   *slog.Logger
}

// Consumer reads a topic as a member of a consumer group and commits a
// batch's offsets only after the batch's handler succeeded, so a crash
// between the two redelivers the batch (at-least-once).
//
// It also guards against a broker that lost records the group consumed:
// a committed offset past the log end, or a log whose end or start moved
// backwards, would make the group skip every record appended below its
// offset. Such a partition is logged as an error and re-read from its log
// start; records are never skipped.
type Consumer struct {
	o ConsumerOptions
	r *kafka.Reader

	mu        sync.Mutex // guards bounds, pending, nextCheck
	bounds    logBounds
	pending   []OffsetReset
	nextCheck time.Time
}

// NewConsumer joins the group lazily, on the first fetch.
func NewConsumer(o ConsumerOptions) *Consumer {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.CheckInterval <= 0 {
		o.CheckInterval = 5 * time.Second
	}
	c := &Consumer{o: o, bounds: logBounds{}}
	c.r = c.newReader()
	return c
}

// fetchBytes bounds one fetch response. A fetch the consumer is slow to
// take (its batches in flight are being stored) times out mid-response and
// is fetched again from there: the smaller the response, the less is read
// and sent twice (16 MiB cost the embedded broker 4× the records' bytes in
// BenchmarkThroughput). Brokers return a partition's first record batch
// whole even when it is larger (KIP-74; kfake too), so any record arrives.
const fetchBytes = 4 << 20

func (c *Consumer) newReader() *kafka.Reader {
	o := c.o
	return kafka.NewReader(kafka.ReaderConfig{
		Brokers:     o.Brokers,
		GroupID:     o.Group,
		Topic:       o.Topic,
		Dialer:      &kafka.Dialer{ClientID: o.ClientID, Timeout: 5 * time.Second},
		MinBytes:    1,
		MaxBytes:    fetchBytes,
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
}

// Handler stores one batch. It returns an error only when the batch could
// not be stored and should be retried as a whole.
type Handler func(ctx context.Context, batch []Fetched) error

// Run consumes until ctx is done. A failing batch is retried with backoff
// until it succeeds; it is never skipped.
//
// Every CheckInterval, between batches, it checks the group's offsets
// against the log (CheckOffsets) and applies the resets found before
// fetching again, once the batches in flight are committed.
//
// When ctx ends, Run stops fetching, waits for the batches in the handler
// and commits those stored before it returns.
func (c *Consumer) Run(ctx context.Context, handle Handler) error {
	p := newPipeline(ctx, c, handle, max(1, c.o.Pipeline))
	defer p.close()
	for {
		if c.checkDue() {
			if err := c.CheckOffsets(ctx); err != nil && ctx.Err() == nil {
				c.o.Logger.Warn("kafka offset check failed", "topic", c.o.Topic, "err", err)
			}
		}
		if c.resetsPending() {
			p.drain() // no commit of a batch read before the damage may follow the reset
		}
		if !c.applyResets(ctx) {
			return nil
		}
		batch, err := c.fetchBatch(ctx)
		if len(batch) == 0 {
			if ctx.Err() != nil {
				return nil
			}
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				c.o.Logger.Warn("kafka fetch failed", "topic", c.o.Topic, "err", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		if !p.submit(batch) {
			return nil // shutting down; the batch is redelivered later
		}
	}
}

func (c *Consumer) resetsPending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending) > 0
}

// backlogGap is how long a batch past its FlushInterval waits for the next
// record of a backlog: the reader's next fetch round trip, not new records.
const backlogGap = 50 * time.Millisecond

// fetchBatch waits for a first record until the next offset check is due
// (then it returns no records and context.DeadlineExceeded), and for more
// until the batch is full or FlushInterval passed. Past FlushInterval it
// goes on adding records that were appended more than BehindAfter ago
// (a backlog: the consumer is behind), as long as each comes within
// backlogGap, and stops after the first recent one: a full batch costs
// less per record to store, so a consumer that is behind catches up on
// less CPU, while no record waits for records appended after it.
func (c *Consumer) fetchBatch(ctx context.Context) ([]Fetched, error) {
	c.mu.Lock()
	waitUntil := c.nextCheck
	c.mu.Unlock()
	firstCtx, cancelFirst := context.WithDeadline(ctx, waitUntil)
	first, err := c.r.FetchMessage(firstCtx)
	cancelFirst()
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
	for len(batch) < c.o.BatchSize && c.backlog(batch[len(batch)-1].Time, time.Now()) {
		gap, cancelGap := context.WithTimeout(ctx, backlogGap)
		m, err := c.r.FetchMessage(gap)
		cancelGap()
		if err != nil {
			break
		}
		batch = append(batch, toFetched(m))
	}
	return batch, nil
}

// backlog reports whether a record appended at appended (zero: unknown,
// never backlog) was already waiting in the log as of now: longer than
// BehindAfter, or FlushInterval when that is 0.
func (c *Consumer) backlog(appended, now time.Time) bool {
	behindAfter := c.o.BehindAfter
	if behindAfter == 0 {
		behindAfter = c.o.FlushInterval
	}
	return !appended.IsZero() && now.Sub(appended) > behindAfter
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

// CheckOffsets compares the group's committed offsets and the log bounds of
// every partition with what this consumer saw before, logs each partition
// found damaged as an error, reports it to OnReset and schedules its
// re-read from the log start, which Run applies before its next fetch.
//
// Run calls it every CheckInterval. Call it once before anything can
// append to the topic (the app does, before ingest listens): a log that
// lost records and was then refilled past the committed offset looks
// healthy by offsets alone.
func (c *Consumer) CheckOffsets(ctx context.Context) error {
	c.mu.Lock()
	c.nextCheck = time.Now().Add(c.o.CheckInterval)
	c.mu.Unlock()
	now, err := readPartitions(ctx, c.o.Brokers, c.o.Group, c.o.Topic)
	if err != nil {
		return err
	}
	if c.o.OnLag != nil {
		for p, s := range now {
			c.o.OnLag(PartitionLag{Topic: c.o.Topic, Group: c.o.Group, Partition: p, Lag: s.lag()})
		}
	}
	c.mu.Lock()
	resets := c.bounds.damaged(c.o.Topic, now)
	c.pending = append(c.pending, resets...)
	c.mu.Unlock()
	for _, r := range resets {
		c.o.Logger.Error("KAFKA LOG DAMAGED: the broker lost records this consumer group had read; "+
			"re-reading the partition from its log start (stored records are deduplicated)",
			"topic", r.Topic, "partition", r.Partition, "group", c.o.Group, "cause", r.Cause,
			"committed", r.Committed, "log_start", r.LogStart, "log_end", r.LogEnd,
			"prev_log_start", r.PrevStart, "prev_log_end", r.PrevEnd, "reset_to", r.To())
		if c.o.OnReset != nil {
			c.o.OnReset(r)
		}
	}
	return nil
}

func (c *Consumer) checkDue() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !time.Now().Before(c.nextCheck)
}

// applyResets commits the scheduled log-start offsets as a member of the
// group, then replaces the reader: a reader keeps its in-memory positions
// until it rejoins, and reads committed offsets when it does. It retries
// until the commit succeeds and reports false only when ctx ended first.
// Run calls it between batches, so no commit of a batch read before the
// damage can overwrite a reset.
func (c *Consumer) applyResets(ctx context.Context) bool {
	c.mu.Lock()
	resets := c.pending
	c.mu.Unlock()
	if len(resets) == 0 {
		return true
	}
	msgs := make([]kafka.Message, len(resets))
	for i, r := range resets {
		// kafka-go commits a message's offset + 1.
		msgs[i] = kafka.Message{Topic: r.Topic, Partition: r.Partition, Offset: r.To() - 1}
	}
	backoff := 100 * time.Millisecond
	for {
		commitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := c.r.CommitMessages(commitCtx, msgs...)
		cancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return false
		}
		c.o.Logger.Error("committing offset reset failed; retrying", "topic", c.o.Topic, "err", err)
		if !sleep(ctx, backoff) {
			return false
		}
		backoff = min(backoff*2, 10*time.Second)
	}
	if err := c.r.Close(); err != nil {
		c.o.Logger.Warn("closing kafka reader for offset reset", "topic", c.o.Topic, "err", err)
	}
	c.r = c.newReader()
	c.mu.Lock()
	c.pending = c.pending[len(resets):]
	c.mu.Unlock()
	c.o.Logger.Warn("kafka offset reset committed; re-reading", "topic", c.o.Topic, "group", c.o.Group, "partitions", len(resets))
	return true
}

// Close leaves the group.
func (c *Consumer) Close() error { return c.r.Close() }

func toFetched(m kafka.Message) Fetched {
	f := Fetched{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: m.Key, Value: m.Value, Time: m.Time}
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
