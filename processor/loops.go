package processor

import (
	"context"
	"log/slog"
	"time"

	"github.com/hookledger/hookledger/internal/kafkalog"
)

// Names of the processor's consumer loops, which are also their readiness
// components.
const (
	LoopAudit   = "consumer-audit"
	LoopHistory = "consumer-history"
	LoopForward = "forwarder"
)

// LoopConfig is where the processor's consumers read and how they batch.
type LoopConfig struct {
	Brokers                 []string
	RawTopic, VerifiedTopic string
	// Group is kafka.consumer_group: the loops' groups are Group.audit,
	// Group.forward and Group.history.
	Group string
	// ClientID prefixes each member's client id (the loop's name follows),
	// which WaitJoined looks for in its group.
	ClientID      string
	BatchSize     int
	FlushInterval time.Duration
	// OnLag, if set, is told each loop's lag per partition at every offset
	// check (kafkalog.ConsumerOptions.OnLag).
	OnLag  func(kafkalog.PartitionLag)
	Logger *slog.Logger
}

// Loop is one of the processor's consumers: a consumer group member and
// the handler it feeds.
type Loop struct {
	Name, Group string
	consumer    *kafkalog.Consumer
	handle      kafkalog.Handler
	log         *slog.Logger
}

// Loops returns the processor's three consumer loops, not started: the
// audit loop (raw topic → callbacks), the forwarder (raw → verified topic,
// through fwd) and the history loop (verified topic → message, reply and
// call history). The storing loops have StorePipeline batches in flight;
// the forwarder one, so the verified topic keeps the raw topic's order,
// and gathers a batch for at most ForwardFlushInterval.
func (p *Processor) Loops(c LoopConfig, fwd *Forwarder) []*Loop {
	log := c.Logger
	if log == nil {
		log = p.log
	}
	loop := func(name, topic, group string, handle kafkalog.Handler, pipeline int, flush time.Duration) *Loop {
		return &Loop{Name: name, Group: group, handle: handle, log: log, consumer: kafkalog.NewConsumer(kafkalog.ConsumerOptions{
			Brokers: c.Brokers, Group: group, Topic: topic, ClientID: c.ClientID + "-" + name,
			// Behind only past the configured interval: the forwarder's
			// own is so short that every record would look behind.
			BatchSize: c.BatchSize, FlushInterval: flush, BehindAfter: c.FlushInterval, Pipeline: pipeline,
			OnReset: p.OffsetReset, OnLag: c.OnLag, Logger: log,
		})}
	}
	return []*Loop{
		loop(LoopAudit, c.RawTopic, c.Group+".audit", p.HandleRaw, StorePipeline, c.FlushInterval),
		loop(LoopHistory, c.VerifiedTopic, c.Group+".history", p.HandleVerified, StorePipeline, c.FlushInterval),
		loop(LoopForward, c.RawTopic, c.Group+".forward", fwd.Handle, 1, min(c.FlushInterval, ForwardFlushInterval)),
	}
}

// CheckOffsets compares the group's committed offsets with the log (see
// kafkalog.Consumer.CheckOffsets); call it before anything appends.
func (l *Loop) CheckOffsets(ctx context.Context) error { return l.consumer.CheckOffsets(ctx) }

// Run consumes until ctx ends, stores and commits the batches in flight,
// then leaves the group (a failure to leave is only logged: the group
// drops the member after its session timeout).
func (l *Loop) Run(ctx context.Context) error {
	err := l.consumer.Run(ctx, l.handle)
	if cerr := l.consumer.Close(); cerr != nil {
		l.log.Warn("closing consumer", "consumer", l.Name, "err", cerr)
	}
	return err
}

// WaitJoined blocks until the loop's consumer has partitions assigned in
// its group, or ctx ends.
func (l *Loop) WaitJoined(ctx context.Context) error { return l.consumer.WaitJoined(ctx) }
