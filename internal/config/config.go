// Package config loads hookledger's YAML configuration (docs/configuration.md): defaults,
// then the file, then ${ENV} expansion of secrets, then HOOKLEDGER_* env
// overrides of any scalar, then validation that names the offending field.
package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration. Field comments give the YAML path.
type Config struct {
	// DataDir holds what this process keeps on disk: the jti memory
	// (replay-guard.log) and redaction.key of ingest, and the embedded
	// broker (kafka/) and embedded ClickHouse (clickhouse/) when they run.
	// One process at a time owns it, through the lock file data_dir/LOCK.
	DataDir    string     `yaml:"data_dir"`
	Log        Log        `yaml:"log"`
	Kafka      Kafka      `yaml:"kafka"`
	ClickHouse ClickHouse `yaml:"clickhouse"`
	Ingest     Ingest     `yaml:"ingest"`
	Processor  Processor  `yaml:"processor"`
	Query      Query      `yaml:"query"`
	// Sources are the webhook endpoints, one per provider account and
	// tenant: each answers /hooks/{id} and /hooks/{id}/{suffix}.
	Sources []Source `yaml:"sources" reload:"live"`

	// envNames are the HOOKLEDGER_* names that would override a key of
	// this config; see UnknownEnv.
	envNames map[string]bool
}

// Log configures the structured logger.
type Log struct {
	// Level is debug, info, warn or error. At debug every listener logs
	// each request's route pattern, status and duration (never its query).
	Level string `yaml:"level" reload:"live"`
	// Format is text (logfmt) or json, on standard error.
	Format string `yaml:"format"`
}

// SlogLevel is Level as a slog level (info for a value Validate rejects).
func (l Log) SlogLevel() slog.Level {
	var level slog.Level
	if err := level.UnmarshalText([]byte(l.Level)); err != nil {
		return slog.LevelInfo
	}
	return level
}

// Kafka configures the log of every request: a Kafka cluster, or the
// embedded broker.
type Kafka struct {
	// Brokers are host:port seed brokers of a Kafka cluster. Empty runs the
	// embedded broker under data_dir/kafka (only `hookledger run`; the
	// split tiers need a cluster).
	Brokers []string `yaml:"brokers"`
	// RawTopic receives one record per callback, accepted or rejected,
	// written by ingest before it answers.
	RawTopic string `yaml:"raw_topic"`
	// VerifiedTopic receives a copy of every accepted record, written by
	// the processor's forwarder; the history tables are filled from it.
	VerifiedTopic string `yaml:"verified_topic"`
	// DeadLetterTopic receives the records the processor could not use,
	// with the reason in a header.
	DeadLetterTopic string `yaml:"dead_letter_topic"`
	// Partitions of the topics hookledger creates; 0 is automatic: 6 on a
	// cluster, for consumer parallelism, and 1 on the embedded broker,
	// which fsyncs each partition's batches one at a time (one partition
	// lets one fsync cover every request in flight). An existing topic is
	// never changed.
	Partitions int `yaml:"partitions"`
	// ReplicationFactor of the topics hookledger creates.
	ReplicationFactor int `yaml:"replication_factor"`
	// Retention (retention.ms) of the topics hookledger creates; 0 leaves
	// the broker's default. Replay can re-read only what is retained.
	Retention time.Duration `yaml:"retention"`
	// AckTimeout bounds how long ingest waits for Kafka before answering
	// 503 + Retry-After.
	AckTimeout time.Duration `yaml:"ack_timeout"`
	// ConsumerGroup prefixes the processor's consumer group ids:
	// {consumer_group}.audit, .history and .forward.
	ConsumerGroup string `yaml:"consumer_group"`
	// SyncWrites makes the embedded broker fsync every produce before
	// acknowledging it; off, an acknowledged record survives a process crash
	// (kill -9) but not a power loss.
	SyncWrites bool `yaml:"sync_writes"`
	// EmbeddedListen is where the embedded broker listens (port 0: any
	// free port, logged at start), so operators can point Kafka tools at
	// it.
	EmbeddedListen string `yaml:"embedded_listen"`
}

// PartitionCount is the partition count of the topics hookledger creates.
// Automatic (0) is 6 on a cluster, for consumer parallelism, and 1 on the
// embedded broker: it is a single node read by a single processor, and it
// syncs each produced batch per partition one at a time, so one partition
// per topic lets one fsync cover every request in flight (scripts/loadtest.sh:
// 4.7x to 7x the acknowledged throughput of 6 partitions).
func (k Kafka) PartitionCount() int {
	switch {
	case k.Partitions > 0:
		return k.Partitions
	case len(k.Brokers) == 0:
		return 1
	default:
		return 6
	}
}

// ClickHouse configures storage: a ClickHouse server, or the embedded
// engine.
type ClickHouse struct {
	// DSN is a ClickHouse server URL
	// (clickhouse://user:password@host:9000/database). Empty opens the
	// embedded engine (chDB) under data_dir/clickhouse (only `hookledger
	// run`, `migrate` and `replay`).
	DSN string `yaml:"dsn" secret:"url"`
	// Database is the embedded engine's database; a DSN names its own.
	Database string `yaml:"database"`
	// Retention is how long rows are kept (TTL); 0 keeps them forever.
	Retention time.Duration `yaml:"retention"`
}

// Ingest configures the webhook listener.
type Ingest struct {
	// Listen is the host:port of the webhook listener (/hooks/*, and the
	// probes and metrics).
	Listen string `yaml:"listen"`
	// PublicBaseURL is scheme://host[:port][/prefix] as providers call
	// it; ingest appends the request's path and raw query to rebuild the
	// signed URL. A source's public_url takes precedence; empty uses the
	// request's own scheme and Host.
	PublicBaseURL string `yaml:"public_base_url"`
	// TrustForwardedHeaders takes the scheme and host of the signed URL
	// from X-Forwarded-Proto and X-Forwarded-Host (first value), and the
	// client address of audit records and of the audit rate limit from the
	// last X-Forwarded-For entry (the one the proxy appended). Only behind
	// a proxy that overwrites them.
	TrustForwardedHeaders bool `yaml:"trust_forwarded_headers"`
	// MaxBodyBytes bounds a callback's body; a larger one is answered 413
	// (before reading it when Content-Length says so). At most 15 MiB. The
	// Kafka topics must take messages of max_body_bytes + 272 KiB: the
	// producer, the embedded broker and the topics hookledger creates are
	// sized so; an existing topic on a cluster with a smaller
	// max.message.bytes fails the start.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxBodyMemory bounds the bytes of request bodies held at once; a
	// request that finds no room is answered 503 + Retry-After before its
	// body is read. A quarter is kept for bodies of at most 64 KiB (what
	// providers send), so a flood of large forged bodies cannot take it all.
	MaxBodyMemory int64      `yaml:"max_body_memory"`
	Audit         AuditLimit `yaml:"audit"`
	// ShutdownTimeout bounds the drain on SIGTERM: in-flight requests
	// finish their Kafka wait and get their answers within it.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// RedactHeaders names the credential-bearing headers whose values are
	// replaced (by a note, a keyed hash and, for a bearer JWT, its header
	// and claims) in every record before it is written. The default lists
	// the standard credential headers and the usual API-key ones; an empty
	// list stores every header as sent. Verification always sees the
	// headers as sent.
	RedactHeaders []string `yaml:"redact_headers"`
	Connections   `yaml:",inline"`
}

// Connections bounds one HTTP listener (ingest.*, query.*), so idle or slow
// clients cannot use up the file descriptors the engines need.
type Connections struct {
	// MaxConnections bounds open connections; 0 is automatic: what
	// RLIMIT_NOFILE leaves after a reserve for the engines, shared among
	// the process's listeners, at most 8192. At the
	// limit the connection idle longest is closed for a new one; with none
	// idle the new one is refused.
	MaxConnections int `yaml:"max_connections"`
	// MaxConnectionsPerAddress bounds one client IP address; 0 is
	// automatic: an eighth of max_connections, at least 16; behind a proxy
	// with ingest.trust_forwarded_headers, no per-address limit (every
	// connection comes from the proxy).
	MaxConnectionsPerAddress int `yaml:"max_connections_per_address"`
	// IdleTimeout closes a keep-alive connection idle that long.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
}

func (c Connections) validate(prefix string) []error {
	var errs []error
	if c.MaxConnections < 0 {
		errs = append(errs, fieldErr(prefix+".max_connections", "must be 0 (automatic) or more"))
	}
	if c.MaxConnectionsPerAddress < 0 {
		errs = append(errs, fieldErr(prefix+".max_connections_per_address", "must be 0 (automatic) or more"))
	}
	if c.IdleTimeout <= 0 {
		errs = append(errs, fieldErr(prefix+".idle_timeout", "must be positive"))
	}
	return errs
}

// DefaultRedactHeaders are the headers redacted when ingest.redact_headers
// is not set: the standard credential headers and the usual API-key ones.
// Provider signature headers are MACs of one request, not credentials.
var DefaultRedactHeaders = []string{
	"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie",
	"X-Api-Key", "X-Auth-Token", "X-Access-Token", "X-Amz-Security-Token",
}

// AuditLimit rate-limits the audit records of rejections, per source and
// per remote address, so a forged flood cannot amplify into Kafka.
type AuditLimit struct {
	// RatePerSecond is the sustained rate of rejection audit records per
	// source; 0 turns the limit off. Beyond it rejections are still
	// answered but not recorded (hookledger_ingest_audit_dropped_total).
	RatePerSecond float64 `yaml:"rate_per_second"`
	// Burst is how many rejection audit records a source may write at
	// once above the rate. Once half of it is spent, only addresses
	// sending fewer rejections than the average recent sender may spend
	// the rest.
	Burst int `yaml:"burst"`
	// BodyPrefixBytes bounds the body kept in the audit record of a request
	// rejected before its body was accepted (404, 405, 413).
	BodyPrefixBytes int `yaml:"body_prefix_bytes"`
	// RejectedBodyBytes bounds the body kept in the audit record of a
	// request that failed verification (the record says it is truncated).
	RejectedBodyBytes int `yaml:"rejected_body_bytes"`
	// QueueBytes bounds the audit records waiting to be written; past it
	// they are dropped and counted.
	QueueBytes int64 `yaml:"queue_bytes"`
}

// Processor configures the consumers that fill ClickHouse.
type Processor struct {
	// Listen serves /healthz, /readyz and /metrics when the processor runs
	// as its own tier (`hookledger process`); in `run` the ingest and query
	// listeners serve them.
	Listen string `yaml:"listen"`
	// BatchSize is the most records a consumer stores in one ClickHouse
	// insert before committing their offsets. Each insert has a fixed cost
	// (a new part per table and per materialized view) that thousands of
	// rows amortise: a consumer that is behind fills whole batches and
	// catches up on less CPU per record, one that is not sends what
	// flush_interval gathered.
	BatchSize int `yaml:"batch_size"`
	// FlushInterval bounds how long a batch waits for more records after
	// its first one. The forwarder, which only copies accepted records to
	// the verified topic, waits at most 10 ms.
	FlushInterval time.Duration `yaml:"flush_interval"`
}

// Query configures the query API.
type Query struct {
	// Listen is the host:port of the query API (/v1/*, and the probes and
	// metrics).
	Listen string `yaml:"listen"`
	// Tokens are the bearer tokens of the query API. Empty answers every
	// request 401.
	Tokens      []Token `yaml:"tokens" reload:"live"`
	Connections `yaml:",inline"`
}

// Token is one API bearer token and the tenants it may see.
type Token struct {
	// Name identifies the token in logs; unique.
	Name string `yaml:"name"`
	// Token is the bearer token itself (write it as ${ENV_NAME}).
	Token Secret `yaml:"token" secret:"true"`
	// TokenSHA256 is the token's SHA-256 in hex, instead of token, so the
	// file holds no usable credential.
	TokenSHA256 string `yaml:"token_sha256" secret:"true"`
	// Tenants the token may read; "*" is every tenant.
	Tenants []string `yaml:"tenants"`
}

// Digest returns the SHA-256 of the token, from whichever form was given.
func (t Token) Digest() ([]byte, error) {
	if t.TokenSHA256 != "" {
		return hex.DecodeString(t.TokenSHA256)
	}
	sum := sha256.Sum256([]byte(t.Token))
	return sum[:], nil
}

// Source is one webhook endpoint, /hooks/{id}.
type Source struct {
	// ID names the endpoint /hooks/{id}: 1-64 letters, digits, '.', '_'
	// or '-', unique. Records and rows carry it as their source.
	ID string `yaml:"id"`
	// Provider is messagemedia, signalwire or vonage; the source's
	// settings are the block named after it.
	Provider string `yaml:"provider"`
	// Tenant owns everything this source receives; query tokens are
	// scoped by tenant.
	Tenant string `yaml:"tenant"`
	// PublicURL is the exact URL (no query) the provider calls for this
	// source, used byte for byte (a trailing slash included) to rebuild
	// the signed URL behind a proxy. It wins over ingest.public_base_url.
	PublicURL string `yaml:"public_url"`
	// Settings is the mapping under the provider's own key (for example
	// "signalwire:"); the provider package decodes it.
	Settings yaml.Node `yaml:"-"`
	// SettingsPath is the YAML path of Settings, for error messages.
	SettingsPath string `yaml:"-"`

	file string            // the config file, for error messages
	env  map[string]string // YAML path → the HOOKLEDGER_ variable that set it
}

// Secret is a string that never prints.
type Secret string

func (Secret) String() string               { return "[redacted]" }
func (Secret) LogValue() slog.Value         { return slog.StringValue("[redacted]") }
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// Defaults returns the configuration used for every key the file omits.
func Defaults() Config {
	return Config{
		DataDir: "./hookledger-data",
		Log:     Log{Level: "info", Format: "text"},
		Kafka: Kafka{
			RawTopic:          "hookledger.raw",
			VerifiedTopic:     "hookledger.verified",
			DeadLetterTopic:   "hookledger.dead",
			Partitions:        0,
			ReplicationFactor: 1,
			Retention:         7 * 24 * time.Hour,
			AckTimeout:        5 * time.Second,
			ConsumerGroup:     "hookledger",
			SyncWrites:        true,
			EmbeddedListen:    "127.0.0.1:0",
		},
		ClickHouse: ClickHouse{Database: "hookledger", Retention: 0},
		Ingest: Ingest{
			Listen:          "127.0.0.1:8080",
			MaxBodyBytes:    1 << 20,
			MaxBodyMemory:   64 << 20,
			Audit:           AuditLimit{RatePerSecond: 50, Burst: 500, BodyPrefixBytes: 4096, RejectedBodyBytes: 16 << 10, QueueBytes: 64 << 20},
			ShutdownTimeout: 20 * time.Second,
			RedactHeaders:   append([]string(nil), DefaultRedactHeaders...),
			Connections:     Connections{IdleTimeout: 30 * time.Second},
		},
		Processor: Processor{Listen: "127.0.0.1:8082", BatchSize: 10000, FlushInterval: 200 * time.Millisecond},
		Query:     Query{Listen: "127.0.0.1:8081", Connections: Connections{IdleTimeout: 30 * time.Second}},
	}
}

var sourceIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// FieldError is a validation failure naming the offending field by its YAML
// path (for example "sources[1].tenant").
type FieldError struct {
	Field string
	Err   error
	// Where the value was written: the file and line of the key (Line 0:
	// not known, e.g. a default), or the environment variable that set it.
	File string
	Line int
	Env  string
}

// Error is "[file:]line N: field: what is wrong" (or "field: what is wrong
// (set by HOOKLEDGER_...)"). It never contains the value.
func (e *FieldError) Error() string {
	var b strings.Builder
	switch {
	case e.Line > 0 && e.File != "":
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	b.WriteString(e.Field)
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	if e.Env != "" {
		b.WriteString(" (set by " + e.Env + ")")
	}
	return b.String()
}
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// MaxBodyBytesLimit bounds ingest.max_body_bytes: the Kafka record of a
// body this large (the body plus up to 256 KiB of metadata) stays under
// the 16 MiB the consumers fetch per partition at once.
const MaxBodyBytesLimit = 15 << 20

// Validate checks everything that does not depend on a provider package;
// provider blocks are validated by the providers when sources are built.
func (c *Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, fieldErr("data_dir", "must not be empty"))
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fieldErr("log.level", "must be debug, info, warn or error"))
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		errs = append(errs, fieldErr("log.format", "must be text or json"))
	}
	for i, b := range c.Kafka.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			errs = append(errs, fieldErr(fmt.Sprintf("kafka.brokers[%d]", i), "must be host:port: %v", err))
		}
	}
	topics := map[string]string{}
	for field, topic := range map[string]string{
		"kafka.raw_topic": c.Kafka.RawTopic, "kafka.verified_topic": c.Kafka.VerifiedTopic,
		"kafka.dead_letter_topic": c.Kafka.DeadLetterTopic,
	} {
		if topic == "" {
			errs = append(errs, fieldErr(field, "must not be empty"))
			continue
		}
		if other, dup := topics[topic]; dup {
			errs = append(errs, fieldErr(field, "same topic as %s", other))
		}
		topics[topic] = field
	}
	if c.Kafka.Partitions < 0 {
		errs = append(errs, fieldErr("kafka.partitions", "must be 0 (automatic) or more"))
	}
	if c.Kafka.ReplicationFactor < 1 {
		errs = append(errs, fieldErr("kafka.replication_factor", "must be at least 1"))
	}
	if c.Kafka.AckTimeout <= 0 {
		errs = append(errs, fieldErr("kafka.ack_timeout", "must be positive"))
	}
	if c.Kafka.ConsumerGroup == "" {
		errs = append(errs, fieldErr("kafka.consumer_group", "must not be empty"))
	}
	if c.ClickHouse.DSN != "" {
		if u, err := url.Parse(c.ClickHouse.DSN); err != nil || u.Scheme == "" {
			errs = append(errs, fieldErr("clickhouse.dsn", "must be a URL such as clickhouse://user:pass@host:9000/db"))
		}
	}
	if !identPattern.MatchString(c.ClickHouse.Database) {
		errs = append(errs, fieldErr("clickhouse.database", "must be a plain identifier (letters, digits, _)"))
	}
	if c.ClickHouse.Retention < 0 {
		errs = append(errs, fieldErr("clickhouse.retention", "must not be negative"))
	}
	errs = append(errs, validateListen("ingest.listen", c.Ingest.Listen), validateListen("query.listen", c.Query.Listen),
		validateListen("processor.listen", c.Processor.Listen))
	if c.Ingest.PublicBaseURL != "" {
		errs = append(errs, validateBaseURL("ingest.public_base_url", c.Ingest.PublicBaseURL))
	}
	switch {
	case c.Ingest.MaxBodyBytes < 1:
		errs = append(errs, fieldErr("ingest.max_body_bytes", "must be at least 1"))
	case c.Ingest.MaxBodyBytes > MaxBodyBytesLimit:
		errs = append(errs, fieldErr("ingest.max_body_bytes", "must be at most %d (a larger body's Kafka record outgrows what the consumers fetch at once)", MaxBodyBytesLimit))
	case int64(c.Ingest.Audit.BodyPrefixBytes) > c.Ingest.MaxBodyBytes:
		errs = append(errs, fieldErr("ingest.audit.body_prefix_bytes", "must be at most ingest.max_body_bytes (%d), or its audit records could outgrow Kafka's limit", c.Ingest.MaxBodyBytes))
	}
	if c.Ingest.Audit.RatePerSecond < 0 {
		errs = append(errs, fieldErr("ingest.audit.rate_per_second", "must not be negative (0 turns the limit off)"))
	}
	if c.Ingest.Audit.RatePerSecond > 0 && c.Ingest.Audit.Burst < 1 {
		errs = append(errs, fieldErr("ingest.audit.burst", "must be at least 1 while rate_per_second is set, or every audit record is dropped"))
	}
	if c.Ingest.Audit.BodyPrefixBytes < 0 {
		errs = append(errs, fieldErr("ingest.audit.body_prefix_bytes", "must not be negative"))
	}
	if c.Ingest.MaxBodyMemory < 2*c.Ingest.MaxBodyBytes {
		errs = append(errs, fieldErr("ingest.max_body_memory", "must be at least twice max_body_bytes (%d), or a body of the largest size could never be read", c.Ingest.MaxBodyBytes))
	}
	if c.Ingest.Audit.RejectedBodyBytes < 1 {
		errs = append(errs, fieldErr("ingest.audit.rejected_body_bytes", "must be at least 1"))
	}
	if c.Ingest.Audit.QueueBytes < 1 {
		errs = append(errs, fieldErr("ingest.audit.queue_bytes", "must be at least 1"))
	}
	errs = append(errs, c.Ingest.Connections.validate("ingest")...)
	errs = append(errs, c.Query.Connections.validate("query")...)
	for i, name := range c.Ingest.RedactHeaders {
		if !headerNamePattern.MatchString(name) {
			errs = append(errs, fieldErr(fmt.Sprintf("ingest.redact_headers[%d]", i), "must be a header name (letters, digits, -)"))
		}
	}
	if c.Processor.BatchSize < 1 {
		errs = append(errs, fieldErr("processor.batch_size", "must be at least 1"))
	}
	if c.Processor.FlushInterval <= 0 {
		errs = append(errs, fieldErr("processor.flush_interval", "must be positive"))
	}
	errs = append(errs, c.validateTokens()...)
	errs = append(errs, c.validateSources()...)
	return errors.Join(errs...)
}

// headerNamePattern is an HTTP field name (RFC 9110 token).
var headerNamePattern = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")

var identPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

func validateListen(field, addr string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fieldErr(field, "must be host:port: %v", err)
	}
	return nil
}

func validateBaseURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fieldErr(field, "must be an absolute http(s) URL")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fieldErr(field, "must not have a query or fragment")
	}
	return nil
}

func (c *Config) validateTokens() []error {
	var errs []error
	names := map[string]int{}
	for i, t := range c.Query.Tokens {
		field := fmt.Sprintf("query.tokens[%d]", i)
		if first, dup := names[t.Name]; t.Name == "" {
			errs = append(errs, fieldErr(field+".name", "must not be empty"))
		} else if dup {
			errs = append(errs, fieldErr(field+".name", "same name as query.tokens[%d]", first))
		} else {
			names[t.Name] = i
		}
		switch {
		case t.Token == "" && t.TokenSHA256 == "":
			errs = append(errs, fieldErr(field, "needs token or token_sha256"))
		case t.Token != "" && t.TokenSHA256 != "":
			errs = append(errs, fieldErr(field, "give token or token_sha256, not both"))
		case t.TokenSHA256 != "":
			if b, err := hex.DecodeString(t.TokenSHA256); err != nil || len(b) != sha256.Size {
				errs = append(errs, fieldErr(field+".token_sha256", "must be 64 hex digits"))
			}
		}
		if len(t.Tenants) == 0 {
			errs = append(errs, fieldErr(field+".tenants", "must list tenants or \"*\""))
		}
	}
	return errs
}

func (c *Config) validateSources() []error {
	var errs []error
	ids := map[string]int{}
	for i, s := range c.Sources {
		field := fmt.Sprintf("sources[%d]", i)
		if first, dup := ids[s.ID]; !sourceIDPattern.MatchString(s.ID) {
			errs = append(errs, fieldErr(field+".id", "must be 1-64 letters, digits, '.', '_' or '-'"))
		} else if dup {
			errs = append(errs, fieldErr(field+".id", "same id as sources[%d]", first))
		} else {
			ids[s.ID] = i
		}
		if s.Provider == "" {
			errs = append(errs, fieldErr(field+".provider", "must not be empty"))
		}
		if s.Tenant == "" {
			errs = append(errs, fieldErr(field+".tenant", "must not be empty"))
		}
		if s.PublicURL != "" {
			if err := validateBaseURL(field+".public_url", s.PublicURL); err != nil {
				errs = append(errs, err)
			}
		}
		if s.Provider != "" && s.Settings.Kind == 0 {
			errs = append(errs, fieldErr(field+"."+s.Provider, "missing the %s settings block", s.Provider))
		}
	}
	return errs
}
