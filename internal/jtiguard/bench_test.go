package jtiguard

import (
	"context"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkFirstUseParallel is the Vonage JWT hot path's jti memory under
// 32 concurrent callbacks, with fsync (kafka.sync_writes). "per-call" is
// the former behaviour, one write and fsync per callback under the lock:
// callers are serialised, so every commit holds one record. "group" lets
// concurrent callers share commits. Compare fsyncs/op and callbacks/s of
// the two in one run:
//
//	go test -run '^$' -bench FirstUseParallel -benchtime 3000x ./internal/jtiguard
func BenchmarkFirstUseParallel(b *testing.B) {
	for _, mode := range []struct {
		name   string
		serial bool
	}{{"per-call", true}, {"group", false}} {
		b.Run(mode.name, func(b *testing.B) {
			g, err := Open(filepath.Join(b.TempDir(), "replay-guard.log"), Options{Sync: true})
			if err != nil {
				b.Fatal(err)
			}
			defer g.Close()
			var serial sync.Mutex
			var n atomic.Int64
			ctx, issued := context.Background(), time.Now()
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					key := "vonage:src:" + strconv.FormatInt(n.Add(1), 10)
					if mode.serial {
						serial.Lock()
					}
					ok, err := g.FirstUse(ctx, key, issued, issued.Add(time.Hour))
					if mode.serial {
						serial.Unlock()
					}
					if !ok || err != nil {
						b.Errorf("first use of %s: %v, %v", key, ok, err)
					}
				}
			})
			b.StopTimer()
			g.mu.Lock()
			commits := g.commits
			g.mu.Unlock()
			b.ReportMetric(float64(commits)/float64(b.N), "fsyncs/op")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "callbacks/s")
		})
	}
}
