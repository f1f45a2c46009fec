// Package cli is hookledger's command line: it parses flags and config,
// builds the app and runs it. It holds no logic of its own.
package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookledger/hookledger/internal/app"
	"github.com/hookledger/hookledger/internal/buildinfo"
	"github.com/hookledger/hookledger/internal/config"
	"github.com/hookledger/hookledger/internal/tracing"
	"github.com/hookledger/hookledger/provider/providers"
)

// Execute runs the command line and returns the process exit code. hup
// delivers SIGHUP (main subscribes before anything else, so a hang-up never
// kills the process by default): the tiers reload their config on it;
// every other command stops as on SIGTERM, the usual meaning of a hang-up.
// A nil hup never delivers.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer, hup <-chan os.Signal) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	root := newRoot(stdout, stderr, hup)
	root.PersistentPreRun = func(cmd *cobra.Command, _ []string) {
		if cmd.Annotations[reloadsOnHUP] == "" {
			go func() {
				select {
				case <-hup:
					cancel()
				case <-ctx.Done():
				}
			}()
		}
	}
	rejectUnknownSubcommands(root)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "hookledger:", err)
		return 1
	}
	return 0
}

// rejectUnknownSubcommands makes every command that only groups others
// (`hookledger messagemedia keys`) fail on an unknown subcommand, with the
// nearest ones suggested, instead of printing its help and exiting 0.
// cobra does that only for the root command.
func rejectUnknownSubcommands(cmd *cobra.Command) {
	for _, sub := range cmd.Commands() {
		rejectUnknownSubcommands(sub)
	}
	if cmd == cmd.Root() || !cmd.HasSubCommands() || cmd.Runnable() {
		return
	}
	cmd.Args = cobra.ArbitraryArgs
	cmd.SuggestionsMinimumDistance = 2
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if suggestions := cmd.SuggestionsFor(args[0]); len(suggestions) > 0 {
			msg += "; did you mean " + strings.Join(suggestions, " or ") + "?"
		}
		return fmt.Errorf("%s (see %s --help)", msg, cmd.CommandPath())
	}
}

// reloadsOnHUP annotates the commands that take SIGHUP as "reload".
const reloadsOnHUP = "reloads-on-hup"

func newRoot(stdout, stderr io.Writer, hup <-chan os.Signal) *cobra.Command {
	version := buildinfo.Read().String()
	root := &cobra.Command{
		Use:           "hookledger",
		Short:         "Verify, log and query SMS and voice provider callbacks",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetOut(stdout)
	root.SetErr(stderr)
	var configPath string
	root.PersistentFlags().StringVar(&configPath, "config", "", "path to the YAML config file")

	tier := func(use, short string, tiers app.Tiers) *cobra.Command {
		return &cobra.Command{
			Use: use, Short: short, Args: cobra.NoArgs,
			Annotations: map[string]string{reloadsOnHUP: "true"},
			RunE: func(cmd *cobra.Command, _ []string) error {
				return runTiers(cmd.Context(), configPath, tiers, stderr, hup)
			},
		}
	}
	root.AddCommand(
		tier("run", "Run ingest, processor and query API in one process (embedded Kafka and ClickHouse unless configured)", app.All),
		tier("ingest", "Run the webhook ingest tier against a Kafka cluster", app.Tiers{Ingest: true}),
		tier("process", "Run the processor tier (Kafka to ClickHouse)", app.Tiers{Process: true}),
		tier("query", "Run the query API tier against a ClickHouse server", app.Tiers{Query: true}),
		&cobra.Command{
			Use: "migrate", Short: "Apply pending ClickHouse migrations and exit", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				cfg, log, err := load(configPath, stderr)
				if err != nil {
					return err
				}
				return app.Migrate(cmd.Context(), cfg, log)
			},
		},
		newReplayCommand(&configPath, stderr),
	)
	root.AddCommand(&cobra.Command{
		Use: "version", Short: "Print the version, VCS revision and Go version of this binary", Args: cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) { fmt.Fprintln(cmd.OutOrStdout(), version) },
	})
	root.AddCommand(newMessageMediaCommand(os.LookupEnv), newVonageCommand(os.LookupEnv))
	root.AddCommand(newConfigCommand(&configPath, stderr))
	root.AddCommand(newHealthCommand(&configPath))
	root.AddCommand(newBenchCommand(&configPath, os.LookupEnv))
	return root
}

func load(path string, stderr io.Writer) (*config.Config, *slog.Logger, error) {
	cfg, log, _, err := loadLeveled(path, stderr)
	return cfg, log, err
}

// loadLeveled loads the config and builds its logger, whose level can be
// changed later through the returned LevelVar.
func loadLeveled(path string, stderr io.Writer) (*config.Config, *slog.Logger, *slog.LevelVar, error) {
	cfg, err := config.Load(path, os.LookupEnv, config.WithProviders(providers.All().Names()))
	if err != nil {
		return nil, nil, nil, err
	}
	level := new(slog.LevelVar)
	level.Set(cfg.Log.SlogLevel())
	log := newLogger(cfg.Log.Format, level, stderr)
	for _, name := range cfg.UnknownEnv(os.Environ()) {
		log.Warn("environment variable overrides no config key; misspelled?", "name", name)
	}
	return cfg, log, level, nil
}

func newLogger(format string, level slog.Leveler, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// runTiers runs until ctx ends (SIGINT/SIGTERM), reloading sources, tokens
// and log.level on SIGHUP or when the config file changes. A SIGHUP that
// arrives while the tiers start is kept and applied once they run.
func runTiers(ctx context.Context, path string, tiers app.Tiers, stderr io.Writer, hup <-chan os.Signal) error {
	cfg, log, level, err := loadLeveled(path, stderr)
	if err != nil {
		return err
	}
	if path == "" {
		log.Warn("no --config given: running on built-in defaults and HOOKLEDGER_* environment variables only; SIGHUP has nothing to reload")
	}
	log.Info("starting hookledger", "config", path, "data_dir", cfg.DataDir)
	stopPprof, err := startPprof(pprofAddr(), log)
	if err != nil {
		return err
	}
	defer stopPprof()
	tp, stopTracing, err := tracing.Setup(ctx, os.LookupEnv, log)
	if err != nil {
		return err
	}
	defer func() {
		// After the tiers stopped: flush the spans still buffered.
		flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := stopTracing(flushCtx); err != nil {
			log.Warn("tracing: flushing spans failed", "err", err)
		}
	}()
	a := app.New(cfg, tiers, log, app.WithLogLevel(level), app.WithTracerProvider(tp))
	if err := a.Start(ctx); err != nil {
		if ctx.Err() != nil {
			// SIGTERM while waiting for a dependency: a clean stop.
			log.Info("stopped during start-up", "reason", err)
			return nil
		}
		return err
	}
	reloadCtx, stopReload := context.WithCancel(ctx)
	defer stopReload()
	go watchReload(reloadCtx, path, hup, a, log)
	return a.Wait(ctx)
}

// watchReload reloads on SIGHUP and when the file's modification time or
// size changes. A config that fails to load or build is logged and the
// running one kept. Without a config file, a SIGHUP is only logged.
func watchReload(ctx context.Context, path string, hup <-chan os.Signal, a *app.App, log *slog.Logger) {
	stamp := func() string {
		fi, err := os.Stat(path)
		if err != nil {
			return ""
		}
		return fmt.Sprint(fi.ModTime().UnixNano(), fi.Size())
	}
	last := stamp()
	var tick <-chan time.Time
	if path != "" {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if path == "" {
				log.Warn("SIGHUP: nothing to reload, hookledger was started without --config")
				continue
			}
			log.Info("SIGHUP: reloading the config", "config", path)
		case <-tick:
			now := stamp()
			if now == last || now == "" {
				continue
			}
			last = now
		}
		err := a.ReloadFrom(func() (*config.Config, error) {
			return config.Load(path, os.LookupEnv, config.WithProviders(providers.All().Names()))
		})
		if err != nil {
			log.Error("config reload failed; keeping the running config", "err", err)
		}
	}
}
