package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// defaultHealthURL is the ingest tier's readiness probe as the deploy
// configs listen (0.0.0.0:8080), seen from inside its container.
const defaultHealthURL = "http://127.0.0.1:8080/readyz"

// newHealthCommand is `hookledger health`: a container health check for
// images without a shell or curl. It GETs a probe of a local listener and
// exits 0 on a 2xx answer, 1 otherwise (the answer's body, or the error,
// on stderr).
func newHealthCommand() *cobra.Command {
	var url string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Check a running tier's /readyz (or /healthz) and exit 0 when it answers 2xx, else 1",
		Long: `health GETs a probe URL of a running hookledger listener and exits 0 when it
answers 2xx, 1 otherwise: a container health check that needs no shell.

  hookledger health                                      # ingest: http://127.0.0.1:8080/readyz
  hookledger health --url http://127.0.0.1:8081/readyz   # query
  hookledger health --url http://127.0.0.1:8082/healthz  # processor, alive only`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return checkHealth(cmd.Context(), url, timeout)
		},
	}
	cmd.Flags().StringVar(&url, "url", defaultHealthURL, "probe to GET: a listener's /readyz (ready to serve) or /healthz (alive)")
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
