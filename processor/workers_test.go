package processor

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hookledger/hookledger/internal/kafkalog"
	"github.com/hookledger/hookledger/internal/testinfra/chdbtest"
	"github.com/hookledger/hookledger/provider/providers"
	"github.com/hookledger/hookledger/schema"
	"github.com/hookledger/hookledger/storage"
)

// concurrencySpy passes every insert to the real store and records how
// many ran at once.
type concurrencySpy struct {
	*storage.Store
	now, most atomic.Int32
}

func (s *concurrencySpy) track() func() {
	n := s.now.Add(1)
	for m := s.most.Load(); n > m && !s.most.CompareAndSwap(m, n); m = s.most.Load() {
	}
	return func() { s.now.Add(-1) }
}

func (s *concurrencySpy) InsertCallbacks(ctx context.Context, recs []*schema.Record) error {
	defer s.track()()
	return s.Store.InsertCallbacks(ctx, recs)
}

func (s *concurrencySpy) InsertNormalised(ctx context.Context, n schema.Normalised) error {
	defer s.track()()
	return s.Store.InsertNormalised(ctx, n)
}

// TestWorkersBoundConcurrentBatches: with WithWorkers(1), batches handed
// to HandleRaw and HandleVerified by several consumers at once are stored
// one at a time, and all of them are stored.
func TestWorkersBoundConcurrentBatches(t *testing.T) {
	store := &concurrencySpy{Store: chdbtest.Store(t)}
	p := New(store, providers.All(), nil, "dead", nil, nil, WithWorkers(1))
	const batches, perBatch = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, 2*batches)
	for b := range batches {
		batch := make([]kafkalog.Fetched, perBatch)
		for i := range batch {
			m := swRecord(fmt.Sprintf("SM%d-%d", b, i), "delivered")
			batch[i] = kafkalog.Fetched{Value: m.Value, Headers: m.Headers}
		}
		wg.Go(func() { errs <- p.HandleVerified(context.Background(), batch) })
		wg.Go(func() { errs <- p.HandleRaw(context.Background(), batch) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if most := store.most.Load(); most != 1 {
		t.Errorf("%d inserts ran at once, want 1", most)
	}
	for table, want := range map[string]int{"message_events": batches * perBatch, "callbacks": batches * perBatch} {
		var n int
		err := store.Conn().Select(context.Background(), "SELECT count() AS n FROM "+store.Database()+"."+table, func(row []byte) error {
			var r struct{ N int }
			err := jsonUnmarshal(row, &r)
			n = r.N
			return err
		})
		if err != nil || n != want {
			t.Errorf("%s holds %d rows (%v), want %d", table, n, err, want)
		}
	}
}
