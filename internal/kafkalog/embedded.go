// Package kafkalog is hookledger's Kafka I/O: the embedded broker used when
// no brokers are configured, topic setup, the acks=all producer ingest
// answers from, and the batching consumer the processor reads with. All
// client traffic goes through segmentio/kafka-go.
package kafkalog

import (
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Embedded is an in-process Kafka-protocol broker (franz-go's kfake) that
// persists its log under a directory and reloads it on restart.
type Embedded struct {
	cluster *kfake.Cluster
}

// EmbeddedOptions configure StartEmbedded.
type EmbeddedOptions struct {
	// Dir holds the log; it survives restarts.
	Dir string
	// Addr is host:port to listen on; port 0 picks a free one.
	Addr string
	// SyncWrites fsyncs every produced batch before acknowledging it.
	SyncWrites bool
	// Partitions is the default partition count of auto-created topics.
	Partitions int
	Logger     *slog.Logger
}

// StartEmbedded starts the broker.
func StartEmbedded(o EmbeddedOptions) (*Embedded, error) {
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("kafkalog: embedded broker dir: %w", err)
	}
	host, port := "127.0.0.1", 0
	if o.Addr != "" {
		h, p, err := net.SplitHostPort(o.Addr)
		if err != nil {
			return nil, fmt.Errorf("kafkalog: embedded broker address: %w", err)
		}
		host = h
		if _, err := fmt.Sscan(p, &port); err != nil {
			return nil, fmt.Errorf("kafkalog: embedded broker port: %w", err)
		}
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.DataDir(o.Dir),
		kfake.Ports(port),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, net.JoinHostPort(host, fmt.Sprint(port)))
		}),
		kfake.ClusterID("hookledger-embedded"),
	}
	if o.Partitions > 0 {
		opts = append(opts, kfake.DefaultNumPartitions(o.Partitions))
	}
	if o.SyncWrites {
		opts = append(opts, kfake.SyncWrites())
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafkalog: start embedded broker: %w", err)
	}
	return &Embedded{cluster: c}, nil
}

// Addrs returns the broker addresses clients connect to.
func (e *Embedded) Addrs() []string { return e.cluster.ListenAddrs() }

// Close stops the broker, flushing its log to disk.
func (e *Embedded) Close() { e.cluster.Close() }
