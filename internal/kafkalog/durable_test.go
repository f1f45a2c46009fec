package kafkalog

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDiskSyncerCoversAcknowledgedRounds: with the embedded broker's
// durability barrier, every acknowledged record is in the log once, and
// when the publishers have been answered, every segment and index file of
// the partition has been fsynced up to its current size (what the barrier
// promised them).
func TestDiskSyncerCoversAcknowledgedRounds(t *testing.T) {
	b := newBroker(t)
	topic := b.topic("durable", 2)
	syncer := b.emb.Syncer().(*DiskSyncer)
	p := NewProducer(b.brokers(), WithLogSyncer(syncer))

	const publishers, each = 32, 20
	publishConcurrently(t, p, topic, publishers, each)
	p.Close()

	st := syncer.Stats()
	if st.Callers != p.Stats().Rounds {
		t.Errorf("%d produce rounds acknowledged but %d waited for the barrier", p.Stats().Rounds, st.Callers)
	}
	if st.Rounds == 0 || st.Fsyncs == 0 {
		t.Fatalf("no flush ran: %+v", st)
	}
	for part := range 2 {
		assertSynced(t, syncer, topic, part)
	}
	seen := b.values(topic)
	if len(seen) != publishers*each {
		t.Errorf("%d distinct records in the log, want %d", len(seen), publishers*each)
	}
	t.Logf("%d produce rounds, %d flushes, %d fsyncs", st.Callers, st.Rounds, st.Fsyncs)
}

// assertSynced checks that the barrier fsynced every file of the
// partition up to its current size.
func assertSynced(t *testing.T, s *DiskSyncer, topic string, partition int) {
	t.Helper()
	ps := s.parts[topicPartition{topic, partition}]
	if ps == nil {
		t.Fatalf("%s-%d: never synced", topic, partition)
	}
	entries, err := os.ReadDir(ps.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".dat") && !strings.HasSuffix(e.Name(), ".idx") {
			continue
		}
		info, _ := e.Info()
		sf := ps.files[e.Name()]
		if sf == nil || sf.size != info.Size() {
			t.Errorf("%s: %d bytes, fsynced up to %v", filepath.Join(ps.dir, e.Name()), info.Size(), sf)
		}
	}
}

// TestDiskSyncerFailsClosed: when the barrier cannot find the broker's
// files (a kfake whose on-disk layout differs from the one this build
// reads), publishing fails instead of answering for records that were
// never fsynced.
func TestDiskSyncerFailsClosed(t *testing.T) {
	b := newBroker(t)
	topic := b.topic("not-durable", 1)
	wrong := NewDiskSyncer(t.TempDir()) // not the broker's data directory
	p := NewProducer(b.brokers(), WithLogSyncer(wrong))
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := p.Publish(ctx, Message{Topic: topic, Value: []byte("x")})
	if err == nil || !strings.Contains(err.Error(), "sync log") {
		t.Fatalf("publish through a barrier that cannot sync: %v, want a sync log error", err)
	}
}

// After an fsync fails, nothing more is acknowledged, even once fsync
// would succeed again: Linux may have dropped the pages that failed and
// reports the error once. The failing fsync is caused by closing the
// descriptors the barrier keeps (an EIO cannot be caused on demand); the
// barrier then opens fresh ones, whose fsync succeeds, and must still
// refuse.
func TestDiskSyncerFailureIsSticky(t *testing.T) {
	b := newBroker(t)
	topic := b.topic("sticky", 1)
	syncer := b.emb.Syncer().(*DiskSyncer)
	p := NewProducer(b.brokers(), WithLogSyncer(syncer))
	defer p.Close()
	publish := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return p.Publish(ctx, Message{Topic: topic, Value: []byte("x")})
	}
	if err := publish(); err != nil {
		t.Fatal(err)
	}
	ps := syncer.parts[topicPartition{topic, 0}]
	ps.filesMu.Lock()
	for _, sf := range ps.files {
		sf.f.Close()
	}
	ps.filesMu.Unlock()
	if err := publish(); err == nil {
		t.Fatal("publish acknowledged although its fsync failed")
	}
	ps.filesMu.Lock()
	clear(ps.files) // the next flush would open fresh descriptors
	ps.filesMu.Unlock()
	if err := publish(); err == nil || !strings.Contains(err.Error(), "until a restart") {
		t.Fatalf("publish after a failed fsync: %v, want the sticky failure", err)
	}
}
