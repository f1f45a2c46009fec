package testinfra

import (
	"os"
	"sync"
	"testing"

	"github.com/hookledger/hookledger/internal/kafkalog"
)

var kafkaBroker struct {
	once sync.Once
	dir  string
	emb  *kafkalog.Embedded
	err  error
}

// KafkaBrokers returns the addresses of the test binary's shared embedded
// broker (a real Kafka-protocol server on loopback, persisting to a
// temporary folder). Tests isolate themselves with their own topic names:
// see Topics.
func KafkaBrokers(t testing.TB) []string {
	t.Helper()
	kafkaBroker.once.Do(func() {
		dir, err := os.MkdirTemp("", "hookledger-kafka-test-")
		if err != nil {
			kafkaBroker.err = err
			return
		}
		kafkaBroker.dir = dir
		kafkaBroker.emb, kafkaBroker.err = kafkalog.StartEmbedded(kafkalog.EmbeddedOptions{Dir: dir, Partitions: 3})
	})
	if kafkaBroker.err != nil {
		t.Fatalf("testinfra: kafka: %v", kafkaBroker.err)
	}
	return kafkaBroker.emb.Addrs()
}

// Topics returns topic names unique to this test: raw, verified, dead.
func Topics(t testing.TB) (raw, verified, dead string) {
	p := "t" + randomHex(5) + "."
	return p + "raw", p + "verified", p + "dead"
}

func closeKafka() {
	if kafkaBroker.emb != nil {
		kafkaBroker.emb.Close()
		_ = os.RemoveAll(kafkaBroker.dir)
	}
}
