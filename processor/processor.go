// Package processor turns Kafka records into ClickHouse rows (docs/architecture.md).
// Three consumer groups run side by side: one stores every raw record in the
// audit table, one (the Forwarder) copies accepted raw records to the
// verified topic, one normalises verified records into message, reply and
// call history. Offsets are committed only after ClickHouse has the rows; a
// record that can never be normalised goes to the dead-letter topic instead
// of stalling its partition.
package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookledger/hookledger/internal/kafkalog"
	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/schema"
)

// StorePipeline is how many batches each of the consumers that store
// (audit and history) hands to ClickHouse at once
// (kafkalog.ConsumerOptions.Pipeline): the next batch is fetched, decoded
// and normalised while the previous one is inserted. HandleRaw and
// HandleVerified are safe for concurrent use and independent of the order
// batches are stored in: rows are deduplicated by key and ranked by
// provider time, never by arrival. More would only queue inserts behind
// each other and take CPU from ingest in `hookledger run`.
const StorePipeline = 2

// Store is where the processor writes.
type Store interface {
	InsertCallbacks(ctx context.Context, recs []*schema.Record) error
	InsertNormalised(ctx context.Context, n schema.Normalised) error
	InsertDeadLetters(ctx context.Context, dead []schema.DeadLetter) error
}

// Publisher appends dead letters.
type Publisher interface {
	Publish(ctx context.Context, msgs ...kafkalog.Message) error
}

// Processor holds the batch handlers and builds the consumer loops that
// feed them (Loops); Replay re-normalises the raw topic with the same
// batch code.
type Processor struct {
	store     Store
	providers *provider.Registry
	dead      Publisher
	deadTopic string
	log       *slog.Logger
	metrics   *metrics
	workers   chan struct{} // nil: no bound
	tracer    trace.Tracer  // nil: no spans (WithTracerProvider)
}

// Option adjusts a Processor.
type Option func(*Processor)

// WithWorkers bounds how many batches HandleRaw and HandleVerified decode,
// normalise and store at once, all consumers together (n < 1: no bound
// beyond each consumer's pipeline). A batch's ClickHouse insert runs on the
// calling thread's behalf, so this bounds the cores the processor keeps
// busy. `hookledger run`, where ingest shares the machine, gives it half
// the cores: acknowledging callbacks comes first, and during a burst the
// processor falls behind, then catches up on larger batches.
func WithWorkers(n int) Option {
	return func(p *Processor) {
		if n > 0 {
			p.workers = make(chan struct{}, n)
		}
	}
}

// New builds a Processor.
func New(store Store, providers *provider.Registry, dead Publisher, deadTopic string, log *slog.Logger, reg prometheus.Registerer, opts ...Option) *Processor {
	if log == nil {
		log = slog.Default()
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	p := &Processor{store: store, providers: providers, dead: dead, deadTopic: deadTopic, log: log,
		metrics: newMetrics(reg, providers.Names())}
	for _, o := range opts {
		o(p)
	}
	return p
}

// work waits for a worker slot (WithWorkers) and returns its release.
func (p *Processor) work(ctx context.Context) (release func(), err error) {
	if p.workers == nil {
		return func() {}, nil
	}
	select {
	case p.workers <- struct{}{}:
		return func() { <-p.workers }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// OffsetReset counts a partition a consumer re-reads after broker data
// damage (kafkalog.ConsumerOptions.OnReset).
func (p *Processor) OffsetReset(r kafkalog.OffsetReset) {
	p.metrics.offsetResets.WithLabelValues(r.Topic, r.Cause).Inc()
}

// deadLetter is one record set aside with why; rec is nil when the
// record could not even be decoded.
type deadLetter struct {
	from kafkalog.Fetched
	rec  *schema.Record
	err  error
}

// HandleRaw stores a batch of raw-topic records in the audit table.
func (p *Processor) HandleRaw(ctx context.Context, batch []kafkalog.Fetched) (err error) {
	release, err := p.work(ctx)
	if err != nil {
		return err
	}
	defer release()
	ctx, spans := p.traceBatch(ctx, delayAudit, batch)
	defer func() { spans.end(err) }()
	recs := make([]*schema.Record, 0, len(batch))
	var dead []deadLetter
	for _, f := range batch {
		rec, err := schema.DecodeRecord(f.Value, f.Headers)
		if err != nil {
			dead = append(dead, deadLetter{from: f, err: undecodableError{err}})
			continue
		}
		recs = append(recs, rec)
	}
	if err := p.sendDead(ctx, dead); err != nil {
		return err
	}
	if err := p.store.InsertCallbacks(ctx, recs); err != nil {
		return err
	}
	p.metrics.stored.WithLabelValues("callbacks").Add(float64(len(recs)))
	received := make([]time.Time, len(recs))
	for i, r := range recs {
		received[i] = r.ReceivedAt
	}
	p.metrics.observeDelay(delayAudit, time.Now(), received...)
	return nil
}

// HandleVerified normalises a batch of verified records and stores the
// rows in one insert per table.
func (p *Processor) HandleVerified(ctx context.Context, batch []kafkalog.Fetched) (err error) {
	release, err := p.work(ctx)
	if err != nil {
		return err
	}
	defer release()
	ctx, spans := p.traceBatch(ctx, delayHistory, batch)
	defer func() { spans.end(err) }()
	all, received, dead := normaliseBatch(p.providers, batch)
	if err := p.sendDead(ctx, dead); err != nil {
		return err
	}
	if err := p.store.InsertDeadLetters(ctx, deadLetterRows(dead, time.Now())); err != nil {
		return err
	}
	if err := p.store.InsertNormalised(ctx, all); err != nil {
		return err
	}
	p.metrics.countHistory(all)
	p.metrics.observeDelay(delayHistory, time.Now(), received...)
	return nil
}

// normaliseBatch decodes and normalises a batch of records into one set of
// rows (records not accepted yield none) and the receive times of the
// records that were used, and returns the others with why: every such
// error is permanent for its record. The history consumer and Replay
// share it.
func normaliseBatch(providers *provider.Registry, batch []kafkalog.Fetched) (all schema.Normalised, received []time.Time, unusable []deadLetter) {
	received = make([]time.Time, 0, len(batch))
	for _, f := range batch {
		rec, n, err := normalise(providers, f)
		if err != nil {
			unusable = append(unusable, deadLetter{from: f, rec: rec, err: err})
			continue
		}
		all.Add(n)
		received = append(received, rec.ReceivedAt)
	}
	return all, received, unusable
}

// normalise decodes one verified record and normalises it with its
// provider. Every error it returns is permanent for that record; rec is
// nil only when decoding failed.
func normalise(providers *provider.Registry, f kafkalog.Fetched) (*schema.Record, schema.Normalised, error) {
	rec, err := schema.DecodeRecord(f.Value, f.Headers)
	if err != nil {
		return nil, schema.Normalised{}, undecodableError{err}
	}
	n, err := NormaliseRecord(providers, rec)
	return rec, n, err
}

// deadLetterRows are the marks of the decoded dead letters, so the
// callback's record says it could not be used (storage Callback).
func deadLetterRows(dead []deadLetter, now time.Time) []schema.DeadLetter {
	var rows []schema.DeadLetter
	for _, d := range dead {
		if d.rec != nil {
			rows = append(rows, DeadLetterRow(d.rec, d.err, now))
		}
	}
	return rows
}

// DeadLetterRow is the mark of rec, refused with err at now.
func DeadLetterRow(rec *schema.Record, err error, now time.Time) schema.DeadLetter {
	return schema.DeadLetter{
		EventID: rec.ID, Tenant: rec.Tenant, Source: rec.Source, Provider: rec.Provider,
		ReceivedAt: rec.ReceivedAt.UTC(), DeadAt: now.UTC(),
		Unusable: errors.Is(err, provider.ErrUnusable), Error: boundedError(err),
	}
}

// NormaliseRecord normalises one accepted record with its provider. It is
// shared by the processor and by replay.
func NormaliseRecord(providers *provider.Registry, rec *schema.Record) (schema.Normalised, error) {
	if rec.Verdict != schema.VerdictAccepted {
		return schema.Normalised{}, nil
	}
	prov, ok := providers.Get(rec.Provider)
	if !ok {
		return schema.Normalised{}, fmt.Errorf("%w: no provider %q in this build", provider.ErrUnusable, rec.Provider)
	}
	n, err := prov.Normalise(rec)
	if err != nil {
		return schema.Normalised{}, fmt.Errorf("normalise %s record %s: %w", rec.Provider, rec.ID, err)
	}
	// An id that cannot be stored exactly is refused here, after ingest
	// acknowledged the callback, rather than at ingest: only the normaliser
	// knows which fields are ids, and nothing is lost, as the request stays
	// byte-exact in the raw topic, the audit table (GET /v1/callbacks/{id})
	// and the dead letter. No provider sends such ids; a tenant signing
	// arbitrary ids for its own source could.
	if err := n.CheckIdentity(); err != nil {
		return schema.Normalised{}, fmt.Errorf("%w: %s record %s: %w", provider.ErrUnusable, rec.Provider, rec.ID, err)
	}
	return n, nil
}

// boundedError is err's text cut to kafkalog.MaxErrorHeaderBytes, so a
// dead letter fits the topic like the record it carries.
func boundedError(err error) string {
	msg := err.Error()
	if len(msg) > kafkalog.MaxErrorHeaderBytes {
		msg = msg[:kafkalog.MaxErrorHeaderBytes]
	}
	return msg
}

func (p *Processor) sendDead(ctx context.Context, dead []deadLetter) error {
	if len(dead) == 0 {
		return nil
	}
	msgs := make([]kafkalog.Message, len(dead))
	for i, d := range dead {
		p.log.Warn("record sent to dead letters", "topic", d.from.Topic, "partition", d.from.Partition,
			"offset", d.from.Offset, "err", d.err)
		// The record's own headers come along: a v2 record's metadata is
		// one of them, so the dead letter stays decodable.
		headers := make(map[string]string, len(d.from.Headers)+5)
		maps.Copy(headers, d.from.Headers)
		headers["hookledger-error"] = boundedError(d.err)
		headers["hookledger-unusable"] = strconv.FormatBool(errors.Is(d.err, provider.ErrUnusable))
		headers["hookledger-origin-topic"] = d.from.Topic
		headers["hookledger-origin-partition"] = strconv.Itoa(d.from.Partition)
		headers["hookledger-origin-offset"] = strconv.FormatInt(d.from.Offset, 10)
		delete(headers, schema.HeaderForward) // a dead letter is never forwarded
		msgs[i] = kafkalog.Message{Topic: p.deadTopic, Key: d.from.Key, Value: d.from.Value, Headers: headers}
	}
	err := p.dead.Publish(ctx, msgs...)
	if errors.Is(err, kafkalog.ErrMessageTooLarge) {
		// A record at the size limit plus its error headers: the dead
		// letter keeps the headers and drops the body, which stays in the
		// topic it came from (hookledger-origin-*).
		for i := range msgs {
			msgs[i].Value = nil
			msgs[i].Headers["hookledger-body-dropped"] = "true"
		}
		err = p.dead.Publish(ctx, msgs...)
	}
	if err != nil {
		return fmt.Errorf("processor: dead letters: %w", err)
	}
	for _, d := range dead {
		p.metrics.dead.WithLabelValues(deadCause(d.err)).Inc()
	}
	return nil
}
