package processor

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookledger/hookledger/internal/kafkalog"
	"github.com/hookledger/hookledger/internal/tracing"
)

// WithTracerProvider traces the stored batches: each record whose headers
// carry a trace context (ingest's span, internal/tracing) gets a span in
// that trace covering its batch's normalisation and insert, and each batch
// a span of its own linked to them. Without it nothing is traced and no
// header is parsed.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(p *Processor) {
		if tp != nil {
			p.tracer = tp.Tracer(tracing.Name)
		}
	}
}

// batchTrace is the spans of one batch being stored.
type batchTrace struct {
	records []trace.Span
	batch   trace.Span
}

// traceBatch starts the spans of a batch read by consumer (audit,
// history) and returns ctx with the batch span. With tracing off it
// returns ctx and nil.
func (p *Processor) traceBatch(ctx context.Context, consumer string, batch []kafkalog.Fetched) (context.Context, *batchTrace) {
	if p.tracer == nil {
		return ctx, nil
	}
	bt := &batchTrace{}
	var links []trace.Link
	for _, f := range batch {
		sc := tracing.Extract(f.Headers)
		if !sc.IsValid() {
			continue
		}
		_, span := p.tracer.Start(trace.ContextWithRemoteSpanContext(ctx, sc), "hookledger.process "+consumer,
			trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(
				attribute.String("messaging.system", "kafka"), attribute.String("messaging.destination.name", f.Topic),
				attribute.Int("messaging.destination.partition.id", f.Partition), attribute.Int64("messaging.kafka.offset", f.Offset)))
		bt.records = append(bt.records, span)
		links = append(links, trace.Link{SpanContext: span.SpanContext()})
	}
	ctx, bt.batch = p.tracer.Start(ctx, "hookledger.store "+consumer, trace.WithLinks(links...),
		trace.WithAttributes(attribute.Int("messaging.batch.message_count", len(batch))))
	return ctx, bt
}

// end ends every span of the batch, marking them failed when err is not
// nil (the batch is retried).
func (bt *batchTrace) end(err error) {
	if bt == nil {
		return
	}
	for _, s := range append(bt.records, bt.batch) {
		if err != nil {
			s.RecordError(err)
			s.SetStatus(codes.Error, "batch not stored")
		}
		s.End()
	}
}
