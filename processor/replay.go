package processor

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hookledger/hookledger/internal/kafkalog"
	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/schema"
)

// ReplayStore is what Replay writes to.
type ReplayStore interface {
	InsertNormalised(ctx context.Context, n schema.Normalised) error
	InsertDeadLetters(ctx context.Context, dead []schema.DeadLetter) error
	RebuildCurrentState(ctx context.Context) error
}

// Replay re-normalises every accepted record still in rawTopic into the
// history tables, batchSize records per insert, with the code the history
// consumer uses, then rebuilds the current state. Deterministic dedup keys
// make it idempotent. Records that cannot be used are counted, logged and
// marked in the dead-letter table as the processor marks them, but not
// published to the dead-letter topic again: the processor did that when it
// first read them.
func Replay(ctx context.Context, brokers []string, rawTopic string, store ReplayStore, providers *provider.Registry,
	batchSize int, log *slog.Logger) error {
	var records, rows, unusable int
	batch := make([]kafkalog.Fetched, 0, batchSize)
	flush := func() error {
		all, _, bad := normaliseBatch(providers, batch)
		records, unusable, batch = records+len(batch), unusable+len(bad), batch[:0]
		for _, d := range bad {
			log.Warn("replay: record not normalised", "partition", d.from.Partition, "offset", d.from.Offset, "err", d.err)
		}
		if err := store.InsertDeadLetters(ctx, deadLetterRows(bad, time.Now())); err != nil {
			return err
		}
		rows += all.Rows()
		if all.Empty() {
			return nil
		}
		return store.InsertNormalised(ctx, all)
	}
	err := kafkalog.Scan(ctx, brokers, rawTopic, func(f kafkalog.Fetched) error {
		batch = append(batch, f)
		if len(batch) >= batchSize {
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
