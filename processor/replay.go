package processor

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
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
	return ReplayWith(ctx, brokers, rawTopic, store, providers, batchSize, log, ReplayOptions{})
}

// ReplayOptions narrow a replay and report on it.
type ReplayOptions struct {
	// Since keeps only records received at or after it (zero: all). The
	// raw topic is still read from its start: records are in arrival
	// order per partition only.
	Since time.Time
	// Sources keeps only records of these source ids (empty: all).
	Sources []string
	// DryRun normalises and counts, and writes nothing.
	DryRun bool
	// Progress, if set, is called after every batch and once at the end
	// (Done set).
	Progress func(ReplayProgress)
}

// ReplayProgress is how far a replay got.
type ReplayProgress struct {
	Total    int64 // records in the raw topic when the replay started
	Scanned  int64 // records read so far
	Selected int64 // of them, those Since and Sources kept
	Rows     int64 // rows inserted (or, dry, that would be)
	Unusable int64 // selected records that cannot be normalised
	// Partition and Offset are the last record read.
	Partition int
	Offset    int64
	Elapsed   time.Duration
	Done      bool
}

// Rate is records read per second so far.
func (p ReplayProgress) Rate() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Scanned) / p.Elapsed.Seconds()
}

// ETA is the time left at the rate so far (0 when unknown or done).
func (p ReplayProgress) ETA() time.Duration {
	r := p.Rate()
	if r <= 0 || p.Scanned >= p.Total {
		return 0
	}
	return time.Duration(float64(p.Total-p.Scanned) / r * float64(time.Second))
}

// selects reports whether o keeps the record f.
func (o ReplayOptions) selects(f kafkalog.Fetched) bool {
	if o.Since.IsZero() && len(o.Sources) == 0 {
		return true
	}
	rec, err := schema.DecodeRecord(f.Value, f.Headers)
	if err != nil {
		return true // kept, to be counted unusable like any other
	}
	if !o.Since.IsZero() && rec.ReceivedAt.Before(o.Since) {
		return false
	}
	return len(o.Sources) == 0 || slices.Contains(o.Sources, rec.Source)
}

// ReplayWith is Replay narrowed and reported by o. A dry run writes
// nothing, dead-letter marks and the current-state rebuild included.
func ReplayWith(ctx context.Context, brokers []string, rawTopic string, store ReplayStore, providers *provider.Registry,
	batchSize int, log *slog.Logger, o ReplayOptions) error {
	start := time.Now()
	var pr ReplayProgress
	if o.Progress != nil {
		total, err := kafkalog.TopicRecords(ctx, brokers, rawTopic)
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		pr.Total = total
	}
	report := func(done bool) {
		if o.Progress != nil {
			pr.Elapsed, pr.Done = time.Since(start), done
			o.Progress(pr)
		}
	}
	batch := make([]kafkalog.Fetched, 0, batchSize)
	flush := func() error {
		all, _, bad := normaliseBatch(providers, batch)
		pr.Selected, pr.Unusable, batch = pr.Selected+int64(len(batch)), pr.Unusable+int64(len(bad)), batch[:0]
		for _, d := range bad {
			log.Warn("replay: record not normalised", "partition", d.from.Partition, "offset", d.from.Offset, "err", d.err)
		}
		pr.Rows += int64(all.Rows())
		defer report(false)
		if o.DryRun {
			return nil
		}
		if err := store.InsertDeadLetters(ctx, deadLetterRows(bad, time.Now())); err != nil {
			return err
		}
		if all.Empty() {
			return nil
		}
		return store.InsertNormalised(ctx, all)
	}
	err := kafkalog.Scan(ctx, brokers, rawTopic, func(f kafkalog.Fetched) error {
		pr.Scanned, pr.Partition, pr.Offset = pr.Scanned+1, f.Partition, f.Offset
		if !o.selects(f) {
			if pr.Scanned%int64(max(batchSize, 1)) == 0 {
				report(false)
			}
			return nil
		}
		batch = append(batch, f)
		if len(batch) >= batchSize {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil && !o.DryRun {
		// The current-state tables only ever add: a replayed row whose
		// content changed under an existing dedup key must replace the old
		// one there too.
		err = store.RebuildCurrentState(ctx)
	}
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	report(true)
	log.Info("replay done", "raw_records", pr.Scanned, "selected", pr.Selected, "rows", pr.Rows, "unusable", pr.Unusable,
		"dry_run", o.DryRun, "duration", time.Since(start).Round(time.Millisecond))
	return nil
}
