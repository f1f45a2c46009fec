package kafkalog

import (
	"context"
	"fmt"

	"github.com/segmentio/kafka-go"
)

// TopicRecords is how many records topic holds now (log end minus log
// start, summed over partitions): what a Scan started now reads, for
// progress reports.
func TopicRecords(ctx context.Context, brokers []string, topic string) (int64, error) {
	client, closeClient := adminClient(brokers)
	defer closeClient()
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return 0, fmt.Errorf("kafkalog: metadata of %s: %w", topic, err)
	}
	if len(meta.Topics) != 1 || meta.Topics[0].Error != nil {
		return 0, fmt.Errorf("kafkalog: topic %s: not found", topic)
	}
	var reqs []kafka.OffsetRequest
	for _, p := range meta.Topics[0].Partitions {
		reqs = append(reqs, kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID))
	}
	offs, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return 0, fmt.Errorf("kafkalog: offsets of %s: %w", topic, err)
	}
	var n int64
	for _, po := range offs.Topics[topic] {
		if po.Error != nil {
			return 0, fmt.Errorf("kafkalog: offsets of %s/%d: %w", topic, po.Partition, po.Error)
		}
		n += max(po.LastOffset-po.FirstOffset, 0)
	}
	return n, nil
}
