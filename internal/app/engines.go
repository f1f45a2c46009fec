package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"

	"github.com/hookledger/hookledger/internal/config"
	"github.com/hookledger/hookledger/internal/dirlock"
	"github.com/hookledger/hookledger/internal/kafkalog"
	"github.com/hookledger/hookledger/schema"
	"github.com/hookledger/hookledger/storage"
	"github.com/hookledger/hookledger/storage/clickhouse"
)

// lockDataDir locks cfg.DataDir for this process (see package dirlock).
// The returned release is never nil on success.
func lockDataDir(cfg *config.Config, command string) (release func(), err error) {
	l, err := dirlock.Acquire(cfg.DataDir, command)
	if err != nil {
		return nil, err
	}
	return l.Release, nil
}

// startKafka returns the broker addresses to use, starting the embedded
// broker under data_dir when none are configured and embedded engines are
// allowed, and the durability barrier its producers must use (nil for
// brokers that make records durable themselves). The returned stop is
// never nil.
func startKafka(cfg *config.Config, allowEmbedded bool, log *slog.Logger) (brokers []string, syncer kafkalog.LogSyncer, stop func(), err error) {
	if len(cfg.Kafka.Brokers) > 0 {
		return cfg.Kafka.Brokers, nil, func() {}, nil
	}
	if !allowEmbedded {
		return nil, nil, nil, &config.FieldError{Field: "kafka.brokers", Err: fmt.Errorf("required for a single tier; only `hookledger run` embeds a broker")}
	}
	dir := filepath.Join(cfg.DataDir, "kafka")
	emb, err := kafkalog.StartEmbedded(kafkalog.EmbeddedOptions{
		Dir: dir, Addr: cfg.Kafka.EmbeddedListen, SyncWrites: cfg.Kafka.SyncWrites,
		Partitions: cfg.Kafka.PartitionCount(), MaxMessageBytes: messageBytes(cfg), Logger: log,
	})
	if err != nil {
		return nil, nil, nil, err
	}
	log.Info("embedded kafka broker started", "addrs", emb.Addrs(), "dir", dir, "sync_writes", cfg.Kafka.SyncWrites)
	return emb.Addrs(), emb.Syncer(), emb.Close, nil
}

// openStore connects to ClickHouse (the DSN, or embedded chDB under
// data_dir), applies pending migrations and the configured retention.
func openStore(ctx context.Context, cfg *config.Config, allowEmbedded bool, log *slog.Logger) (*storage.Store, error) {
	var (
		conn storage.Conn
		db   string
		err  error
	)
	switch {
	case cfg.ClickHouse.DSN != "":
		var c *clickhouse.Conn
		err = waitFor(ctx, log, "clickhouse", []any{"addr", dsnHost(cfg.ClickHouse.DSN)}, func(ctx context.Context) error {
			c, err = clickhouse.Open(ctx, cfg.ClickHouse.DSN, log)
			return err
		})
		if err == nil {
			conn, db = c, c.Database()
		}
	case allowEmbedded:
		dir := filepath.Join(cfg.DataDir, "clickhouse")
		conn, err = openEmbeddedClickHouse(dir)
		db = cfg.ClickHouse.Database
		if err == nil {
			log.Info("embedded clickhouse opened", "dir", dir, "database", db)
		}
	default:
		return nil, &config.FieldError{Field: "clickhouse.dsn", Err: fmt.Errorf("required for a single tier; only `hookledger run` embeds ClickHouse")}
	}
	if err != nil {
		return nil, err
	}
	store := storage.NewStore(conn, db)
	if err := store.Migrate(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	if err := store.ApplyRetention(ctx, cfg.ClickHouse.Retention); err != nil {
		conn.Close()
		return nil, err
	}
	return store, nil
}

func topicSpecs(cfg *config.Config) []kafkalog.TopicSpec {
	spec := func(name string) kafkalog.TopicSpec {
		return kafkalog.TopicSpec{
			Name: name, Partitions: cfg.Kafka.PartitionCount(), ReplicationFactor: cfg.Kafka.ReplicationFactor,
			Retention: cfg.Kafka.Retention, MaxMessageBytes: messageBytes(cfg),
		}
	}
	return []kafkalog.TopicSpec{spec(cfg.Kafka.RawTopic), spec(cfg.Kafka.VerifiedTopic), spec(cfg.Kafka.DeadLetterTopic)}
}

// dsnHost is the host part of a ClickHouse DSN, for logs: never its
// credentials.
func dsnHost(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable dsn)"
	}
	return u.Host
}

// messageBytes is the max.message.bytes every hookledger topic needs: a
// record of the largest body ingest accepts (ingest.max_body_bytes), with
// its key and headers. The producer, the embedded broker and the topics
// hookledger creates are all sized from it.
func messageBytes(cfg *config.Config) int64 {
	return kafkalog.MessageBytes(schema.MaxRecordBytes(cfg.Ingest.MaxBodyBytes))
}

// ensureTopics creates missing topics and checks that every topic takes
// messages of messageBytes. On the embedded broker, which hookledger
// owns, a smaller limit (a topic created before max_body_bytes was
// raised) is raised; on a cluster it is a config error naming the keys,
// as the operator owns the topic configs.
func ensureTopics(ctx context.Context, cfg *config.Config, brokers []string, log *slog.Logger) error {
	if err := kafkalog.EnsureTopics(ctx, brokers, topicSpecs(cfg)); err != nil {
		return err
	}
	need := messageBytes(cfg)
	keys := []struct{ key, topic string }{
		{"kafka.raw_topic", cfg.Kafka.RawTopic}, {"kafka.verified_topic", cfg.Kafka.VerifiedTopic},
		{"kafka.dead_letter_topic", cfg.Kafka.DeadLetterTopic},
	}
	topics := make([]string, len(keys))
	for i, k := range keys {
		topics[i] = k.topic
	}
	limits, err := kafkalog.TopicMessageLimits(ctx, brokers, topics)
	if err != nil {
		return err
	}
	var errs []error
	for _, k := range keys {
		have := limits[k.topic]
		switch {
		case have >= need:
		case len(cfg.Kafka.Brokers) == 0:
			log.Warn("raising the embedded topic's max.message.bytes to fit ingest.max_body_bytes", "topic", k.topic, "from", have, "to", need)
			if err := kafkalog.SetTopicLimit(ctx, brokers, k.topic, need); err != nil {
				return err
			}
		default:
			errs = append(errs, &config.FieldError{Field: "ingest.max_body_bytes", Err: fmt.Errorf(
				"%d needs Kafka messages of up to %d bytes, but topic %s (%s) has max.message.bytes=%d: "+
					"raise the topic's max.message.bytes to at least %d, or lower ingest.max_body_bytes",
				cfg.Ingest.MaxBodyBytes, need, k.topic, k.key, have, need)})
		}
	}
	return errors.Join(errs...)
}
