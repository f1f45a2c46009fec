package app

import (
	"context"
	"log/slog"

	"github.com/hookledger/hookledger/internal/config"
	"github.com/hookledger/hookledger/processor"
	"github.com/hookledger/hookledger/provider/providers"
	"github.com/hookledger/hookledger/storage"
)

// Migrate applies pending migrations (opening the embedded engine when no
// DSN is configured, under the data_dir lock) and exits.
func Migrate(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	if cfg.ClickHouse.DSN == "" {
		release, err := lockDataDir(cfg, "migrate")
		if err != nil {
			return err
		}
		defer release()
	}
	store, err := openStore(ctx, cfg, true, log)
	if err != nil {
		return err
	}
	log.Info("migrations applied", "database", store.Database())
	return store.Conn().Close()
}

// Replay rebuilds the normalised tables from the raw topic: every accepted
// record is normalised again and inserted. Deterministic dedup keys make
// this safe while the processor runs; rows whose key is unchanged are
// replaced. Records the raw topic's retention already dropped cannot come
// back. On an embedded engine it takes the data_dir lock, so it runs only
// while no `hookledger run` holds that data_dir. opts narrow it (since,
// sources, dry run) and report its progress.
func Replay(ctx context.Context, cfg *config.Config, log *slog.Logger, opts processor.ReplayOptions) error {
	if len(cfg.Kafka.Brokers) == 0 || cfg.ClickHouse.DSN == "" {
		release, err := lockDataDir(cfg, "replay")
		if err != nil {
			return err
		}
		defer release()
	}
	brokers, _, stopKafka, err := startKafka(cfg, true, log) // replay only reads
	if err != nil {
		return err
	}
	defer stopKafka()
	store, err := openStore(ctx, cfg, true, log)
	if err != nil {
		return err
	}
	defer store.Conn().Close()
	return processor.ReplayWith(ctx, brokers, cfg.Kafka.RawTopic, store, providers.All(), cfg.Processor.BatchSize, log, opts)
}

// replayInto re-normalises every accepted record in rawTopic into store
// (processor.Replay).
func replayInto(ctx context.Context, brokers []string, rawTopic string, store *storage.Store, batchSize int, log *slog.Logger) error {
	return processor.Replay(ctx, brokers, rawTopic, store, providers.All(), batchSize, log)
}
