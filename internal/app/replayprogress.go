package app

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/hookledger/hookledger/processor"
)

// Intervals of replay progress reports: a terminal line is rewritten at
// most every ttyEvery, a log line written every logEvery.
const (
	ttyEvery = 500 * time.Millisecond
	logEvery = 10 * time.Second
)

// ReplayReporter returns a processor.ReplayOptions.Progress that reports
// records/s, position and ETA: as a line rewritten in place on tty (a
// terminal; nil: none), and as an Info log line every 10 s and at the end.
func ReplayReporter(log *slog.Logger, tty io.Writer) func(processor.ReplayProgress) {
	var lastTTY, lastLog time.Time
	open := false // the terminal line is not ended yet
	return func(p processor.ReplayProgress) {
		now := time.Now()
		if tty != nil && (p.Done || now.Sub(lastTTY) >= ttyEvery) {
			lastTTY = now
			end := ""
			if p.Done {
				end = "\n"
			}
			fmt.Fprintf(tty, "\r\033[Kreplay: %s%s", progressLine(p), end)
			open = !p.Done
		}
		if p.Done || now.Sub(lastLog) >= logEvery {
			lastLog = now
			if open {
				// The log may write to the same terminal: end the line first.
				fmt.Fprintln(tty)
				open = false
			}
			log.Info("replay progress", "scanned", p.Scanned, "total", p.Total, "selected", p.Selected, "rows", p.Rows,
				"unusable", p.Unusable, "records_per_second", int64(p.Rate()), "partition", p.Partition, "offset", p.Offset,
				"eta", p.ETA().Round(time.Second), "done", p.Done)
		}
	}
}

// progressLine is one progress report for a terminal.
func progressLine(p processor.ReplayProgress) string {
	pct := 100.0
	if p.Total > 0 {
		pct = 100 * float64(p.Scanned) / float64(p.Total)
	}
	line := fmt.Sprintf("%d/%d records (%.0f%%), %.0f records/s, partition %d offset %d, %d selected, %d rows",
		p.Scanned, p.Total, pct, p.Rate(), p.Partition, p.Offset, p.Selected, p.Rows)
	if p.Done {
		return line + fmt.Sprintf(", done in %s", p.Elapsed.Round(time.Millisecond))
	}
	return line + fmt.Sprintf(", ETA %s", p.ETA().Round(time.Second))
}
