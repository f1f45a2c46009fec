package kafkalog

import (
	"testing"
	"time"
)

// TestBacklogAfterBehindAfter: a consumer with a short FlushInterval (the
// forwarder's 10 ms) counts a record as backlog only past BehindAfter:
// records are always a few ms old when fetched, and treating each as
// backlog would stretch every batch to BatchSize.
func TestBacklogAfterBehindAfter(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name        string
		flush       time.Duration
		behindAfter time.Duration
		age         time.Duration
		unknown     bool
		want        bool
	}{
		{"forwarder, record fetched 50 ms after its append", 10 * time.Millisecond, 200 * time.Millisecond, 50 * time.Millisecond, false, false},
		{"forwarder behind", 10 * time.Millisecond, 200 * time.Millisecond, time.Second, false, true},
		{"default: behind after FlushInterval", 200 * time.Millisecond, 0, 300 * time.Millisecond, false, true},
		{"default: not behind", 200 * time.Millisecond, 0, 50 * time.Millisecond, false, false},
		{"unknown append time", 10 * time.Millisecond, 0, time.Hour, true, false},
	} {
		cons := &Consumer{o: ConsumerOptions{FlushInterval: c.flush, BehindAfter: c.behindAfter}}
		appended := now.Add(-c.age)
		if c.unknown {
			appended = time.Time{}
		}
		if got := cons.backlog(appended, now); got != c.want {
			t.Errorf("%s: backlog %v, want %v", c.name, got, c.want)
		}
	}
}
