package kafkalog

import (
	"time"

	"github.com/segmentio/kafka-go"
)

// adminClient returns a kafka-go client with a transport of its own, and
// the function that closes its connections. kafka-go's default transport is
// shared by the whole process and pools connections: after a broker
// restart the first request on a pooled connection fails. One-shot
// operations (topic setup, scans, group checks) therefore never reuse
// connections from before.
func adminClient(brokers []string) (*kafka.Client, func()) {
	tr := &kafka.Transport{DialTimeout: 5 * time.Second, IdleTimeout: 30 * time.Second}
	return &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second, Transport: tr}, tr.CloseIdleConnections
}
