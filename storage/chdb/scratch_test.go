package chdb

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookledger/hookledger/schema"
	"github.com/hookledger/hookledger/storage"
)

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func msgs(round, n int) []any {
	now := time.Now().UTC()
	var out []any
	for i := 0; i < n; i++ {
		out = append(out, &schema.MessageEvent{DedupKey: fmt.Sprintf("signalwire:message:SM%032x|delivered", round*1000000+i), EventID: uuid.New(), Tenant: "acme", Source: "sw", Provider: "signalwire",
			MessageID: fmt.Sprintf("SM%032x", round*1000000+i), Status: "sent", StatusRank: 2, ProviderStatus: "sent", OccurredAt: now, ReceivedAt: now, To: "+15550001111", From: "+15550002222"})
	}
	return out
}

func TestScratchCompare(t *testing.T) {
	dir, _ := os.MkdirTemp("", "scr")
	defer os.RemoveAll(dir)
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	round := 0
	for _, setup := range []string{"mv", "nodedup", "nomv"} {
		db := "scr_" + setup
		s := storage.NewStore(c, db)
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		switch setup {
		case "nomv":
			c.Exec(ctx, "DROP TABLE "+db+".messages_current_mv")
		case "nodedup":
			c.Exec(ctx, "ALTER TABLE "+db+".message_events MODIFY SETTING non_replicated_deduplication_window = 0")
		}
		for _, size := range []int{1000, 5000, 20000} {
			total := 40000
			var rowsets [][]any
			for k := 0; k < total/size; k++ {
				round++
				rowsets = append(rowsets, msgs(round, size))
			}
			cpu0 := cpuNow()
			start := time.Now()
			for _, rows := range rowsets {
				if err := c.Insert(ctx, db+".message_events", rows); err != nil {
					t.Fatal(err)
				}
			}
			el := time.Since(start)
			cpu := cpuNow() - cpu0
			time.Sleep(2 * time.Second)
			after := cpuNow() - cpu0 - cpu
			t.Logf("%s size %d: %.0f rows/s, %.1f µs CPU/row (+%.1f in the 2 s after)", setup, size, float64(total)/el.Seconds(), float64(cpu.Microseconds())/float64(total), float64(after.Microseconds())/float64(total))
		}
	}
}
