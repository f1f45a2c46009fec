package processor

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/segmentio/kafka-go"

	"github.com/hookledger/hookledger/internal/kafkalog"
	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/schema"
)

// rawRecord is one raw-topic record as an ingest writes it. legacy is the
// ingest before the forwarder (record v1): it wrote accepted records to
// the verified topic itself and set no forward header.
func rawRecord(n int, verdict schema.Verdict, legacy bool) kafkalog.Message {
	rec := &schema.Record{
		ID: uuid.Must(uuid.NewV7()), ReceivedAt: time.Now().UTC(), Source: "sw-main", Provider: "signalwire",
		Tenant: "acme", Method: http.MethodPost, URL: "https://hooks.example.com/hooks/sw-main",
		Headers: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, Verdict: verdict,
		Body: fmt.Appendf(nil, "MessageSid=SM%032d&MessageStatus=delivered", n),
	}
	if verdict == schema.VerdictRejected {
		rec.Reason = schema.ReasonBadSignature
	}
	m := encode(rec)
	if legacy {
		m = encodeV1(rec)
	}
	m.Key = rec.ID[:]
	return m
}

// TestForwarderCopiesAcceptedOnce: accepted raw records reach the verified
// topic once each with their key, bytes and headers; rejected ones and
// those a legacy ingest already wrote to the verified topic do not. After
// the forwarder stops and starts again (same group), the records written
// meanwhile are forwarded and nothing is forwarded twice.
func TestForwarderCopiesAcceptedOnce(t *testing.T) {
	brokers := testinfra.KafkaBrokers(t)
	raw, verified, _ := testinfra.Topics(t)
	group := raw + ".forward"
	ctx := context.Background()
	if err := kafkalog.EnsureTopics(ctx, brokers, []kafkalog.TopicSpec{
		{Name: raw, Partitions: 2, ReplicationFactor: 1}, {Name: verified, Partitions: 2, ReplicationFactor: 1},
	}); err != nil {
		t.Fatal(err)
	}
	prod := kafkalog.NewProducer(brokers)
	defer prod.Close()
	fwd := NewForwarder(prod, verified)

	want := map[string]kafkalog.Message{}
	written := 0
	write := func(from int) {
		var msgs []kafkalog.Message
		for i := from; i < from+10; i++ {
			for _, m := range []kafkalog.Message{
				rawRecord(i, schema.VerdictAccepted, false),
				rawRecord(i, schema.VerdictRejected, false),
				rawRecord(i, schema.VerdictAccepted, true),
			} {
				m.Topic = raw
				msgs = append(msgs, m)
			}
			want[string(msgs[len(msgs)-3].Value)] = msgs[len(msgs)-3]
		}
		if err := prod.Publish(ctx, msgs...); err != nil {
			t.Fatal(err)
		}
		written += len(msgs)
	}
	run := func() {
		runCtx, cancel := context.WithCancel(ctx)
		wg := consume(runCtx, t, brokers, raw, group, fwd.Handle)
		// Stop only once every raw offset is committed, so the restart
		// below starts after them (a stop before the commit would forward
		// the last batch again: at-least-once).
		testinfra.Eventually(t, 60*time.Second, "forwarder commits every raw record", func() bool {
			return committed(t, brokers, group, raw) == written
		})
		cancel()
		wg.Wait()
	}

	write(0)
	run()
	write(100)
	run()

	got := map[string]int{}
	_ = kafkalog.Scan(ctx, brokers, verified, func(f kafkalog.Fetched) error {
		got[string(f.Value)]++
		m, ok := want[string(f.Value)]
		switch {
		case !ok:
			t.Errorf("verified topic holds a record that is not to be forwarded: %.80s", f.Value)
		case string(f.Key) != string(m.Key):
			t.Errorf("forwarded record lost its key")
		case f.Headers[schema.HeaderContentType] != m.Headers[schema.HeaderContentType] || !schema.ToForward(f.Headers):
			t.Errorf("forwarded record lost its headers: %v", f.Headers)
		default:
			if _, err := schema.DecodeRecord(f.Value, f.Headers); err != nil {
				t.Errorf("forwarded record does not decode: %v", err)
			}
		}
		return nil
	})
	for v := range want {
		if got[v] != 1 {
			t.Errorf("accepted record forwarded %d times, want 1: %.80s", got[v], v)
		}
	}
}

// committed is the number of raw records the group has committed past.
func committed(t *testing.T, brokers []string, group, topic string) int {
	t.Helper()
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 5 * time.Second}
	res, err := c.OffsetFetch(context.Background(), &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: {0, 1}}})
	if err != nil {
		return 0
	}
	n := 0
	for _, p := range res.Topics[topic] {
		if p.CommittedOffset > 0 {
			n += int(p.CommittedOffset)
		}
	}
	return n
}

// A record the verified topic can never take (accepted under a larger
// max_body_bytes than the producer allows now) is passed over instead of
// failing its batch for ever: the records around it are forwarded, and
// the batch completes so the partition moves on.
func TestForwarderPassesOverRecordsTooLargeToForward(t *testing.T) {
	brokers := testinfra.KafkaBrokers(t)
	_, verified, _ := testinfra.Topics(t)
	ctx := context.Background()
	if err := kafkalog.EnsureTopics(ctx, brokers, []kafkalog.TopicSpec{{Name: verified, Partitions: 1, ReplicationFactor: 1}}); err != nil {
		t.Fatal(err)
	}
	prod := kafkalog.NewProducer(brokers, kafkalog.WithMaxMessageBytes(64<<10))
	defer prod.Close()
	fwd := NewForwarder(prod, verified)

	var batch []kafkalog.Fetched
	for i := range 3 {
		m := rawRecord(i, schema.VerdictAccepted, false)
		if i == 1 {
			m.Value = append(m.Value, make([]byte, 100<<10)...) // over the 64 KiB limit
		}
		batch = append(batch, kafkalog.Fetched{Key: m.Key, Value: m.Value, Headers: m.Headers})
	}
	if err := fwd.Handle(ctx, batch); err != nil {
		t.Fatalf("a batch holding one record too large to forward failed: %v", err)
	}
	got := map[string]bool{}
	scanCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := kafkalog.Scan(scanCtx, brokers, verified, func(f kafkalog.Fetched) error {
		got[string(f.Value)] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !got[string(batch[0].Value)] || !got[string(batch[2].Value)] || len(got) != 2 {
		t.Errorf("verified topic holds %d records; want the two that fit", len(got))
	}
}
