package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookledger/hookledger/ingest"
	"github.com/hookledger/hookledger/internal/config"
	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/provider/providers"
	"github.com/hookledger/hookledger/query"
)

// newConfigCommand is `hookledger config check`: it validates a file as a
// tier would at start (provider blocks and tokens included) and prints the
// effective configuration with every secret redacted.
func newConfigCommand(configPath *string, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Inspect the configuration"}
	cmd.AddCommand(&cobra.Command{
		Use:   "check",
		Short: "Validate --config and print the effective configuration (defaults and HOOKLEDGER_* overrides applied, secrets redacted)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if *configPath == "" {
				fmt.Fprintln(stderr, "hookledger: no --config given: checking the built-in defaults and HOOKLEDGER_* variables only")
			}
			out, err := checkConfig(*configPath, os.LookupEnv)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	})
	return cmd
}

// checkConfig loads the file at path, builds every source's verifier and
// every token as a start would, and returns the effective configuration
// as YAML with secrets redacted. The error lists every problem found.
func checkConfig(path string, lookupEnv func(string) (string, bool)) ([]byte, error) {
	cfg, err := config.Load(path, lookupEnv, config.WithProviders(providers.All().Names()))
	if err != nil {
		return nil, err
	}
	_, srcErr := ingest.BuildSources(cfg.Sources, providers.All(), provider.Deps{Replays: noReplays{}, Now: time.Now})
	_, tokErr := query.BuildTokens(cfg.Query.Tokens)
	if err := errors.Join(srcErr, tokErr); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return config.Effective(cfg, func(s config.Source) (any, error) {
		settings, ok := providers.Settings(s.Provider)
		if !ok {
			return nil, fmt.Errorf("%s: unknown provider %q", s.SettingsPath, s.Provider)
		}
		return settings, s.DecodeSettings(settings)
	})
}

// noReplays stands in for the jti memory while verifiers are only built,
// never used: checking a config must not open data_dir.
type noReplays struct{}

func (noReplays) FirstUse(context.Context, string, time.Time, time.Time) (bool, error) {
	return true, nil
}
func (noReplays) Forget(context.Context, string) error { return nil }
