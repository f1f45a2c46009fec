package cli

import (
	"strings"
	"testing"
	"time"
)

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{"", time.Time{}, false},
		{"2026-11-01T00:00:00Z", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), false},
		{"24h", now.Add(-24 * time.Hour), false},
		{"90m", now.Add(-90 * time.Minute), false},
		{"-1h", time.Time{}, true},
		{"yesterday", time.Time{}, true},
		{"2026-11-01", time.Time{}, true},
	} {
		got, err := parseSince(tc.in, now)
		if (err != nil) != tc.wantErr || !got.Equal(tc.want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

// A bad --since fails before anything is opened.
func TestReplayRejectsBadSince(t *testing.T) {
	code, _, stderr := runCLI(t, "replay", "--since", "last tuesday")
	if code == 0 || !strings.Contains(stderr, `--since "last tuesday"`) {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
