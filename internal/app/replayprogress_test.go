package app

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hookledger/hookledger/processor"
)

// The terminal line shows records/s, position and ETA and ends with a
// newline when done; the log gets the first report and the last.
func TestReplayReporter(t *testing.T) {
	var tty, logs bytes.Buffer
	report := ReplayReporter(slog.New(slog.NewTextHandler(&logs, nil)), &tty)
	report(processor.ReplayProgress{Total: 1000, Scanned: 250, Selected: 200, Rows: 200, Partition: 1, Offset: 99, Elapsed: time.Second})
	if line := tty.String(); !strings.Contains(line, "250/1000 records (25%), 250 records/s, partition 1 offset 99") || !strings.Contains(line, "ETA 3s") {
		t.Errorf("terminal line %q", line)
	}
	report(processor.ReplayProgress{Total: 1000, Scanned: 1000, Selected: 800, Rows: 800, Elapsed: 4 * time.Second, Done: true})
	if !strings.HasSuffix(tty.String(), "done in 4s\n") {
		t.Errorf("final terminal line %q", tty.String())
	}
	if n := strings.Count(logs.String(), "replay progress"); n != 2 || !strings.Contains(logs.String(), "records_per_second=250") {
		t.Errorf("%d progress log lines:\n%s", n, logs.String())
	}
}
