package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookledger/hookledger/internal/config"
)

// defaultHealthURL is the ingest tier's readiness probe as the deploy
// configs listen (0.0.0.0:8080), seen from inside its container.
const defaultHealthURL = "http://127.0.0.1:8080/readyz"

// newHealthCommand is `hookledger health`: a container health check for
// images without a shell or curl. It GETs a probe of a local listener and
// exits 0 on a 2xx answer, 1 otherwise (the answer's body, or the error,
// on stderr).
func newHealthCommand(configPath *string) *cobra.Command {
	var url, listener string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Check a running tier's /readyz (or /healthz) and exit 0 when it answers 2xx, else 1",
		Long: `health GETs a probe URL of a running hookledger listener and exits 0 when it
answers 2xx, 1 otherwise: a container health check that needs no shell.

  hookledger health                                      # ingest: http://127.0.0.1:8080/readyz
  hookledger health --url http://127.0.0.1:8081/readyz   # query
  hookledger health --url http://127.0.0.1:8082/healthz  # processor, alive only
  hookledger health --config F --listener query          # the /readyz of F's query.listen

With --config and no --url, the probe is the /readyz of the listener the
file configures (--listener ingest, query or processor).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if *configPath != "" && !cmd.Flags().Changed("url") {
				u, err := configuredProbe(*configPath, listener)
				if err != nil {
					return err
				}
				url = u
			}
			return checkHealth(cmd.Context(), url, timeout)
		},
	}
	cmd.Flags().StringVar(&url, "url", defaultHealthURL, "probe to GET: a listener's /readyz (ready to serve) or /healthz (alive)")
	cmd.Flags().StringVar(&listener, "listener", "ingest", "with --config: the listener to probe (ingest, query or processor)")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "give up after this long")
	return cmd
}

func checkHealth(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("health: %s answered %d: %s", url, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

// configuredProbe is the /readyz URL of the named listener of the config
// at path, on loopback when the listener binds every address.
func configuredProbe(path, listener string) (string, error) {
	cfg, err := config.Load(path, os.LookupEnv)
	if err != nil {
		return "", err
	}
	addrs := map[string]string{"ingest": cfg.Ingest.Listen, "query": cfg.Query.Listen, "processor": cfg.Processor.Listen}
	addr, ok := addrs[listener]
	if !ok {
		return "", fmt.Errorf("health: --listener %q: want ingest, query or processor", listener)
	}
	if addr == "" {
		return "", fmt.Errorf("health: %s.listen is not set in %s", listener, path)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("health: %s.listen: %w", listener, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}
