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
			out, warnings, err := checkConfig(*configPath, os.LookupEnv, os.Environ())
			if err != nil {
				return err
			}
			for _, w := range warnings {
				fmt.Fprintln(stderr, "hookledger: warning:", w)
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	})
	return cmd
}

// checkConfig loads the file at path, builds every source's verifier and
// every token as a start would, and returns the effective configuration
// as YAML with secrets redacted. The error lists every problem found;
// warnings are what a start would warn about (overrides of no key, no
// sources, no tokens).
func checkConfig(path string, lookupEnv func(string) (string, bool), environ []string) (out []byte, warnings []string, err error) {
	cfg, err := config.Load(path, lookupEnv, config.WithProviders(providers.All().Names()))
	if err != nil {
		return nil, nil, err
	}
	for _, name := range cfg.UnknownEnv(environ) {
		warnings = append(warnings, name+" overrides no config key; misspelled?")
	}
	if len(cfg.Sources) == 0 {
		warnings = append(warnings, "sources is empty: ingest would answer every callback 404 (unknown source)")
	}
	if len(cfg.Query.Tokens) == 0 {
		warnings = append(warnings, "query.tokens is empty: the query API would answer every request 401")
	}
	_, srcErr := ingest.BuildSources(cfg.Sources, providers.All(), provider.Deps{Replays: noReplays{}, Now: time.Now})
	_, tokErr := query.BuildTokens(cfg.Query.Tokens)
	if err := errors.Join(srcErr, tokErr); err != nil {
		return nil, nil, fmt.Errorf("config: %w", err)
	}
	out, err = config.Effective(cfg, func(s config.Source) (any, error) {
		settings, ok := providers.Settings(s.Provider)
		if !ok {
			return nil, fmt.Errorf("%s: unknown provider %q", s.SettingsPath, s.Provider)
		}
		return settings, s.DecodeSettings(settings)
	})
	return out, warnings, err
}

// noReplays stands in for the jti memory while verifiers are only built,
// never used: checking a config must not open data_dir.
type noReplays struct{}

func (noReplays) FirstUse(context.Context, string, time.Time, time.Time) (bool, error) {
	return true, nil
}
func (noReplays) Forget(context.Context, string) error { return nil }
