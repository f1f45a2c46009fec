package kafkalog

import (
	"context"
	"errors"
	"fmt"

	"github.com/segmentio/kafka-go"
)

// Why a partition is re-read from its log start (the cause label of
// OffsetReset).
const (
	// CauseCommittedBeyondEnd: the group's committed offset is past the
	// log end, so the broker lost records the group had consumed (a cut
	// segment file, a topic recreated empty). Without a reset the group
	// would skip every record appended below that offset.
	CauseCommittedBeyondEnd = "committed_beyond_end"
	// CauseLogMovedBackwards: the log end or start moved down while this
	// consumer watched it (records lost, topic deleted and recreated); the
	// offsets this consumer holds no longer name the same records.
	CauseLogMovedBackwards = "log_moved_backwards"
)

// OffsetReset is one partition whose group offset a Consumer moves back to
// the log start because the log no longer matches what the group consumed.
// Offsets in a damaged log do not identify records any more, so no record
// still in it is known to be stored: all of them are read again, and the
// store's deduplication absorbs those that were.
type OffsetReset struct {
	Topic     string
	Partition int
	Cause     string // CauseCommittedBeyondEnd or CauseLogMovedBackwards
	Committed int64  // the group's committed offset (-1: none)
	LogStart  int64
	LogEnd    int64
	// Previous bounds seen by this consumer (-1: none), for
	// CauseLogMovedBackwards.
	PrevStart, PrevEnd int64
}

// To is the offset the group is moved to.
func (r OffsetReset) To() int64 { return r.LogStart }

// partitionState is what one check learned about a partition.
type partitionState struct {
	committed, start, end int64
}

// logBounds remembers, per partition, the highest log start and end a
// consumer has seen: a later check that finds either lower has found a log
// that moved backwards.
type logBounds map[int]partitionState

// readPartitions reads the group's committed offsets, then the log bounds,
// of every partition of topic. Committed offsets are read first: they only
// ever trail the log end of a healthy log, so a committed offset past an
// end read after it means damage, never a race with a commit.
func readPartitions(ctx context.Context, brokers []string, group, topic string) (map[int]partitionState, error) {
	client, closeClient := adminClient(brokers)
	defer closeClient()
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("kafkalog: metadata of %s: %w", topic, err)
	}
	if len(meta.Topics) != 1 || meta.Topics[0].Error != nil {
		return nil, fmt.Errorf("kafkalog: topic %s: not found", topic)
	}
	var ids []int
	var reqs []kafka.OffsetRequest
	for _, p := range meta.Topics[0].Partitions {
		ids = append(ids, p.ID)
		reqs = append(reqs, kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID))
	}
	committed, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ids}})
	if err == nil {
		err = committed.Error
	}
	if errors.Is(err, kafka.GroupIdNotFound) {
		// A group that never committed (kfake answers so, Kafka with -1s).
		committed, err = &kafka.OffsetFetchResponse{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kafkalog: committed offsets of %s in %s: %w", topic, group, err)
	}
	offs, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("kafkalog: offsets of %s: %w", topic, err)
	}
	out := make(map[int]partitionState, len(ids))
	for _, po := range offs.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("kafkalog: offsets of %s/%d: %w", topic, po.Partition, po.Error)
		}
		out[po.Partition] = partitionState{committed: -1, start: po.FirstOffset, end: po.LastOffset}
	}
	for _, pc := range committed.Topics[topic] {
		if pc.Error != nil {
			return nil, fmt.Errorf("kafkalog: committed offset of %s/%d in %s: %w", topic, pc.Partition, group, pc.Error)
		}
		if s, ok := out[pc.Partition]; ok {
			s.committed = pc.CommittedOffset
			out[pc.Partition] = s
		}
	}
	return out, nil
}

// damaged compares one check's partitions with the bounds seen before,
// returns the partitions to re-read and records the new bounds. After a
// reset the partition's bounds start afresh from the damaged log's.
func (b logBounds) damaged(topic string, now map[int]partitionState) []OffsetReset {
	var resets []OffsetReset
	for p, s := range now {
		prev, seen := b[p]
		r := OffsetReset{Topic: topic, Partition: p, Committed: s.committed, LogStart: s.start, LogEnd: s.end, PrevStart: -1, PrevEnd: -1}
		switch {
		case seen && (s.end < prev.end || s.start < prev.start):
			r.Cause, r.PrevStart, r.PrevEnd = CauseLogMovedBackwards, prev.start, prev.end
		case s.committed > s.end:
			r.Cause = CauseCommittedBeyondEnd
		}
		if r.Cause != "" {
			resets = append(resets, r)
			b[p] = s
			continue
		}
		b[p] = partitionState{start: max(prev.start, s.start), end: max(prev.end, s.end)}
	}
	return resets
}
