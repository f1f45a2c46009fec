package cli

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookledger/hookledger/internal/app"
	"github.com/hookledger/hookledger/internal/config"
	"github.com/hookledger/hookledger/processor"
)

// newReplayCommand is `hookledger replay`: re-normalise the raw topic into
// the history tables, optionally only part of it, or only counting.
func newReplayCommand(configPath *string, stderr io.Writer) *cobra.Command {
	var since string
	var sources []string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "Rebuild the normalised tables from the raw topic and exit",
		Long: `replay reads the whole raw topic and normalises every accepted record again
into the history tables (idempotent: dedup keys are deterministic), then
rebuilds the current state. Progress (records/s, position, ETA) is shown on
a terminal and logged every 10 s.

  hookledger replay --config F
  hookledger replay --config F --since 24h --source sw-main --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, err := parseSince(since, time.Now())
			if err != nil {
				return err
			}
			cfg, log, err := load(*configPath, stderr)
			if err != nil {
				return err
			}
			for _, src := range sources {
				if !slices.ContainsFunc(cfg.Sources, func(s config.Source) bool { return s.ID == src }) {
					log.Warn("replay: --source names no configured source; its records are replayed if the raw topic has any", "source", src)
				}
			}
			return app.Replay(cmd.Context(), cfg, log, processor.ReplayOptions{
				Since: from, Sources: sources, DryRun: dryRun, Progress: app.ReplayReporter(log, terminal(stderr)),
			})
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "only records received at or after this: an RFC 3339 time (2026-11-01T00:00:00Z) or a duration ago (24h)")
	cmd.Flags().StringSliceVar(&sources, "source", nil, "only records of this source id (repeat or comma-separate for several)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "normalise and count what would be written, write nothing")
	return cmd
}

// parseSince reads --since: empty (everything), an RFC 3339 time, or a
// duration before now.
func parseSince(v string, now time.Time) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want an RFC 3339 time (2026-11-01T00:00:00Z) or a positive duration (24h)", v)
}

// terminal is w when it is a terminal (progress is drawn in place), else
// nil.
func terminal(w io.Writer) io.Writer {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return w
}
