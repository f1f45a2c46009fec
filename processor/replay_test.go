package processor

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hookledger/hookledger/internal/kafkalog"
	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/internal/testinfra/chdbtest"
	"github.com/hookledger/hookledger/provider/providers"
	"github.com/hookledger/hookledger/storage"
)

// TestReplayWithSelectsAndDryRuns: --since keeps records received from a
// time on, --source those of the named sources, --dry-run counts what it
// would write and writes nothing; progress reports every record read with
// the topic's size and ends with Done.
func TestReplayWithSelectsAndDryRuns(t *testing.T) {
	brokers := testinfra.KafkaBrokers(t)
	raw, _, _ := testinfra.Topics(t)
	ctx := context.Background()
	if err := kafkalog.EnsureTopics(ctx, brokers, []kafkalog.TopicSpec{{Name: raw, Partitions: 2, ReplicationFactor: 1}}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	type row struct {
		sid, source string
		age         time.Duration
	}
	rows := []row{
		{"SMreplayNewMain", "sw-main", time.Hour},
		{"SMreplayOldMain", "sw-main", 48 * time.Hour},
		{"SMreplayNewOther", "sw-other", time.Hour},
		{"SMreplayOldOther", "sw-other", 48 * time.Hour},
	}
	prod := kafkalog.NewProducer(brokers)
	defer prod.Close()
	for _, r := range rows {
		rec := swRec(r.sid, "delivered")
		rec.Source, rec.ReceivedAt = r.source, now.Add(-r.age)
		m := encode(rec)
		m.Topic, m.Key = raw, rec.ID[:]
		if err := prod.Publish(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	store := chdbtest.Store(t)
	stored := func(sid string) bool {
		_, err := store.Messages(ctx, storage.Scope{All: true}, sid, storage.Owner{})
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name         string
		opts         ReplayOptions
		wantSelected int64
		wantStored   []string // cumulative: earlier rows' replays stay
	}{
		{"dry run of everything", ReplayOptions{DryRun: true}, 4, nil},
		{"since a day ago, sw-main only", ReplayOptions{Since: now.Add(-24 * time.Hour), Sources: []string{"sw-main"}}, 1, []string{"SMreplayNewMain"}},
		{"sw-other, any time", ReplayOptions{Sources: []string{"sw-other"}}, 2, []string{"SMreplayNewMain", "SMreplayNewOther", "SMreplayOldOther"}},
	} {
		var reports []ReplayProgress
		tc.opts.Progress = func(p ReplayProgress) { reports = append(reports, p) }
		if err := ReplayWith(ctx, brokers, raw, store, providers.All(), 100, log, tc.opts); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		last := reports[len(reports)-1]
		if !last.Done || last.Total != 4 || last.Scanned != 4 || last.Selected != tc.wantSelected || last.Rows != tc.wantSelected {
			t.Errorf("%s: last progress %+v, want done, 4 of 4 read, %d selected and rows", tc.name, last, tc.wantSelected)
		}
		want := map[string]bool{}
		for _, sid := range tc.wantStored {
			want[sid] = true
		}
		for _, r := range rows {
			if got := stored(r.sid); got != want[r.sid] {
				t.Errorf("%s: %s stored %v, want %v", tc.name, r.sid, got, want[r.sid])
			}
		}
	}
}
