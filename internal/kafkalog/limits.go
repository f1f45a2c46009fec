package kafkalog

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/segmentio/kafka-go"
)

// MessageOverhead is what Kafka counts for one message besides its value,
// at most: key, headers (a dead letter's error header is bounded by
// MaxErrorHeaderBytes), the record's framing and its batch's header.
const MessageOverhead = 16 << 10

// MaxErrorHeaderBytes bounds an error text carried in a message header.
const MaxErrorHeaderBytes = 4 << 10

// batchHeaderBytes is a v2 record batch's header, which a broker counts
// against max.message.bytes.
const batchHeaderBytes = 61

// MessageBytes is the max.message.bytes a topic (and the producer's
// limit) needs for message values of up to maxValue bytes.
func MessageBytes(maxValue int64) int64 { return maxValue + MessageOverhead }

// ErrMessageTooLarge is returned by Publish for a message the topic can
// never accept: retrying it cannot succeed.
var ErrMessageTooLarge = errors.New("kafkalog: message larger than the topic accepts")

// TopicMessageLimits reads the effective max.message.bytes of each topic
// (its own, else the broker's).
func TopicMessageLimits(ctx context.Context, brokers []string, topics []string) (map[string]int64, error) {
	client, closeClient := adminClient(brokers)
	defer closeClient()
	req := &kafka.DescribeConfigsRequest{}
	for _, t := range topics {
		req.Resources = append(req.Resources, kafka.DescribeConfigRequestResource{
			ResourceType: kafka.ResourceTypeTopic, ResourceName: t, ConfigNames: []string{"max.message.bytes"},
		})
	}
	resp, err := client.DescribeConfigs(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("kafkalog: describe topic configs: %w", err)
	}
	out := make(map[string]int64, len(topics))
	for _, r := range resp.Resources {
		if r.Error != nil {
			return nil, fmt.Errorf("kafkalog: config of topic %s: %w", r.ResourceName, r.Error)
		}
		for _, e := range r.ConfigEntries {
			if e.ConfigName != "max.message.bytes" {
				continue
			}
			n, err := strconv.ParseInt(e.ConfigValue, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("kafkalog: topic %s: max.message.bytes %q: %w", r.ResourceName, e.ConfigValue, err)
			}
			out[r.ResourceName] = n
		}
	}
	for _, t := range topics {
		if _, ok := out[t]; !ok {
			return nil, fmt.Errorf("kafkalog: topic %s: no max.message.bytes in its config", t)
		}
	}
	return out, nil
}

// SetTopicLimit sets topic's max.message.bytes to n. hookledger does so
// only on the embedded broker, which it owns; on a cluster the topic
// config is the operator's.
func SetTopicLimit(ctx context.Context, brokers []string, topic string, n int64) error {
	client, closeClient := adminClient(brokers)
	defer closeClient()
	resp, err := client.IncrementalAlterConfigs(ctx, &kafka.IncrementalAlterConfigsRequest{
		Resources: []kafka.IncrementalAlterConfigsRequestResource{{
			ResourceType: kafka.ResourceTypeTopic, ResourceName: topic,
			Configs: []kafka.IncrementalAlterConfigsRequestConfig{{
				Name: "max.message.bytes", Value: strconv.FormatInt(n, 10), ConfigOperation: kafka.ConfigOperationSet,
			}},
		}},
	})
	if err == nil {
		for _, r := range resp.Resources {
			err = errors.Join(err, r.Error)
		}
	}
	if err != nil {
		return fmt.Errorf("kafkalog: set max.message.bytes of %s: %w", topic, err)
	}
	return nil
}
