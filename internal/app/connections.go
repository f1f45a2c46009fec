package app

import (
	"time"

	"github.com/hookledger/hookledger/internal/config"
	"github.com/hookledger/hookledger/internal/connlimit"
)

// limitListener wraps the named listener in its connection bounds, with
// automatic values resolved, and returns its keep-alive idle timeout.
func (a *App) limitListener(name string) (*connlimit.Listener, time.Duration) {
	c := config.Defaults().Query.Connections // the processor's own listener
	switch name {
	case "ingest":
		c = a.cfg.Ingest.Connections
	case "query":
		c = a.cfg.Query.Connections
	}
	files := connlimit.FileLimit()
	limits := connlimit.Limits{Max: c.MaxConnections, MaxPerAddr: c.MaxConnectionsPerAddress}
	if limits.Max == 0 {
		limits.Max = connlimit.AutoMax(files, len(a.listeners))
	}
	// Behind a trusted proxy every connection comes from the proxy, so an
	// automatic per-address limit would bound the proxy as a whole.
	if limits.MaxPerAddr == 0 && !(name == "ingest" && a.cfg.Ingest.TrustForwardedHeaders) {
		limits.MaxPerAddr = connlimit.AutoPerAddr(limits.Max)
	}
	if a.connMetrics == nil {
		a.connMetrics = connlimit.NewMetrics(a.metrics)
	}
	a.log.Info("connection limits", "tier", name, "max_connections", limits.Max,
		"max_connections_per_address", limits.MaxPerAddr, "idle_timeout", c.IdleTimeout, "open_files_limit", files)
	return connlimit.Wrap(a.listeners[name], name, limits, a.connMetrics), c.IdleTimeout
}
