package kafkalog_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hookledger/hookledger/internal/kafkalog"
)

// TestPipelinedConsumerCommitsInFetchOrder: with Pipeline 2, the second
// batch of a partition is handled while the first is still in the
// handler, but its offsets wait for the first: when the first is then
// not stored (the process stops), nothing is committed, and the group
// reads both records again.
func TestPipelinedConsumerCommitsInFetchOrder(t *testing.T) {
	brokers := startBroker(t, t.TempDir()).Addrs()
	const topic, group = "pipeline", "pipeline-group"
	ensureTopic(t, brokers, topic)
	want := produce(t, brokers, topic, "rec", 2)

	release := make(chan struct{})
	var mu sync.Mutex
	handled := map[string]bool{}
	c := kafkalog.NewConsumer(kafkalog.ConsumerOptions{
		Brokers: brokers, Group: group, Topic: topic, ClientID: group,
		BatchSize: 1, FlushInterval: 10 * time.Millisecond, Pipeline: 2,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Run(ctx, func(ctx context.Context, batch []kafkalog.Fetched) error {
			v := string(batch[0].Value)
			if v == want[0] {
				<-release
				return errors.New("not stored: the process is stopping")
			}
			mu.Lock()
			defer mu.Unlock()
			handled[v] = true
			return nil
		})
		_ = c.Close()
	}()
	eventually(t, "the second batch handled while the first is in the handler", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return handled[want[1]]
	})
	cancel()
	close(release)
	<-done

	s := &seen{values: map[string]int{}}
	stop := runConsumer(t, brokers, topic, group, s, false)
	defer stop()
	eventually(t, "both records read again by the group", func() bool { return len(s.missing(want)) == 0 })
}

// TestBehindConsumerFillsBatches: records appended before the consumer
// started are older than FlushInterval, so the consumer is behind and
// fills whole batches instead of cutting one FlushInterval after its
// first record (a full batch stores more cheaply per record).
func TestBehindConsumerFillsBatches(t *testing.T) {
	brokers := startBroker(t, t.TempDir()).Addrs()
	const topic, group = "behind", "behind-group"
	ensureTopic(t, brokers, topic)
	want := produce(t, brokers, topic, "rec", 2000)
	time.Sleep(10 * time.Millisecond) // the records are now older than FlushInterval

	var mu sync.Mutex
	var sizes []int
	c := kafkalog.NewConsumer(kafkalog.ConsumerOptions{
		Brokers: brokers, Group: group, Topic: topic, ClientID: group,
		BatchSize: 1000, FlushInterval: time.Millisecond,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Run(ctx, func(_ context.Context, batch []kafkalog.Fetched) error {
			mu.Lock()
			defer mu.Unlock()
			sizes = append(sizes, len(batch))
			return nil
		})
		_ = c.Close()
	}()
	defer func() { cancel(); <-done }()
	eventually(t, "every record handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, s := range sizes {
			n += s
		}
		return n >= len(want)
	})
	mu.Lock()
	defer mu.Unlock()
	if len(sizes) != 2 || sizes[0] != 1000 || sizes[1] != 1000 {
		t.Errorf("batch sizes = %v, want two full batches of 1000", sizes)
	}
}

// TestConsumerReadsRecordsLargerThanAFetch: a record bigger than one
// fetch response (fetchBytes, 4 MiB) between small ones is still
// delivered, whole: the broker returns a first record batch even when it
// exceeds the fetch's bound.
func TestConsumerReadsRecordsLargerThanAFetch(t *testing.T) {
	emb, err := kafkalog.StartEmbedded(kafkalog.EmbeddedOptions{Dir: t.TempDir(), Partitions: 1, MaxMessageBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Close)
	brokers := emb.Addrs()
	const topic, group = "large", "large-group"
	if err := kafkalog.EnsureTopics(context.Background(), brokers, []kafkalog.TopicSpec{
		{Name: topic, Partitions: 1, ReplicationFactor: 1, MaxMessageBytes: 8 << 20},
	}); err != nil {
		t.Fatal(err)
	}
	large := make([]byte, 6<<20)
	for i := range large {
		large[i] = byte('a' + i%26)
	}
	p := kafkalog.NewProducer(brokers, kafkalog.WithMaxMessageBytes(8<<20))
	for _, v := range [][]byte{[]byte("before"), large, []byte("after")} {
		if err := p.Publish(context.Background(), kafkalog.Message{Topic: topic, Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	_ = p.Close()
	var mu sync.Mutex
	var got [][]byte
	c := kafkalog.NewConsumer(kafkalog.ConsumerOptions{
		Brokers: brokers, Group: group, Topic: topic, ClientID: group, BatchSize: 10, FlushInterval: 10 * time.Millisecond,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Run(ctx, func(_ context.Context, batch []kafkalog.Fetched) error {
			mu.Lock()
			defer mu.Unlock()
			for _, f := range batch {
				got = append(got, f.Value)
			}
			return nil
		})
		_ = c.Close()
	}()
	defer func() { cancel(); <-done }()
	eventually(t, "three records", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= 3
	})
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 || string(got[0]) != "before" || !bytes.Equal(got[1], large) || string(got[2]) != "after" {
		t.Errorf("got %d records (sizes %d...)", len(got), len(got[0]))
	}
}
