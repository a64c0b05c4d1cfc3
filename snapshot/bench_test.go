package snapshot_test

import (
	"context"
	"os"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// fedoraPaths returns Fedora-scale inputs: those in $MIRRORLIST_FEDORA_DIR
// if set (e.g. written once by `go run ./cmd/mirrorlist-fixtures -scale
// fedora -seed 1 -out DIR`), else freshly generated ones.
func fedoraPaths(b *testing.B) snapshot.Paths {
	dir := os.Getenv("MIRRORLIST_FEDORA_DIR")
	if dir == "" {
		set, err := fixtures.Generate(fixtures.Config{Seed: 1, Scale: "fedora"})
		if err != nil {
			b.Fatal(err)
		}
		dir = b.TempDir()
		if err := set.WriteDir(dir); err != nil {
			b.Fatal(err)
		}
	}
	return snapshot.PathsIn(dir)
}

// BenchmarkLoadFedora measures a full load at Fedora scale and reports the
// heap one loaded Snapshot retains after a GC ("retained-MB") and the
// largest live heap seen while it loaded ("peak-MB", sampled every
// millisecond, so a lower bound).
func BenchmarkLoadFedora(b *testing.B) {
	if testing.Short() {
		b.Skip("fedora scale in -short mode")
	}
	paths := fedoraPaths(b)
	ctx := context.Background()
	var retained, peak uint64
	for b.Loop() {
		runtime.GC()
		base := heapLive()
		stop := samplePeak(&peak)
		s, err := snapshot.Load(ctx, paths)
		stop()
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		retained = heapLive() - base
		peak -= min(peak, base)
		runtime.KeepAlive(s)
	}
	b.ReportMetric(float64(retained)/(1<<20), "retained-MB")
	b.ReportMetric(float64(peak)/(1<<20), "peak-MB")
}

func heapLive() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// samplePeak records the largest heap seen until the returned stop is
// called.
func samplePeak(peak *uint64) (stop func()) {
	*peak = 0
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			*peak = max(*peak, heapLive())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
