package kafkalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"
	metadataAPI "github.com/segmentio/kafka-go/protocol/metadata"
)

// Message is one record to append.
type Message struct {
	Topic   string
	Key     []byte
	Value   []byte
	Headers map[string]string
}

// ErrClosed is returned by Publish after Close.
var ErrClosed = errors.New("kafkalog: producer closed")

// Group-commit bounds of one produce request. A topic's max.message.bytes
// applies to a whole record batch, so a batch stays under the producer's
// limit (WithMaxMessageBytes; Kafka's default 1 MiB without it) and under
// maxBatchBytes; a single record larger than maxBatchBytes is sent alone.
const (
	maxBatchBytes   = 900 << 10
	maxBatchRecords = 2000
	// defaultMaxMessageBytes is Kafka's default max.message.bytes.
	defaultMaxMessageBytes = 1048588
	// recordOverhead and headerOverhead bound a record's framing in a
	// batch from above (varint length, attributes, timestamp and offset
	// deltas, key and value lengths, header count; each header's two
	// lengths), so a batch's estimate is never below its encoded size.
	recordOverhead = 36
	headerOverhead = 10
	// defaultRoundTimeout bounds a produce request whose waiters carry no
	// deadline.
	defaultRoundTimeout = 30 * time.Second
	// partitionsTTL is how long a topic's partition count is trusted
	// before it is looked up again (partitions can be added to a topic).
	partitionsTTL = 30 * time.Second
	maxCohortWait = 2 * time.Millisecond
)

// Producer appends records with acks=all by group commit: each partition
// has one writer loop that takes everything queued for it, sends one
// produce request and completes every waiter with the outcome; what arrives
// while a request is in flight joins the next one (with the embedded
// broker's SyncWrites: one fsync pair per partition per round).
//
// There is no linger: a lone record, or a queue already as large as the
// last round, leaves at once. Only when the publishers just acknowledged
// have not all come back yet does a round wait for them, at most half the
// last round's duration (2 ms at most). Without that wait, publishers
// split into two cohorts that alternate, each round carrying half of them
// (BenchmarkPublish: 16 instead of 32 records per round from 32
// publishers, twice the fsyncs per record).
//
// A record's partition is what kafka-go's Hash balancer picks for its key
// (round robin for a nil key). Publish succeeds only when the broker
// acknowledged every message; on any error some of the messages may still
// have been appended (duplicates are absorbed by hookledger's consumers).
// It is safe for concurrent use.
type Producer struct {
	client   *kafka.Client
	tr       *kafka.Transport
	balancer kafka.Hash
	log      *slog.Logger

	mu      sync.Mutex
	closed  bool
	writers map[topicPartition]*partitionWriter
	counts  map[string]partitionCount
	loops   sync.WaitGroup

	cohortWait float64 // fraction of the last round a round may wait for its cohort; 0: never
	syncer     LogSyncer
	maxMessage int            // the topics' max.message.bytes: no batch is larger
	syncs      sync.WaitGroup // rounds waiting for syncer

	rounds, records atomic.Int64 // acknowledged produce requests and their records
}

// ProducerStats count what the broker acknowledged.
type ProducerStats struct {
	Rounds  int64 // produce requests (one per partition per round)
	Records int64
}

// Stats reports acknowledged rounds and records since NewProducer.
func (p *Producer) Stats() ProducerStats {
	return ProducerStats{Rounds: p.rounds.Load(), Records: p.records.Load()}
}

type topicPartition struct {
	topic     string
	partition int
}

type partitionCount struct {
	n       int
	checked time.Time
}

// ProducerOption adjusts a Producer.
type ProducerOption func(*Producer)

// WithLogSyncer makes every acknowledged round durable through s before
// its publishers are answered (the embedded broker's DiskSyncer). The
// partition's next round is sent meanwhile, so fsyncs overlap produce
// requests instead of following them.
func WithLogSyncer(s LogSyncer) ProducerOption { return func(p *Producer) { p.syncer = s } }

// WithMaxMessageBytes tells the producer the max.message.bytes of the
// topics it writes (kafkalog.MessageBytes of the largest value). Publish
// refuses a message that cannot fit with ErrMessageTooLarge instead of
// sending it, and no batch outgrows the limit.
func WithMaxMessageBytes(n int64) ProducerOption { return func(p *Producer) { p.maxMessage = int(n) } }

// NewProducer connects to brokers lazily; the first Publish dials.
func NewProducer(brokers []string, opts ...ProducerOption) *Producer {
	tr := &kafka.Transport{DialTimeout: 3 * time.Second, IdleTimeout: 60 * time.Second}
	p := &Producer{
		client:     &kafka.Client{Addr: kafka.TCP(brokers...), Transport: tr},
		tr:         tr,
		log:        slog.Default(),
		cohortWait: 0.5,
		writers:    map[topicPartition]*partitionWriter{},
		counts:     map[string]partitionCount{},
		maxMessage: defaultMaxMessageBytes,
	}
	for _, o := range opts {
		o(p)
	}
	if p.syncer != nil {
		// Publishers are answered after the fsync, which groups them;
		// a produce round has no cohort of its own to wait for.
		p.cohortWait = 0
	}
	return p
}

// Publish appends msgs and returns once all are acknowledged by every
// in-sync replica, or an error: ctx's when it ends first (the messages may
// still be appended afterwards), the broker's otherwise.
//
// A message that cannot fit the producer's max.message.bytes is refused
// with ErrMessageTooLarge before any of msgs is sent.
func (p *Producer) Publish(ctx context.Context, msgs ...Message) error {
	now := time.Now()
	waits := make([]*pending, len(msgs))
	for i, m := range msgs {
		waits[i] = newPending(ctx, m, now)
		if size := waits[i].size + batchHeaderBytes; size > p.maxMessage {
			return fmt.Errorf("kafkalog: publish to %s: %w: %d bytes, max.message.bytes %d", m.Topic, ErrMessageTooLarge, size, p.maxMessage)
		}
	}
	for i, m := range msgs {
		w, err := p.writerFor(ctx, m)
		if err != nil {
			return fmt.Errorf("kafkalog: publish: %w", err)
		}
		if err := w.enqueue(waits[i]); err != nil {
			return fmt.Errorf("kafkalog: publish: %w", err)
		}
	}
	for _, pd := range waits {
		select {
		case err := <-pd.done:
			if err != nil {
				return fmt.Errorf("kafkalog: publish: %w", err)
			}
		case <-ctx.Done():
			return fmt.Errorf("kafkalog: publish: %w", ctx.Err())
		}
	}
	return nil
}

// Close lets every writer loop send what is queued, then closes the
// connections. Publish fails with ErrClosed afterwards.
func (p *Producer) Close() error {
	p.mu.Lock()
	p.closed = true
	for _, w := range p.writers {
		w.close()
	}
	p.mu.Unlock()
	p.loops.Wait()
	p.syncs.Wait()
	p.tr.CloseIdleConnections()
	return nil
}

// writerFor returns the loop of m's partition, starting it on first use.
func (p *Producer) writerFor(ctx context.Context, m Message) (*partitionWriter, error) {
	if m.Topic == "" {
		return nil, errors.New("message has no topic")
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	n, err := p.partitions(ctx, m.Topic)
	if err != nil {
		return nil, err
	}
	parts := make([]int, n)
	for i := range parts {
		parts[i] = i
	}
	key := topicPartition{m.Topic, p.balancer.Balance(kafka.Message{Key: m.Key}, parts...)}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	w := p.writers[key]
	if w == nil {
		w = newPartitionWriter(p, key)
		p.writers[key] = w
		p.loops.Add(1)
		go func() {
			defer p.loops.Done()
			w.run()
		}()
	}
	return w, nil
}

// partitions is topic's partition count, looked up again after
// partitionsTTL; while the broker cannot answer the last known count
// serves.
func (p *Producer) partitions(ctx context.Context, topic string) (int, error) {
	p.mu.Lock()
	c, ok := p.counts[topic]
	p.mu.Unlock()
	if ok && time.Since(c.checked) < partitionsTTL {
		return c.n, nil
	}
	n, err := p.lookupPartitions(ctx, topic)
	if err != nil {
		if ok {
			return c.n, nil
		}
		return 0, fmt.Errorf("partitions of %s: %w", topic, err)
	}
	p.mu.Lock()
	p.counts[topic] = partitionCount{n: n, checked: time.Now()}
	p.mu.Unlock()
	return n, nil
}

func (p *Producer) lookupPartitions(ctx context.Context, topic string) (int, error) {
	// The transport caches metadata; this is what kafka.Writer does.
	r, err := p.tr.RoundTrip(ctx, p.client.Addr, &metadataAPI.Request{TopicNames: []string{topic}})
	if err != nil {
		return 0, err
	}
	for _, t := range r.(*metadataAPI.Response).Topics {
		if t.Name == topic {
			if t.ErrorCode != 0 {
				return 0, kafka.Error(t.ErrorCode)
			}
			if len(t.Partitions) == 0 {
				return 0, kafka.UnknownTopicOrPartition
			}
			return len(t.Partitions), nil
		}
	}
	return 0, kafka.UnknownTopicOrPartition
}

// pending is one message waiting for its acknowledgement.
type pending struct {
	ctx        context.Context
	time       time.Time
	key, value []byte
	headers    []kafka.Header
	size       int
	done       chan error // buffered: the loop never blocks on a waiter that left
}

func newPending(ctx context.Context, m Message, now time.Time) *pending {
	pd := &pending{ctx: ctx, time: now, key: m.Key, value: m.Value, size: messageSize(m), done: make(chan error, 1)}
	if len(m.Headers) > 0 {
		pd.headers = make([]kafka.Header, 0, len(m.Headers))
		for k, v := range m.Headers {
			pd.headers = append(pd.headers, kafka.Header{Key: k, Value: []byte(v)})
		}
	}
	return pd
}

// messageSize bounds m's encoded size in a record batch from above.
func messageSize(m Message) int {
	n := recordOverhead + len(m.Key) + len(m.Value)
	for k, v := range m.Headers {
		n += len(k) + len(v) + headerOverhead
	}
	return n
}

func bytesOrNil(b []byte) kafka.Bytes {
	if b == nil {
		return nil
	}
	return kafka.NewBytes(b)
}

// partitionWriter is the group-commit loop of one partition. Invariant: at
// most one produce request of this partition is in flight, and every
// pending that was taken from the queue gets exactly one result.
type partitionWriter struct {
	p      *Producer
	key    topicPartition
	wake   chan struct{} // capacity 1: "the queue or closed changed"
	mu     sync.Mutex
	queue  []*pending
	closed bool
	// expect is how many records were in play when the last round was
	// acknowledged: its own plus those queued meanwhile. lastRound is how
	// long that round took.
	expect    int
	lastRound time.Duration
}

func newPartitionWriter(p *Producer, key topicPartition) *partitionWriter {
	return &partitionWriter{p: p, key: key, wake: make(chan struct{}, 1)}
}

func (w *partitionWriter) enqueue(pd *pending) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	w.queue = append(w.queue, pd)
	w.mu.Unlock()
	w.signal()
	return nil
}

func (w *partitionWriter) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *partitionWriter) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.signal()
}

// run sends rounds until the writer is closed and its queue is empty.
func (w *partitionWriter) run() {
	for {
		batch := w.take()
		if batch == nil {
			return
		}
		start := time.Now()
		w.send(batch)
		w.mu.Lock()
		w.expect, w.lastRound = len(batch)+len(w.queue), time.Since(start)
		w.mu.Unlock()
	}
}

// take waits for queued messages and removes a batch of them from the
// queue: as many as the budget allows, at least one. Messages whose waiter
// already left are answered and dropped. It returns nil once closed and
// drained.
func (w *partitionWriter) take() []*pending {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		for len(w.queue) == 0 {
			if w.closed {
				return nil
			}
			w.waitLocked(nil)
		}
		w.gatherLocked()
		if batch := w.cutLocked(); len(batch) > 0 {
			return batch
		}
	}
}

// gatherLocked lets the publishers acknowledged by the last round come
// back before the next round leaves (cohortWait).
func (w *partitionWriter) gatherLocked() {
	if w.p.cohortWait <= 0 || len(w.queue) >= w.expect || w.closed {
		return
	}
	t := time.NewTimer(min(time.Duration(float64(w.lastRound)*w.p.cohortWait), maxCohortWait))
	defer t.Stop()
	for len(w.queue) < w.expect && !w.closed {
		if !w.waitLocked(t.C) {
			return
		}
	}
}

// waitLocked releases the lock until the queue changes (true) or timeout
// fires (false).
func (w *partitionWriter) waitLocked(timeout <-chan time.Time) bool {
	w.mu.Unlock()
	defer w.mu.Lock()
	select {
	case <-w.wake:
		return true
	case <-timeout:
		return false
	}
}

// cutLocked removes the next batch from the queue.
func (w *partitionWriter) cutLocked() []*pending {
	var batch []*pending
	bytes, n := 0, 0
	budget := min(maxBatchBytes, w.p.maxMessage-batchHeaderBytes)
	for _, pd := range w.queue {
		if len(batch) > 0 && (bytes+pd.size > budget || len(batch) == maxBatchRecords) {
			break
		}
		n++
		if err := pd.ctx.Err(); err != nil {
			pd.done <- err
			continue
		}
		batch = append(batch, pd)
		bytes += pd.size
	}
	rest := copy(w.queue, w.queue[n:])
	clear(w.queue[rest:])
	w.queue = w.queue[:rest]
	if len(w.queue) > 0 {
		w.signal() // the rest is the next round's
	}
	return batch
}

// send produces batch, retrying transient failures (a connection pooled
// before a broker restart, a leader change) while any of its waiters is
// still waiting, and completes every pending of the batch.
func (w *partitionWriter) send(batch []*pending) {
	backoff := 10 * time.Millisecond
	for {
		deadline, live := latestDeadline(batch)
		if live == 0 {
			complete(batch, context.DeadlineExceeded) // every waiter has left
			return
		}
		err := w.produce(deadline, batch)
		if err == nil && w.p.syncer != nil {
			w.p.syncs.Add(1)
			go w.completeDurable(deadline, batch)
			return
		}
		if err == nil || !retriable(err) || time.Until(deadline) < backoff {
			complete(batch, err)
			return
		}
		w.p.log.Debug("kafka produce failed; retrying", "topic", w.key.topic, "partition", w.key.partition, "err", err)
		time.Sleep(backoff)
		backoff = min(backoff*2, 200*time.Millisecond)
		batch = stillWaiting(batch)
	}
}

// completeDurable answers batch once the syncer has made it durable.
func (w *partitionWriter) completeDurable(deadline time.Time, batch []*pending) {
	defer w.p.syncs.Done()
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	complete(batch, w.p.syncer.SyncPartition(ctx, w.key.topic, w.key.partition))
}

func (w *partitionWriter) produce(deadline time.Time, batch []*pending) error {
	recs := make([]kafka.Record, len(batch))
	for i, pd := range batch {
		// Fresh readers each attempt: a retry encodes the same bytes again.
		recs[i] = kafka.Record{Time: pd.time, Key: bytesOrNil(pd.key), Value: bytesOrNil(pd.value), Headers: pd.headers}
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	res, err := w.p.client.Produce(ctx, &kafka.ProduceRequest{
		Topic: w.key.topic, Partition: w.key.partition, RequiredAcks: kafka.RequireAll,
		Records: kafka.NewRecordReader(recs...),
	})
	switch {
	case err != nil:
		return err
	case res.Error != nil && errors.Is(res.Error, kafka.MessageSizeTooLarge) && len(batch) == 1:
		// Alone and still refused: the topic's limit is below what this
		// producer was told, and no retry can store this record.
		return fmt.Errorf("%w: %w", ErrMessageTooLarge, res.Error)
	case res.Error != nil:
		return res.Error
	case len(res.RecordErrors) > 0:
		for _, rerr := range res.RecordErrors {
			return rerr
		}
	}
	w.p.rounds.Add(1)
	w.p.records.Add(int64(len(batch)))
	return nil
}

// latestDeadline is the furthest deadline among the waiters still waiting
// (defaultRoundTimeout from now for one without a deadline) and how many
// still wait.
func latestDeadline(batch []*pending) (time.Time, int) {
	var latest time.Time
	live := 0
	for _, pd := range batch {
		if pd.ctx.Err() != nil {
			continue
		}
		live++
		d, ok := pd.ctx.Deadline()
		if !ok {
			d = time.Now().Add(defaultRoundTimeout)
		}
		if d.After(latest) {
			latest = d
		}
	}
	return latest, live
}

// stillWaiting answers the pendings whose waiter left and returns the
// others.
func stillWaiting(batch []*pending) []*pending {
	live := batch[:0]
	for _, pd := range batch {
		if err := pd.ctx.Err(); err != nil {
			pd.done <- err
			continue
		}
		live = append(live, pd)
	}
	return live
}

func complete(batch []*pending, err error) {
	for _, pd := range batch {
		pd.done <- err
	}
}

// retriable reports errors worth another attempt of the same batch: the
// broker's own retriable codes and broken or refused connections.
func retriable(err error) bool {
	var kerr kafka.Error
	if errors.As(err, &kerr) {
		return kerr.Temporary()
	}
	var nerr net.Error
	return errors.As(err, &nerr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE)
}
