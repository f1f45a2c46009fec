package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookledger/hookledger/internal/config"
	"github.com/hookledger/hookledger/internal/loadgen"
)

// newBenchCommand is `hookledger bench`: internal/loadgen against the
// instance the config describes.
func newBenchCommand(configPath *string, lookup func(string) (string, bool)) *cobra.Command {
	var (
		o      loadgen.Options
		to     loadgen.TargetOptions
		mmKey  string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmark a running hookledger with signed callbacks of every provider, then check each is queryable once",
		Long: `bench reads the same config as the running instance (--config) for its
addresses, sources, secrets and a query token, then drives it: a bare Echo
baseline, a closed loop per provider and scheme, an open loop at --rate,
and a check that every acknowledged callback is queryable exactly once.
The query token can come from HOOKLEDGER_BENCH_QUERY_TOKEN instead.
Exit status 1 when the check fails (and, with --smoke, on any error).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if *configPath == "" {
				return errors.New("bench: --config is required (the running instance's config)")
			}
			cfg, err := config.Load(*configPath, lookup)
			if err != nil {
				return err
			}
			if to.MessageMediaKeyPEM, err = loadgen.ReadKeyFile(mmKey); err != nil {
				return err
			}
			to.QueryToken, _ = lookup("HOOKLEDGER_BENCH_QUERY_TOKEN")
			target, err := loadgen.NewTarget(cfg, to)
			if err != nil {
				return err
			}
			o.Log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			if o.Smoke && !cmd.Flags().Changed("duration") {
				o.Duration = time.Second
			}
			if o.Smoke && !cmd.Flags().Changed("connections") {
				o.Connections = 4
			}
			if o.Smoke && !cmd.Flags().Changed("rate") {
				o.Rate = 100
			}
			out := cmd.OutOrStdout()
			if !asJSON {
				// The phases first: the check can take minutes.
				o.BeforeCheck = func(rep *loadgen.Report) { _ = rep.WritePhases(out) }
			}
			rep, err := loadgen.Run(cmd.Context(), target, o)
			if err != nil {
				return err
			}
			if asJSON {
				if err := rep.WriteJSON(out); err != nil {
					return err
				}
			} else {
				rep.WriteCheck(out)
			}
			switch {
			case !rep.Check.OK:
				return errors.New("bench: correctness check failed")
			case o.Smoke && rep.Errors() > 0:
				return fmt.Errorf("bench: %d requests not answered 200", rep.Errors())
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Connections, "connections", 32, "closed-loop connections")
	f.DurationVar(&o.Duration, "duration", 10*time.Second, "length of each measured phase")
	f.Float64Var(&o.Rate, "rate", 500, "open-loop target, requests per second over all scenarios (0 skips it)")
	f.IntVar(&o.BodyBytes, "body-bytes", 600, "approximate size of each callback body")
	f.StringSliceVar(&o.Scenarios, "scenarios", nil, "scenarios to run (default: every one the config allows)")
	f.IntVar(&o.PID, "pid", 0, "hookledger process for CPU and memory (default: the one listening on the ingest port)")
	f.IntVar(&o.GetLimit, "get-limit", 500, "acknowledged ids fetched one by one after the run (0: all)")
	f.IntVar(&o.ListLimit, "list-limit", 20000, "most acknowledged ids counted in /v1/messages and /v1/calls (0: all; beyond it lists are skipped: each page aggregates every message)")
	f.BoolVar(&o.Smoke, "smoke", false, "quick correctness run (1s phases, 4 connections, every id checked); figures are not measurements")
	f.StringVar(&mmKey, "messagemedia-key", "", "PEM private key of a configured MessageMedia key (without it MessageMedia is skipped)")
	f.StringVar(&to.IngestURL, "ingest-url", "", "ingest base URL (default: http:// + ingest.listen)")
	f.StringVar(&to.QueryURL, "query-url", "", "query API base URL (default: http:// + query.listen)")
	f.StringSliceVar(&to.MetricsURLs, "metrics-url", nil, "/metrics URLs summed for the processor lag (default: the ingest listener's)")
	f.BoolVar(&asJSON, "json", false, "write the report as JSON instead of a table")
	return cmd
}
