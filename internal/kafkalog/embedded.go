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
	"strconv"

	"github.com/twmb/franz-go/pkg/kfake"
)

const embeddedClusterID = "hookledger-embedded"

// Embedded is an in-process Kafka-protocol broker (franz-go's kfake) that
// persists its log under a directory and reloads it on restart. A topic
// whose logs are on disk but missing from the broker's state files is
// restored at start (see restoreOrphanedTopics).
type Embedded struct {
	cluster *kfake.Cluster
	syncer  *DiskSyncer // nil without SyncWrites
}

// EmbeddedOptions configure StartEmbedded.
type EmbeddedOptions struct {
	// Dir holds the log; it survives restarts.
	Dir string
	// Addr is host:port to listen on; port 0 picks a free one.
	Addr string
	// SyncWrites makes produced records durable (fsync) before a Producer
	// built WithLogSyncer(Syncer()) answers for them. The broker itself
	// writes to the page cache: its own SyncWrites would fsync inside its
	// single request loop, stalling every client behind each batch (see
	// DiskSyncer).
	SyncWrites bool
	// Partitions is the default partition count of auto-created topics.
	Partitions int
	// MaxMessageBytes is the broker's message.max.bytes (topics without
	// their own max.message.bytes); 0 = kfake's default (1 MiB).
	MaxMessageBytes int64
	Logger          *slog.Logger

	// inLoopSync turns on kfake's own SyncWrites (fsync inside the broker's
	// request loop) instead of the DiskSyncer: BenchmarkPublish's baseline.
	inLoopSync bool
}

// StartEmbedded starts the broker.
func StartEmbedded(o EmbeddedOptions) (*Embedded, error) {
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("kafkalog: embedded broker dir: %w", err)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if err := restoreOrphanedTopics(o.Dir, embeddedClusterID, o.Logger); err != nil {
		return nil, err
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
		kfake.ClusterID(embeddedClusterID),
	}
	if o.Partitions > 0 {
		opts = append(opts, kfake.DefaultNumPartitions(o.Partitions))
	}
	if o.MaxMessageBytes > 0 {
		opts = append(opts, kfake.BrokerConfigs(map[string]string{"message.max.bytes": strconv.FormatInt(o.MaxMessageBytes, 10)}))
	}
	if o.inLoopSync {
		opts = append(opts, kfake.SyncWrites())
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafkalog: start embedded broker: %w", err)
	}
	e := &Embedded{cluster: c}
	if o.SyncWrites && !o.inLoopSync {
		e.syncer = NewDiskSyncer(o.Dir)
	}
	return e, nil
}

// Syncer is the durability barrier producers of this broker must use
// (WithLogSyncer), or nil when SyncWrites is off.
func (e *Embedded) Syncer() LogSyncer {
	if e.syncer == nil {
		return nil
	}
	return e.syncer
}

// Addrs returns the broker addresses clients connect to.
func (e *Embedded) Addrs() []string { return e.cluster.ListenAddrs() }

// Close stops the broker, flushing its log to disk.
func (e *Embedded) Close() {
	e.cluster.Close()
	if e.syncer != nil {
		e.syncer.Close()
	}
}
