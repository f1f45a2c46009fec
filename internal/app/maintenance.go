package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hookledger/hookledger/internal/config"
	"github.com/hookledger/hookledger/internal/kafkalog"
	"github.com/hookledger/hookledger/processor"
	"github.com/hookledger/hookledger/provider/providers"
	"github.com/hookledger/hookledger/schema"
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
// while no `hookledger run` holds that data_dir.
func Replay(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
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
	return replayInto(ctx, brokers, cfg.Kafka.RawTopic, store, cfg.Processor.BatchSize, log)
}

// replayInto re-normalises every accepted record in rawTopic into store.
func replayInto(ctx context.Context, brokers []string, rawTopic string, store *storage.Store, batchSize int, log *slog.Logger) error {
	reg := providers.All()
	var batch schema.Normalised
	var dead []schema.DeadLetter // marks of records that cannot be used, as the processor writes them
	var records, rows, unusable int
	flush := func() error {
		if err := store.InsertDeadLetters(ctx, dead); err != nil {
			return err
		}
		dead = nil
		if batch.Empty() {
			return nil
		}
		rows += batch.Rows()
		err := store.InsertNormalised(ctx, batch)
		batch = schema.Normalised{}
		return err
	}
	err := kafkalog.Scan(ctx, brokers, rawTopic, func(f kafkalog.Fetched) error {
		records++
		rec, err := schema.DecodeRecord(f.Value, f.Headers)
		if err != nil {
			unusable++
			return nil
		}
		n, err := processor.NormaliseRecord(reg, rec)
		if err != nil {
			unusable++
			log.Warn("replay: record not normalised", "event_id", rec.ID, "err", err)
			dead = append(dead, processor.DeadLetterRow(rec, err, time.Now()))
			return nil
		}
		batch.Add(n)
		if batch.Rows()+len(dead) >= batchSize {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil {
		// The current-state tables only ever add: a replayed row whose
		// content changed under an existing dedup key must replace the old
		// one there too.
		err = store.RebuildCurrentState(ctx)
	}
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	log.Info("replay done", "raw_records", records, "rows", rows, "unusable", unusable)
	return nil
}
