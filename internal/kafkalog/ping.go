package kafkalog

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/segmentio/kafka-go"
)

// Ping proves a broker answers: it dials the brokers, then asks the
// cluster for its metadata (brokers only, no topics), on connections of its
// own so a stale pooled connection never fakes an outage. When no broker
// can be dialled the error names each address and why (kafka-go reports
// that case only as "Broker Not Available").
func Ping(ctx context.Context, brokers []string) error {
	var dialErrs []error
	var d net.Dialer
	for _, b := range brokers {
		conn, err := d.DialContext(ctx, "tcp", b)
		if err == nil {
			_ = conn.Close()
			dialErrs = nil
			break
		}
		dialErrs = append(dialErrs, err)
	}
	if len(dialErrs) > 0 {
		return fmt.Errorf("kafkalog: no broker reachable: %w", errors.Join(dialErrs...))
	}
	client, closeClient := adminClient(brokers)
	defer closeClient()
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{}})
	if err != nil {
		return fmt.Errorf("kafkalog: metadata: %w", err)
	}
	if len(meta.Brokers) == 0 {
		return errors.New("kafkalog: metadata lists no brokers")
	}
	return nil
}
