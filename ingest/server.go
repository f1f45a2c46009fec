package ingest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/hookledger/hookledger/internal/config"
	"github.com/hookledger/hookledger/internal/kafkalog"
	"github.com/hookledger/hookledger/internal/tracing"
	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/schema"
)

// Publisher appends records to Kafka and returns once they are
// acknowledged by all in-sync replicas.
type Publisher interface {
	Publish(ctx context.Context, msgs ...kafkalog.Message) error
}

// Options configure a Server.
type Options struct {
	RawTopic     string
	MaxBodyBytes int64
	// MaxRecordBytes is the largest record value Kafka takes
	// (schema.MaxRecordBytes of MaxBodyBytes; 0: no limit). An accepted
	// callback whose record is larger can never be stored and is answered
	// 413; a rejection's audit record is cut to fit (see fitRecord).
	MaxRecordBytes int64
	// AckTimeout bounds the wait for Kafka; past it the answer is 503 with
	// Retry-After so the provider retries.
	AckTimeout time.Duration
	URLs       URLPolicy
	// AuditRate and AuditBurst limit rejection audit records per source and
	// per remote address; 0 disables the limit.
	AuditRate  float64
	AuditBurst int
	// AuditBodyPrefix bounds the body kept for requests rejected before
	// their body was accepted (404, 405, 413).
	AuditBodyPrefix int
	// AuditRejectedBody bounds the body kept for requests that failed
	// verification (0: the config's default), so a forged flood of
	// large bodies does not become a flood of large audit records.
	AuditRejectedBody int
	// AuditQueueBytes bounds the audit records waiting to be written
	// (0: the config's default); past it records are dropped and counted.
	AuditQueueBytes int64
	// MaxBodyMemory bounds the bytes of request bodies held at once (see
	// bodyLimiter); 0 is no bound.
	MaxBodyMemory int64
	// LargeBodySlots is how many bodies over SmallBodyBytes are read and
	// verified at once; 0 is half the CPUs, at least one.
	LargeBodySlots int
	// RedactHeaders are the headers whose values records never carry (see
	// redactor); nil means config.DefaultRedactHeaders, empty means none.
	RedactHeaders []string
	// RedactionKey keys the hashes of redacted values (LoadRedactionKey);
	// nil means a random key for this process.
	RedactionKey []byte
	Logger       *slog.Logger
	Metrics      prometheus.Registerer
	// Tracing makes a span of every callback and carries its context in
	// the record's headers (internal/tracing); nil: no spans.
	Tracing trace.TracerProvider
	Now     func() time.Time
}

// HeaderEventID carries the event id on every ingest answer, accepted or
// not, so a provider's log line can be matched to GET /v1/callbacks/{id}.
// A rejection's id is assigned even when the audit rate limit drops its
// record, so the id of a rejection may name nothing stored.
const HeaderEventID = "Hookledger-Event-Id"

// Server handles /hooks/{source_id}[/{anything}].
type Server struct {
	o       Options
	pub     Publisher
	sources atomic.Pointer[Sources]
	redact  *redactor
	bodies  *bodyLimiter
	audit   *auditor
	metrics *metrics
	tracer  trace.Tracer
}

// New builds a Server; call Start before serving and Stop after.
func New(o Options, pub Publisher, sources Sources) *Server {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Metrics == nil {
		o.Metrics = prometheus.NewRegistry()
	}
	if o.Tracing == nil {
		o.Tracing = noop.NewTracerProvider()
	}
	if o.RedactHeaders == nil {
		o.RedactHeaders = config.DefaultRedactHeaders
	}
	if o.RedactionKey == nil {
		o.RedactionKey = make([]byte, 32)
		_, _ = rand.Read(o.RedactionKey) // never fails (crypto/rand)
	}
	audit := config.Defaults().Ingest.Audit
	if o.AuditRejectedBody == 0 {
		o.AuditRejectedBody = audit.RejectedBodyBytes
	}
	if o.AuditQueueBytes == 0 {
		o.AuditQueueBytes = audit.QueueBytes
	}
	if o.LargeBodySlots == 0 {
		o.LargeBodySlots = max(runtime.GOMAXPROCS(0)/2, 1)
	}
	s := &Server{o: o, pub: pub, metrics: newMetrics(o.Metrics), redact: newRedactor(o.RedactHeaders, o.RedactionKey),
		tracer: o.Tracing.Tracer(tracing.Name)}
	s.sources.Store(&sources)
	s.bodies = newBodyLimiter(o.MaxBodyMemory, o.LargeBodySlots, func(used int64) { s.metrics.bodyBytes.Set(float64(used)) })
	s.audit = newAuditor(s.publishRejection, o.AuditRate, o.AuditBurst, o.AuditQueueBytes, s.metrics, o.Logger)
	return s
}

// SetSources swaps in a new source set (config reload). Requests already
// being verified finish with the set they started with.
func (s *Server) SetSources(src Sources) { s.sources.Store(&src) }

// Register mounts the hook routes on e. Echo's Any covers only the methods
// it knows; the RouteNotFound fallbacks bring every other method (MKCOL,
// QUERY, anything) to handle too, so it is answered 404 or 405 with a
// reason and audited like any rejection instead of by Echo's default 405.
func (s *Server) Register(e *echo.Echo) {
	for _, path := range []string{"/hooks/:source", "/hooks/:source/*"} {
		e.Any(path, s.handle)
		e.RouteNotFound(path, s.handle)
	}
}

// sourceID is the {source_id} path segment. Echo leaves the parameter
// empty when a request reaches /hooks/{id} through the RouteNotFound
// fallback, so it is then read from the (decoded) path, as Echo would.
func sourceID(c echo.Context) string {
	if id := c.Param("source"); id != "" {
		return id
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(c.Request().URL.Path, "/hooks/"), "/")
	return id
}

// Start starts the audit workers.
func (s *Server) Start() { s.audit.start(2) }

// Stop flushes queued audit records. Call it after the HTTP server has
// drained, so no request can enqueue afterwards.
func (s *Server) Stop() { s.audit.stop() }

// handle traces one callback: a server span (a new trace; a traceparent
// the client sent is linked, not continued, as callbacks come from
// outside), ended with the verdict once the answer is written.
func (s *Server) handle(c echo.Context) error {
	var rec *schema.Record
	ctx, span := s.tracer.Start(c.Request().Context(), "hookledger.ingest",
		trace.WithSpanKind(trace.SpanKindServer), trace.WithNewRoot(),
		trace.WithLinks(trace.LinkFromContext(tracing.ExtractContext(c.Request().Header))))
	if !span.IsRecording() {
		// Tracing off (or not sampled): no request copy, no attributes.
		return s.receive(c, func(*schema.Record) {})
	}
	c.SetRequest(c.Request().WithContext(ctx))
	defer func() {
		if rec != nil {
			span.SetAttributes(attribute.String("hookledger.event_id", rec.ID.String()),
				attribute.String("hookledger.source", rec.Source), attribute.String("hookledger.provider", rec.Provider),
				attribute.String("hookledger.verdict", string(rec.Verdict)), attribute.String("hookledger.reason", string(rec.Reason)))
		}
		status := c.Response().Status
		span.SetAttributes(attribute.Int("http.response.status_code", status))
		if status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
		span.End()
	}()
	return s.receive(c, func(r *schema.Record) { rec = r })
}

// receive handles one callback; it reports its record to seen as soon as
// it exists (for the span).
func (s *Server) receive(c echo.Context, seen func(*schema.Record)) error {
	r := c.Request()
	rec := &schema.Record{
		Version: schema.RecordVersion, ID: newEventID(), ReceivedAt: s.o.Now().UTC(),
		Source: sourceID(c), Method: r.Method, RemoteAddr: s.remoteAddr(r),
		Headers: s.redact.headers(r.Header),
	}
	rec.Headers.Set("Host", r.Host)
	seen(rec)
	c.Response().Header().Set(HeaderEventID, rec.ID.String())

	src := (*s.sources.Load())[rec.Source]
	if src == nil {
		rec.URL = s.o.URLs.SignedURL(r, &Source{ID: rec.Source})
		setBodyPrefix(rec, r, s.prefix(r))
		return s.reject(c, rec, http.StatusNotFound, schema.ReasonUnknownSource, "no source with this id is configured")
	}
	rec.Provider, rec.Tenant = src.Provider.Name(), src.Tenant
	signedURL := s.o.URLs.SignedURL(r, src)
	rec.URL = signedURL
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		setBodyPrefix(rec, r, s.prefix(r))
		return s.reject(c, rec, http.StatusMethodNotAllowed, schema.ReasonMethodNotAllowed, "method "+r.Method)
	}
	if r.ContentLength > s.o.MaxBodyBytes {
		// Decided before reading, so an Expect: 100-continue client is
		// told 413 instead of being invited to send the body.
		setBodyPrefix(rec, r, s.prefix(r))
		return s.reject(c, rec, http.StatusRequestEntityTooLarge, schema.ReasonBodyTooLarge, s.tooLargeDetail())
	}
	body, held, tooLarge, err := s.bodies.read(r.Context(), r.Body, r.ContentLength, s.o.MaxBodyBytes)
	defer held.release()
	if cause := shedCause(err); cause != "" {
		s.metrics.shed.WithLabelValues(cause).Inc()
		return s.unavailable(c, rec)
	}
	switch {
	case tooLarge:
		setBodyPrefix(rec, r, clonePrefix(body, s.o.AuditBodyPrefix))
		return s.reject(c, rec, http.StatusRequestEntityTooLarge, schema.ReasonBodyTooLarge, s.tooLargeDetail())
	case err != nil:
		setBodyPrefix(rec, r, clonePrefix(body, s.o.AuditBodyPrefix))
		return s.reject(c, rec, http.StatusBadRequest, schema.ReasonMalformed, "reading body: "+err.Error())
	}
	rec.Body, rec.BodyBytes = body, len(body)

	verifyStart := time.Now()
	verified, err := src.Verifier.Verify(r.Context(), &provider.Request{
		Method: r.Method, Proto: r.Proto, URL: signedURL,
		AltURLs: func() []string { return s.o.URLs.Alternatives(r, src, signedURL) },
		Header:  r.Header, Body: body, ReceivedAt: rec.ReceivedAt,
	})
	var rejection *provider.Rejection
	outcome := verifyOutcome(err, &rejection)
	s.metrics.verify.WithLabelValues(rec.Provider, outcome).Observe(time.Since(verifyStart).Seconds())
	switch outcome {
	case verifyRejected:
		if len(body) > s.o.AuditRejectedBody {
			rec.Body, rec.BodyTruncated = clonePrefix(body, s.o.AuditRejectedBody), true
		}
		return s.reject(c, rec, http.StatusUnauthorized, rejection.Reason, rejection.Detail)
	case verifyError:
		// The verifier could not decide (its replay store failed): the
		// provider must retry rather than be told the callback is forged.
		s.o.Logger.Error("verification failed internally", "source", rec.Source, "event_id", rec.ID, "err", err)
		return s.unavailable(c, rec)
	}
	rec.Verdict, rec.KeyID = schema.VerdictAccepted, verified.KeyID
	if err := s.publishAccepted(r.Context(), rec); err != nil {
		// Nothing was stored, and the provider may send this same signed
		// request again: give back the one-time token it consumed, or the
		// retry would look like a replay.
		if verified.Release != nil {
			if rerr := verified.Release(context.WithoutCancel(r.Context())); rerr != nil {
				s.o.Logger.Error("releasing one-time token failed", "source", rec.Source, "event_id", rec.ID, "err", rerr)
			}
		}
		if errors.Is(err, kafkalog.ErrMessageTooLarge) {
			// Retrying cannot help: 413, not 503 for days of retries.
			s.o.Logger.Warn("verified callback too large for a Kafka record", "source", rec.Source, "event_id", rec.ID, "err", err)
			rec.Body, rec.BodyTruncated = clonePrefix(body, s.o.AuditBodyPrefix), len(body) > s.o.AuditBodyPrefix
			return s.reject(c, rec, http.StatusRequestEntityTooLarge, schema.ReasonBodyTooLarge,
				"verified, but its record cannot be stored: "+err.Error())
		}
		s.o.Logger.Error("kafka did not acknowledge", "source", rec.Source, "event_id", rec.ID, "err", err)
		return s.unavailable(c, rec)
	}
	s.metrics.requests.WithLabelValues(rec.Source, string(schema.VerdictAccepted), "").Inc()
	if ack, ok := src.Provider.(provider.Acknowledger); ok {
		ct, b := ack.Ack(rec.ID.String())
		return c.Blob(http.StatusOK, ct, b)
	}
	return c.JSON(http.StatusOK, map[string]string{"id": rec.ID.String()})
}

// verifyOutcome classifies a Verify error, setting *rejection when it is
// one.
func verifyOutcome(err error, rejection **provider.Rejection) string {
	switch {
	case err == nil:
		return verifyAccepted
	case errors.As(err, rejection):
		return verifyRejected
	default:
		return verifyError
	}
}

// publishAccepted writes rec to the raw topic and waits for the
// acknowledgement (the processor's forwarder copies it to the verified
// topic). The wait survives the client hanging up: the record may already
// be in Kafka, and the outcome should be logged whole.
func (s *Server) publishAccepted(ctx context.Context, rec *schema.Record) error {
	value, headers, err := schema.EncodeRecord(rec)
	if err != nil {
		return err
	}
	tracing.Inject(ctx, headers) // the processor continues the trace
	if s.overLimit(value, headers) {
		n := schema.RecordBytes(value, headers)
		return fmt.Errorf("ingest: %w: record of %d bytes, at most %d (its URL and headers take %d bytes more than max_body_bytes leaves room for)",
			kafkalog.ErrMessageTooLarge, n, s.o.MaxRecordBytes, n-s.o.MaxRecordBytes)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.o.AckTimeout)
	defer cancel()
	start := time.Now()
	err = s.pub.Publish(ctx, kafkalog.Message{Topic: s.o.RawTopic, Key: rec.ID[:], Value: value, Headers: headers})
	s.metrics.publish.Observe(time.Since(start).Seconds())
	return err
}

func (s *Server) publishRejection(ctx context.Context, rec *schema.Record) error {
	value, headers, err := s.fitRecord(rec)
	if err != nil {
		return err
	}
	return s.pub.Publish(ctx, kafkalog.Message{Topic: s.o.RawTopic, Key: rec.ID[:], Value: value, Headers: headers})
}

// reject answers a rejection at once and audits it asynchronously, with
// whatever body rec holds: the whole body once it was read, else a prefix.
func (s *Server) reject(c echo.Context, rec *schema.Record, status int, reason schema.Reason, detail string) error {
	rec.Verdict, rec.Reason, rec.Detail = schema.VerdictRejected, reason, detail
	sourceKey := metricSource(rec)
	s.metrics.requests.WithLabelValues(sourceKey, string(schema.VerdictRejected), string(reason)).Inc()
	host, _, err := net.SplitHostPort(rec.RemoteAddr)
	if err != nil {
		host = rec.RemoteAddr
	}
	s.audit.enqueue(rec, sourceKey, host)
	return c.JSON(status, map[string]string{"error": string(reason), "id": rec.ID.String()})
}

func (s *Server) tooLargeDetail() string {
	return "body over max_body_bytes=" + strconv.FormatInt(s.o.MaxBodyBytes, 10)
}

// metricSource keeps label and limiter-key cardinality bounded: unknown
// source ids come from the request, so each must not become a label or get
// a rate-limit budget of its own.
func metricSource(rec *schema.Record) string {
	if rec.Reason == schema.ReasonUnknownSource {
		return "_unknown"
	}
	return rec.Source
}

func (s *Server) unavailable(c echo.Context, rec *schema.Record) error {
	s.metrics.unavailable.Inc()
	c.Response().Header().Set("Retry-After", "5")
	return c.JSON(http.StatusServiceUnavailable, map[string]string{
		"error": "temporarily unable to store the callback, retry later", "id": rec.ID.String(),
	})
}

// prefix reads at most AuditBodyPrefix bytes of a body that will not be
// verified, for the audit record. It reads nothing from a client that sent
// Expect: 100-continue: net/http answers 100 Continue on the first read,
// which would invite the body of a request already refused.
func (s *Server) prefix(r *http.Request) []byte {
	if expectsContinue(r) {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, int64(s.o.AuditBodyPrefix)))
	return b
}

func expectsContinue(r *http.Request) bool {
	return strings.EqualFold(strings.TrimSpace(r.Header.Get("Expect")), "100-continue")
}

// remoteAddr is the client address: behind a trusted proxy, the last
// X-Forwarded-For entry, the one that proxy appended. Earlier entries come
// from the client itself, so trusting them would let a flood pick a fresh
// address (and audit budget) per request; the whole header stays in the
// record for investigation.
func (s *Server) remoteAddr(r *http.Request) string {
	if s.o.URLs.TrustForwardedHeaders {
		if v := lastValue(r.Header.Values("X-Forwarded-For")); v != "" {
			return v
		}
	}
	return r.RemoteAddr
}

// lastValue is the last comma-separated entry over all values of a header.
func lastValue(values []string) string {
	if len(values) == 0 {
		return ""
	}
	last := values[len(values)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	return strings.TrimSpace(last)
}

// clonePrefix is a copy of at most n bytes of b, so an audit record
// waiting in the queue does not keep the whole request body alive.
func clonePrefix(b []byte, n int) []byte {
	return bytes.Clone(b[:min(len(b), n)])
}

// setBodyPrefix puts the part of a body that will not be verified on the
// audit record, with the size the request declared.
func setBodyPrefix(rec *schema.Record, r *http.Request, prefix []byte) {
	rec.Body, rec.BodyBytes = prefix, len(prefix)
	if r.ContentLength > int64(len(prefix)) {
		rec.BodyBytes = int(r.ContentLength)
	}
	rec.BodyTruncated = rec.BodyBytes > len(prefix)
}

func newEventID() uuid.UUID {
	// NewV7 fails only if the system random source does.
	return uuid.Must(uuid.NewV7())
}
