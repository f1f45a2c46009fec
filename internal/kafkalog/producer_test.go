package kafkalog

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// broker is an embedded broker on a fixed address and log directory, so a
// test can stop it and start it again on the same log.
type broker struct {
	t    testing.TB
	dir  string
	addr string
	emb  *Embedded

	inLoopSync bool
}

func newBroker(t testing.TB) *broker { return newBrokerSync(t, false) }

// newBrokerSync starts an embedded broker with SyncWrites; inLoopSync
// selects kfake's own fsync instead of the DiskSyncer.
func newBrokerSync(t testing.TB, inLoopSync bool) *broker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	b := &broker{t: t, dir: filepath.Join(t.TempDir(), "kafka"), addr: addr, inLoopSync: inLoopSync}
	b.start()
	t.Cleanup(b.stop)
	return b
}

func (b *broker) start() {
	b.t.Helper()
	emb, err := StartEmbedded(EmbeddedOptions{Dir: b.dir, Addr: b.addr, Partitions: 1, SyncWrites: true, inLoopSync: b.inLoopSync})
	if err != nil {
		b.t.Fatal(err)
	}
	b.emb = emb
}

func (b *broker) stop() {
	if b.emb != nil {
		b.emb.Close()
		b.emb = nil
	}
}

func (b *broker) brokers() []string { return []string{b.addr} }

func (b *broker) topic(name string, partitions int) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := EnsureTopics(ctx, b.brokers(), []TopicSpec{{Name: name, Partitions: partitions, ReplicationFactor: 1}}); err != nil {
		b.t.Fatal(err)
	}
	return name
}

// values counts each record value in topic.
func (b *broker) values(topic string) map[string]int {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	seen := map[string]int{}
	if err := Scan(ctx, b.brokers(), topic, func(f Fetched) error {
		seen[string(f.Value)]++
		return nil
	}); err != nil {
		b.t.Fatal(err)
	}
	return seen
}

// TestProducerConcurrentPublishers: many concurrent publishers, each
// acknowledged, and every acknowledged record is in the log exactly once;
// concurrent records share produce requests (group commit).
func TestProducerConcurrentPublishers(t *testing.T) {
	b := newBroker(t)
	topic := b.topic("group-commit", 3)
	p := NewProducer(b.brokers())
	defer p.Close()

	const publishers, each = 32, 20
	publishConcurrently(t, p, topic, publishers, each)
	seen := b.values(topic)
	for g := range publishers {
		for i := range each {
			if v := fmt.Sprintf("g%d-%d", g, i); seen[v] != 1 {
				t.Errorf("%s is in the log %d times, want 1", v, seen[v])
			}
		}
	}
	st := p.Stats()
	if st.Records != publishers*each {
		t.Errorf("stats: %d records acknowledged, want %d", st.Records, publishers*each)
	}
	if st.Rounds >= st.Records {
		t.Errorf("%d rounds for %d records: concurrent publishes were not grouped", st.Rounds, st.Records)
	}
	t.Logf("%d records in %d produce requests", st.Records, st.Rounds)
}

// publishConcurrently has publishers goroutines publish each records
// apiece to topic, values (and keys and an "h" header) "g<publisher>-<i>",
// and fails t on any error.
func publishConcurrently(t *testing.T, p *Producer, topic string, publishers, each int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, publishers*each)
	for g := range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				v := fmt.Sprintf("g%d-%d", g, i)
				errs <- p.Publish(ctx, Message{Topic: topic, Key: []byte(v), Value: []byte(v), Headers: map[string]string{"h": v}})
				cancel()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
}

// TestProducerMessagesOfOneCall: one Publish spanning topics and
// partitions returns only when every message is in.
func TestProducerMessagesOfOneCall(t *testing.T) {
	b := newBroker(t)
	a, c := b.topic("one-call-a", 2), b.topic("one-call-b", 1)
	p := NewProducer(b.brokers())
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var msgs []Message
	for i := range 10 {
		msgs = append(msgs, Message{Topic: a, Key: []byte{byte(i)}, Value: []byte(fmt.Sprint("a", i))})
	}
	msgs = append(msgs, Message{Topic: c, Value: []byte("c")}) // nil key: round robin
	if err := p.Publish(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	if got := len(b.values(a)); got != 10 {
		t.Errorf("%s holds %d records, want 10", a, got)
	}
	if got := b.values(c)["c"]; got != 1 {
		t.Errorf("%s holds c %d times, want 1", c, got)
	}
}

// TestProducerContextEnded: a waiter whose context has ended gets its
// error, never a success.
func TestProducerContextEnded(t *testing.T) {
	b := newBroker(t)
	topic := b.topic("ctx", 1)
	p := NewProducer(b.brokers())
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Publish(ctx, Message{Topic: topic, Value: []byte("x")}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v, want context.Canceled", err)
	}
}

// TestProducerBrokerDown: with the broker down every Publish fails by its
// deadline; once the broker is back on the same log, publishing succeeds
// again and every acknowledged record is there.
func TestProducerBrokerDown(t *testing.T) {
	b := newBroker(t)
	topic := b.topic("restart", 1)
	p := NewProducer(b.brokers())
	defer p.Close()
	publish := func(v string, within time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), within)
		defer cancel()
		return p.Publish(ctx, Message{Topic: topic, Key: []byte(v), Value: []byte(v)})
	}
	acked := map[string]bool{}
	for i := range 3 {
		v := fmt.Sprint("before-", i)
		if err := publish(v, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		acked[v] = true
	}
	b.stop()
	for i := range 3 {
		if err := publish(fmt.Sprint("down-", i), 500*time.Millisecond); err == nil {
			t.Fatal("broker down: publish succeeded")
		}
	}
	b.start()
	// The first publish after the restart may meet connections of the old
	// broker; the producer retries them within the deadline.
	for i := range 3 {
		v := fmt.Sprint("after-", i)
		if err := publish(v, 20*time.Second); err != nil {
			t.Fatalf("after the restart: %v", err)
		}
		acked[v] = true
	}
	seen := b.values(topic)
	for v := range acked {
		if seen[v] == 0 {
			t.Errorf("%s was acknowledged but is not in the log", v)
		}
	}
}

// TestProducerClose: Close sends what is queued; Publish fails afterwards.
func TestProducerClose(t *testing.T) {
	b := newBroker(t)
	topic := b.topic("close", 1)
	p := NewProducer(b.brokers())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Publish(ctx, Message{Topic: topic, Value: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if err := p.Publish(ctx, Message{Topic: topic, Value: []byte("y")}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
}
