package kafkalog

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
)

// TopicSpec describes one topic hookledger needs.
type TopicSpec struct {
	Name              string
	Partitions        int
	ReplicationFactor int
	Retention         time.Duration // 0 = broker default
	// MaxMessageBytes is the topic's max.message.bytes; 0 = broker default.
	MaxMessageBytes int64
}

// EnsureTopics creates the topics that do not exist yet. An existing topic
// is left as it is: changing partitions, retention or message size of a
// live topic is an operator's decision (see CheckTopicLimits).
func EnsureTopics(ctx context.Context, brokers []string, specs []TopicSpec) error {
	client, closeClient := adminClient(brokers)
	defer closeClient()
	req := &kafka.CreateTopicsRequest{}
	for _, s := range specs {
		tc := kafka.TopicConfig{Topic: s.Name, NumPartitions: s.Partitions, ReplicationFactor: s.ReplicationFactor}
		if s.Retention > 0 {
			tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{
				ConfigName: "retention.ms", ConfigValue: strconv.FormatInt(s.Retention.Milliseconds(), 10),
			})
		}
		if s.MaxMessageBytes > 0 {
			tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{
				ConfigName: "max.message.bytes", ConfigValue: strconv.FormatInt(s.MaxMessageBytes, 10),
			})
		}
		req.Topics = append(req.Topics, tc)
	}
	resp, err := client.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("kafkalog: create topics: %w", err)
	}
	for topic, terr := range resp.Errors {
		if terr != nil && !errors.Is(terr, kafka.TopicAlreadyExists) {
			return fmt.Errorf("kafkalog: create topic %s: %w", topic, terr)
		}
	}
	return nil
}
