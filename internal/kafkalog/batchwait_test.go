package kafkalog

import (
	"testing"
	"time"
)

// TestBatchWaitBehindAfter: a consumer with a short FlushInterval (the
// forwarder's 10 ms) counts as behind only past BehindAfter: records are
// always a few ms old when fetched, and treating each as behind would make
// every batch wait behindFlushInterval.
func TestBatchWaitBehindAfter(t *testing.T) {
	for _, c := range []struct {
		name        string
		flush       time.Duration
		behindAfter time.Duration
		age         time.Duration
		unknown     bool
		want        time.Duration
	}{
		{"forwarder, record fetched 50 ms after its append", 10 * time.Millisecond, 200 * time.Millisecond, 50 * time.Millisecond, false, 10 * time.Millisecond},
		{"forwarder behind", 10 * time.Millisecond, 200 * time.Millisecond, time.Second, false, behindFlushInterval},
		{"default: behind after FlushInterval", 200 * time.Millisecond, 0, 300 * time.Millisecond, false, behindFlushInterval},
		{"default: not behind", 200 * time.Millisecond, 0, 50 * time.Millisecond, false, 200 * time.Millisecond},
		{"unknown append time", 10 * time.Millisecond, 0, time.Hour, true, 10 * time.Millisecond},
	} {
		cons := &Consumer{o: ConsumerOptions{FlushInterval: c.flush, BehindAfter: c.behindAfter}}
		if got := cons.batchWait(c.age, c.unknown); got != c.want {
			t.Errorf("%s: wait %v, want %v", c.name, got, c.want)
		}
	}
}
