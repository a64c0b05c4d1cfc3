package snapshot_test

import (
	"context"
	"net/netip"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
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
// millisecond, so a lower bound), and how long a collection takes with
// the snapshot alive on this processor ("gc-ms", the median of five):
// what the snapshot adds to every collection's marking.
func BenchmarkLoadFedora(b *testing.B) {
	if testing.Short() {
		b.Skip("fedora scale in -short mode")
	}
	paths := fedoraPaths(b)
	ctx := context.Background()
	var retained, peak uint64
	var gc time.Duration
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
		gc = gcTime()
		runtime.KeepAlive(s)
	}
	b.ReportMetric(float64(retained)/(1<<20), "retained-MB")
	b.ReportMetric(float64(peak)/(1<<20), "peak-MB")
	b.ReportMetric(float64(gc)/float64(time.Millisecond), "gc-ms")
}

// gcTime returns the median duration of five forced collections.
func gcTime() time.Duration {
	var ds [5]time.Duration
	for i := range ds {
		start := time.Now()
		runtime.GC()
		ds[i] = time.Since(start)
	}
	slices.Sort(ds[:])
	return ds[len(ds)/2]
}

// BenchmarkRoutesLookup measures a longest-prefix match in the Fedora-scale
// routes table, for addresses spread over the routed space.
func BenchmarkRoutesLookup(b *testing.B) {
	if testing.Short() {
		b.Skip("fedora scale in -short mode")
	}
	r, err := snapshot.LoadRoutes(context.Background(), fedoraPaths(b).Routes)
	if err != nil {
		b.Fatal(err)
	}
	addrs := make([]netip.Addr, 4096)
	for i := range addrs {
		x := uint32(i) * 2654435761 // spread evenly over the space
		addrs[i] = netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
	}
	found := 0
	i := 0
	for b.Loop() {
		if _, ok := r.Lookup(addrs[i%len(addrs)]); ok {
			found++
		}
		i++
	}
	b.ReportMetric(float64(found)/float64(i), "found/op")
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
