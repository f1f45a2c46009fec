package kafkalog

import "testing"

func TestPartitionLag(t *testing.T) {
	for _, c := range []struct {
		name                  string
		committed, start, end int64
		want                  int64
	}{
		{"caught up", 10, 0, 10, 0},
		{"behind", 4, 0, 10, 6},
		{"nothing committed", -1, 0, 7, 7},
		{"nothing committed, log start moved by retention", -1, 5, 7, 2},
		{"committed below the retained log", 2, 5, 9, 4},
		{"committed past the end (damage, reported apart)", 12, 0, 10, 0},
		{"empty log", -1, 0, 0, 0},
	} {
		s := partitionState{committed: c.committed, start: c.start, end: c.end}
		if got := s.lag(); got != c.want {
			t.Errorf("%s: lag = %d, want %d", c.name, got, c.want)
		}
	}
}
