package kafkalog_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/hookledger/hookledger/internal/kafkalog"
)

// seen collects the values a consumer handled.
type seen struct {
	mu     sync.Mutex
	values map[string]int
	resets []kafkalog.OffsetReset
}

func (s *seen) handle(_ context.Context, batch []kafkalog.Fetched) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range batch {
		s.values[string(f.Value)]++
	}
	return nil
}

func (s *seen) onReset(r kafkalog.OffsetReset) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resets = append(s.resets, r)
}

// missing lists the values of want not handled yet.
func (s *seen) missing(want []string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, v := range want {
		if s.values[v] == 0 {
			out = append(out, v)
		}
	}
	return out
}

func startBroker(t *testing.T, dir string) *kafkalog.Embedded {
	t.Helper()
	emb, err := kafkalog.StartEmbedded(kafkalog.EmbeddedOptions{Dir: dir, SyncWrites: true, Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	return emb
}

func ensureTopic(t *testing.T, brokers []string, topic string) {
	t.Helper()
	if err := kafkalog.EnsureTopics(context.Background(), brokers, []kafkalog.TopicSpec{{Name: topic, Partitions: 1, ReplicationFactor: 1}}); err != nil {
		t.Fatal(err)
	}
}

// produce appends n records named prefix-i, ten per produce request, so
// the log holds many batches.
func produce(t *testing.T, brokers []string, topic, prefix string, n int) []string {
	t.Helper()
	p := kafkalog.NewProducer(brokers)
	defer p.Close()
	var values []string
	for i := 0; i < n; i += 10 {
		var msgs []kafkalog.Message
		for j := i; j < min(i+10, n); j++ {
			v := fmt.Sprintf("%s-%04d", prefix, j)
			values = append(values, v)
			msgs = append(msgs, kafkalog.Message{Topic: topic, Value: []byte(v)})
		}
		if err := p.Publish(context.Background(), msgs...); err != nil {
			t.Fatal(err)
		}
	}
	return values
}

// runConsumer consumes until the returned stop is called.
func runConsumer(t *testing.T, brokers []string, topic, group string, s *seen, checkFirst bool) (stop func()) {
	t.Helper()
	c := kafkalog.NewConsumer(kafkalog.ConsumerOptions{
		Brokers: brokers, Group: group, Topic: topic, ClientID: group,
		BatchSize: 50, FlushInterval: 20 * time.Millisecond, CheckInterval: 200 * time.Millisecond,
		OnReset: s.onReset,
	})
	if checkFirst {
		if err := c.CheckOffsets(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Run(ctx, s.handle)
		_ = c.Close()
	}()
	return func() { cancel(); <-done }
}

// TestConsumerRereadsAfterBrokerDataLoss damages a real kfake data
// directory between two runs, as a disk fault or an operator would, after
// a consumer group read and committed 200 records. Every record appended
// after the restart must still be handled: a cut segment file leaves the
// committed offset past the log end (re-read from the log start); a lost
// topics.json is repaired at start (the log comes back whole); a topic
// lost altogether comes back empty (re-read from the log start).
func TestConsumerRereadsAfterBrokerDataLoss(t *testing.T) {
	for _, tc := range []struct {
		name      string
		damage    func(t *testing.T, dir, topic string)
		wantReset bool // a committed_beyond_end reset at start
		wantLog   int  // records in the log afterwards; -1: some lost, the 300 new ones kept
	}{
		{"segment file cut in half", func(t *testing.T, dir, topic string) {
			segs, _ := filepath.Glob(filepath.Join(dir, "partitions", topic+"-0", "*.dat"))
			if len(segs) != 1 {
				t.Fatalf("segment files: %v", segs)
			}
			info, err := os.Stat(segs[0])
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(segs[0], info.Size()/2); err != nil {
				t.Fatal(err)
			}
		}, true, -1},
		{"topics.json deleted", func(t *testing.T, dir, _ string) {
			if err := os.Remove(filepath.Join(dir, "topics.json")); err != nil {
				t.Fatal(err)
			}
		}, false, 200 + 300},
		{"topic state and logs deleted", func(t *testing.T, dir, _ string) {
			if err := errors.Join(os.Remove(filepath.Join(dir, "topics.json")), os.RemoveAll(filepath.Join(dir, "partitions"))); err != nil {
				t.Fatal(err)
			}
		}, true, 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, topic, group := t.TempDir(), "callbacks", "processor"
			emb := startBroker(t, dir)
			ensureTopic(t, emb.Addrs(), topic)
			before := produce(t, emb.Addrs(), topic, "before", 200)
			first := &seen{values: map[string]int{}}
			stop := runConsumer(t, emb.Addrs(), topic, group, first, true)
			eventually(t, "first run consumed", func() bool { return len(first.missing(before)) == 0 })
			stop()
			emb.Close()

			tc.damage(t, dir, topic)

			emb = startBroker(t, dir)
			defer emb.Close()
			ensureTopic(t, emb.Addrs(), topic)
			second := &seen{values: map[string]int{}}
			stop = runConsumer(t, emb.Addrs(), topic, group, second, true)
			defer stop()
			after := produce(t, emb.Addrs(), topic, "after", 300)
			deadline := time.Now().Add(60 * time.Second)
			for len(second.missing(after)) > 0 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if m := second.missing(after); len(m) > 0 {
				t.Fatalf("%d of %d records appended after the damage never handled, first %s", len(m), len(after), m[0])
			}
			second.mu.Lock()
			resets := second.resets
			second.mu.Unlock()
			switch {
			case tc.wantReset && (len(resets) != 1 || resets[0].Cause != kafkalog.CauseCommittedBeyondEnd || resets[0].Committed != 200):
				t.Errorf("resets reported: %+v, want one %s from 200", resets, kafkalog.CauseCommittedBeyondEnd)
			case !tc.wantReset && len(resets) > 0:
				t.Errorf("resets reported: %+v, want none", resets)
			}
			n := 0
			if err := kafkalog.Scan(context.Background(), emb.Addrs(), topic, func(kafkalog.Fetched) error { n++; return nil }); err != nil {
				t.Fatal(err)
			}
			if tc.wantLog < 0 && (n < 300 || n >= 500) || tc.wantLog >= 0 && n != tc.wantLog {
				t.Errorf("log holds %d records, want %d", n, tc.wantLog)
			}
		})
	}
}

// TestConsumerRereadsWhenTheLogMovesBackwardsWhileRunning: the topic is
// deleted and recreated under a running consumer (what an operator's
// mistake or an unclean leader election does to the offsets); the
// consumer notices the log end going down and reads the new log whole.
func TestConsumerRereadsWhenTheLogMovesBackwardsWhileRunning(t *testing.T) {
	dir, topic, group := t.TempDir(), "callbacks", "processor"
	emb := startBroker(t, dir)
	defer emb.Close()
	brokers := emb.Addrs()
	ensureTopic(t, brokers, topic)
	before := produce(t, brokers, topic, "before", 200)
	s := &seen{values: map[string]int{}}
	stop := runConsumer(t, brokers, topic, group, s, true)
	defer stop()
	eventually(t, "consumed", func() bool { return len(s.missing(before)) == 0 })

	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	resp, err := client.DeleteTopics(context.Background(), &kafka.DeleteTopicsRequest{Topics: []string{topic}})
	if err != nil || resp.Errors[topic] != nil {
		t.Fatal(err, resp)
	}
	ensureTopic(t, brokers, topic)
	after := produce(t, brokers, topic, "after", 50)
	deadline := time.Now().Add(60 * time.Second)
	for len(s.missing(after)) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if m := s.missing(after); len(m) > 0 {
		t.Fatalf("%d of %d records of the recreated topic never handled, first %s", len(m), len(after), m[0])
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.resets) == 0 {
		t.Fatal("no reset reported")
	}
}

// eventually polls cond for up to a minute (a liveness bound for the real
// broker, not a timing assertion).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
