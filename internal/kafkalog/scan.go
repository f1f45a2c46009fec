package kafkalog

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// Scan reads every record of topic that exists when it is called, partition
// by partition in offset order, without a consumer group (it commits
// nothing and does not disturb the processor's groups).
func Scan(ctx context.Context, brokers []string, topic string, fn func(Fetched) error) error {
	client, closeClient := adminClient(brokers)
	defer closeClient()
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return fmt.Errorf("kafkalog: metadata of %s: %w", topic, err)
	}
	if len(meta.Topics) != 1 || meta.Topics[0].Error != nil {
		return fmt.Errorf("kafkalog: topic %s: not found", topic)
	}
	var reqs []kafka.OffsetRequest
	for _, p := range meta.Topics[0].Partitions {
		reqs = append(reqs, kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID))
	}
	offs, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return fmt.Errorf("kafkalog: offsets of %s: %w", topic, err)
	}
	for _, po := range offs.Topics[topic] {
		if po.Error != nil {
			return fmt.Errorf("kafkalog: offsets of %s/%d: %w", topic, po.Partition, po.Error)
		}
		if po.LastOffset <= po.FirstOffset {
			continue
		}
		if err := scanPartition(ctx, brokers, topic, po, fn); err != nil {
			return err
		}
	}
	return nil
}

func scanPartition(ctx context.Context, brokers []string, topic string, po kafka.PartitionOffsets, fn func(Fetched) error) error {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: brokers, Topic: topic, Partition: po.Partition, MinBytes: 1, MaxBytes: 16 << 20,
		MaxWait: 250 * time.Millisecond,
	})
	defer r.Close()
	if err := r.SetOffset(po.FirstOffset); err != nil {
		return err
	}
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			return fmt.Errorf("kafkalog: scan %s/%d: %w", topic, po.Partition, err)
		}
		if err := fn(toFetched(m)); err != nil {
			return err
		}
		if m.Offset+1 >= po.LastOffset {
			return nil
		}
	}
}
