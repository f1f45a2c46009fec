// Command hookledger receives signed SMS and voice provider callbacks,
// verifies them, logs every request to Kafka and keeps a queryable history
// in ClickHouse. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/hookledger/hookledger/internal/cli"
)

func main() {
	// Signals first: from here on SIGHUP never kills the process (the
	// tiers reload on it), SIGINT and SIGTERM stop it gracefully.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(cli.Execute(ctx, os.Args[1:], os.Stdout, os.Stderr, hup))
}
