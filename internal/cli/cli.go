// Package cli is hookledger's command line: it parses flags and config,
// builds the app and runs it. It holds no logic of its own.
package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookledger/hookledger/internal/app"
	"github.com/hookledger/hookledger/internal/buildinfo"
	"github.com/hookledger/hookledger/internal/config"
)

// Execute runs the command line and returns the process exit code.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "hookledger:", err)
		return 1
	}
	return 0
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
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
			RunE: func(cmd *cobra.Command, _ []string) error {
				return runTiers(cmd.Context(), configPath, tiers, stderr)
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
		&cobra.Command{
			Use:   "replay",
			Short: "Rebuild the normalised tables from the raw topic and exit",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				cfg, log, err := load(configPath, stderr)
				if err != nil {
					return err
				}
				return app.Replay(cmd.Context(), cfg, log)
			},
		},
	)
	root.AddCommand(&cobra.Command{
		Use: "version", Short: "Print the version, VCS revision and Go version of this binary", Args: cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) { fmt.Fprintln(cmd.OutOrStdout(), version) },
	})
	root.AddCommand(newMessageMediaCommand(os.LookupEnv), newVonageCommand(os.LookupEnv))
	return root
}

func load(path string, stderr io.Writer) (*config.Config, *slog.Logger, error) {
	cfg, err := config.Load(path, os.LookupEnv)
	if err != nil {
		return nil, nil, err
	}
	log := newLogger(cfg.Log, stderr)
	for _, name := range cfg.UnknownEnv(os.Environ()) {
		log.Warn("environment variable overrides no config key; misspelled?", "name", name)
	}
	return cfg, log, nil
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// runTiers runs until ctx ends (SIGINT/SIGTERM), reloading sources and
// tokens on SIGHUP or when the config file changes.
func runTiers(ctx context.Context, path string, tiers app.Tiers, stderr io.Writer) error {
	cfg, log, err := load(path, stderr)
	if err != nil {
		return err
	}
	log.Info("starting hookledger", "config", path, "data_dir", cfg.DataDir)
	a := app.New(cfg, tiers, log)
	if err := a.Start(ctx); err != nil {
		return err
	}
	reloadCtx, stopReload := context.WithCancel(ctx)
	defer stopReload()
	go watchReload(reloadCtx, path, a, log)
	return a.Wait(ctx)
}

// watchReload reloads on SIGHUP and when the file's modification time or
// size changes. A config that fails to load or build is logged and the
// running one kept.
func watchReload(ctx context.Context, path string, a *app.App, log *slog.Logger) {
	if path == "" {
		return
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	stamp := func() string {
		fi, err := os.Stat(path)
		if err != nil {
			return ""
		}
		return fmt.Sprint(fi.ModTime().UnixNano(), fi.Size())
	}
	last := stamp()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		case <-tick.C:
			now := stamp()
			if now == last || now == "" {
				continue
			}
			last = now
		}
		cfg, err := config.Load(path, os.LookupEnv)
		if err == nil {
			err = a.Reload(cfg)
		}
		if err != nil {
			log.Error("config reload failed; keeping the running config", "err", err)
		}
	}
}
