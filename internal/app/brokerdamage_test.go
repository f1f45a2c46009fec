package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookledger/hookledger/internal/config"
	"github.com/hookledger/hookledger/internal/kafkalog"
	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/internal/testinfra/chdbtest"
	"github.com/hookledger/hookledger/provider/signalwire"
	"github.com/hookledger/hookledger/storage"
)

// startEmbedded runs all three tiers on the embedded broker under
// cfg.DataDir (as `hookledger run` does) and the test's store.
func startEmbedded(t *testing.T, cfg *config.Config, store *storage.Store) *App {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	a := New(cfg, All, log, WithStore(store))
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testinfra.Eventually(t, 60*time.Second, "app ready", func() bool { return len(a.Ready()) == 0 })
	return a
}

// sendSignalWire sends one genuine status callback per sid and requires
// each to be acknowledged.
func sendSignalWire(t *testing.T, a *App, sids []string) {
	t.Helper()
	hookURL := "http://" + a.Addr("ingest") + "/hooks/sw-main"
	for _, sid := range sids {
		body := swStatusForm(sid, "delivered")
		req := formRequest(http.MethodPost, hookURL, body)
		req.Header.Set(signalwire.HeaderSignature, signalwire.SignSchemeA(swKey, hookURL, []byte(body)))
		if status, b := do(t, req); status != http.StatusOK {
			t.Fatalf("callback %s: %d %s", sid, status, b)
		}
	}
}

// storedMessages counts the distinct message ids among sids that
// ClickHouse has in the history and in the audit table.
func storedMessages(t *testing.T, store *storage.Store, prefix string) (history, audit int) {
	t.Helper()
	ctx := context.Background()
	count := func(sql string) int {
		n := -1
		err := store.Conn().Select(ctx, sql, func(row []byte) error {
			var r struct{ N int }
			if err := json.Unmarshal(row, &r); err != nil {
				return err
			}
			n = r.N
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	history = count(fmt.Sprintf("SELECT uniqExact(message_id) AS n FROM %s.message_events WHERE startsWith(message_id, '%s')", store.Database(), prefix))
	audit = count(fmt.Sprintf("SELECT count() AS n FROM %s.callbacks FINAL WHERE position(base64Decode(body_base64), '%s') > 0", store.Database(), prefix))
	return history, audit
}

func counterValue(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue metrics
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

// TestAcknowledgedCallbacksSurviveBrokerDataDamage reproduces issue 6 #2
// on the embedded broker's real data directory: after a first run stored
// 40 callbacks, the broker's files are damaged while hookledger is down,
// then 60 more callbacks are acknowledged. Every one of them must reach
// ClickHouse (none skipped below a committed offset the damaged log no
// longer reaches), and the reset must be counted.
func TestAcknowledgedCallbacksSurviveBrokerDataDamage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, kafkaDir, verifiedTopic string)
		reset  bool // each verified partition re-read (hookledger_processor_offset_resets_total)
	}{
		{"verified segment file cut in half", func(t *testing.T, kafkaDir, topic string) {
			segs, _ := filepath.Glob(filepath.Join(kafkaDir, "partitions", topic+"-*", "*.dat"))
			if len(segs) == 0 {
				t.Fatal("no segment files")
			}
			for _, seg := range segs {
				info, err := os.Stat(seg)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.Truncate(seg, info.Size()/2); err != nil {
					t.Fatal(err)
				}
			}
		}, true},
		{"topics.json deleted", func(t *testing.T, kafkaDir, _ string) {
			if err := os.Remove(filepath.Join(kafkaDir, "topics.json")); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"verified topic lost with its logs", func(t *testing.T, kafkaDir, topic string) {
			segs, _ := filepath.Glob(filepath.Join(kafkaDir, "partitions", topic+"-*"))
			err := os.Remove(filepath.Join(kafkaDir, "topics.json"))
			for _, s := range segs {
				err = errors.Join(err, os.RemoveAll(s))
			}
			if err != nil {
				t.Fatal(err)
			}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, nil)
			store := chdbtest.Store(t)
			var before, after []string
			for i := range 40 {
				before = append(before, fmt.Sprintf("SMbefore%04d", i))
			}
			for i := range 60 {
				after = append(after, fmt.Sprintf("SMafter%04d", i))
			}

			a := startEmbedded(t, cfg, store)
			sendSignalWire(t, a, before)
			testinfra.Eventually(t, 60*time.Second, "first run stored", func() bool {
				h, au := storedMessages(t, store, "SMbefore")
				return h == len(before) && au == len(before)
			})
			a.Stop()

			tc.damage(t, filepath.Join(cfg.DataDir, "kafka"), cfg.Kafka.VerifiedTopic)

			a = startEmbedded(t, cfg, store)
			defer a.Stop()
			sendSignalWire(t, a, after)
			deadline := time.Now().Add(60 * time.Second)
			var h, au int
			for time.Now().Before(deadline) {
				if h, au = storedMessages(t, store, "SMafter"); h == len(after) && au == len(after) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if h != len(after) || au != len(after) {
				t.Fatalf("of %d acknowledged callbacks, %d reached the history and %d the audit table", len(after), h, au)
			}
			if h, _ := storedMessages(t, store, "SMbefore"); h != len(before) {
				t.Errorf("history of the first run: %d of %d messages", h, len(before))
			}
			got := counterValue(t, a.metrics, "hookledger_processor_offset_resets_total",
				map[string]string{"topic": cfg.Kafka.VerifiedTopic, "cause": kafkalog.CauseCommittedBeyondEnd})
			want := 0.0
			if tc.reset {
				want = float64(cfg.Kafka.PartitionCount())
			}
			if got != want {
				t.Errorf("offset resets counted: %v, want %v", got, want)
			}
		})
	}
}
