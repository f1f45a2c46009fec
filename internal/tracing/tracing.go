// Package tracing sets up OpenTelemetry tracing from the standard OTEL_*
// environment and carries trace context through Kafka record headers.
//
// Tracing is off unless the environment asks for it: OTEL_TRACES_EXPORTER
// is "otlp", or it is unset and OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set. OTEL_SDK_DISABLED=true and
// OTEL_TRACES_EXPORTER=none turn it off. Spans are exported with OTLP over
// HTTP (protobuf), configured by the exporter's own OTEL_EXPORTER_OTLP_*
// variables (endpoint, headers, timeout, compression, certificates);
// sampling by OTEL_TRACES_SAMPLER(_ARG), batching by OTEL_BSP_*, the
// resource by OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (service.name
// defaults to "hookledger").
//
// Trace context crosses Kafka as W3C Trace Context: the record headers
// "traceparent" and "tracestate" (next to the record's own, see
// schema.HeaderRecord), which the forwarder and dead letters copy with the
// rest.
package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/hookledger/hookledger/internal/buildinfo"
)

// Name is the instrumentation scope of hookledger's spans.
const Name = "github.com/hookledger/hookledger"

// propagator is how trace context is written to and read from Kafka
// headers (W3C traceparent and tracestate).
func propagator() propagation.TextMapPropagator { return propagation.TraceContext{} }

// Enabled reports whether the environment (lookup) turns tracing on, and
// why not when it does not.
func Enabled(lookup func(string) (string, bool)) (bool, string) {
	get := func(k string) string { v, _ := lookup(k); return strings.TrimSpace(v) }
	if strings.EqualFold(get("OTEL_SDK_DISABLED"), "true") {
		return false, "OTEL_SDK_DISABLED=true"
	}
	switch exp := strings.ToLower(get("OTEL_TRACES_EXPORTER")); exp {
	case "otlp":
		return true, ""
	case "":
		if get("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" {
			return true, ""
		}
		return false, "no OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_TRACES_EXPORTER"
	case "none":
		return false, "OTEL_TRACES_EXPORTER=none"
	default:
		return false, fmt.Sprintf("OTEL_TRACES_EXPORTER=%s is not supported (only otlp)", exp)
	}
}

// Setup returns the tracer provider the environment asks for and its
// shutdown, which flushes the spans still buffered. With tracing off it is
// a no-op provider: spans cost nothing and no header is written.
func Setup(ctx context.Context, lookup func(string) (string, bool), log *slog.Logger) (trace.TracerProvider, func(context.Context) error, error) {
	on, why := Enabled(lookup)
	if !on {
		if strings.Contains(why, "not supported") {
			log.Warn("tracing off: "+why, "key", "OTEL_TRACES_EXPORTER")
		}
		return noop.NewTracerProvider(), func(context.Context) error { return nil }, nil
	}
	for _, k := range []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"} {
		if v, _ := lookup(k); v != "" && v != "http/protobuf" {
			log.Warn("tracing exports OTLP over HTTP (http/protobuf) only; "+k+" ignored", "key", k, "value", v)
		}
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: otlp exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "hookledger"),
			attribute.String("service.version", buildinfo.Read().Version)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES win
	)
	if err != nil {
		log.Warn("tracing: resource attributes incomplete", "err", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	log.Info("tracing on: OTLP/HTTP export", "service", res.Set().Encoded(attribute.DefaultEncoder()))
	return tp, tp.Shutdown, nil
}

// Inject writes ctx's span context into Kafka record headers h.
func Inject(ctx context.Context, h map[string]string) {
	propagator().Inject(ctx, propagation.MapCarrier(h))
}

// Extract returns the span context carried by Kafka record headers h
// (invalid when they carry none).
func Extract(h map[string]string) trace.SpanContext {
	if h["traceparent"] == "" {
		return trace.SpanContext{}
	}
	return trace.SpanContextFromContext(propagator().Extract(context.Background(), propagation.MapCarrier(h)))
}

// ExtractContext returns the span context an HTTP request's headers carry
// (invalid when none), for a link.
func ExtractContext(h http.Header) context.Context {
	return propagator().Extract(context.Background(), propagation.HeaderCarrier(h))
}
