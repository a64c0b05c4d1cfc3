package reload_test

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	"github.com/mirrorlist-go/mirrorlist-server/reload"
)

// TestSwapUnderMemoryLimit reloads under load with a soft memory limit of
// twice the live heap plus headroom, the kind of limit a server derives
// from the size of its snapshot (it sets debug.SetMemoryLimit itself, so
// that it does not depend on the server's own code for that). Every
// reload must be published, and the clients must keep being answered
// during the reloads at a tenth or more of their rate without the limit
// and without reloads. A limit near the live size fails it: the
// collector then runs back to back.
func TestSwapUnderMemoryLimit(t *testing.T) {
	v := loadVersions(t)
	g := newRig(t, v.old, time.Hour, true) // no watcher: only the forced reloads build, paced
	c := startClients(handlerFor(t, g.holder, nil), newAnswerVersion(t, v), 4)
	c.allow(1, 2)

	rate := func(during func()) float64 {
		n0, t0 := c.served.Load(), time.Now()
		during()
		return float64(c.served.Load()-n0) / time.Since(t0).Seconds()
	}
	steady := rate(func() { time.Sleep(300 * time.Millisecond) }) // no limit, no reload

	runtime.GC()
	limit := 2*readMetric("/gc/heap/live:bytes") + 64<<20
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(int64(limit)))
	const reloads = 4
	during := rate(func() {
		for i := range reloads {
			data := v.new
			if i%2 == 1 {
				data = v.old.Snapshot
			}
			g.replace(fixtures.CacheFile, data)
			if res := g.reloadNow(); res.Outcome != reload.Reloaded {
				t.Fatalf("reload %d under the limit: %v %v", i+1, res.Outcome, res.Err)
			}
		}
	})
	c.finish(t)
	t.Logf("limit %d MiB; %.0f answers/s without it, %.0f under it during %d reloads", limit>>20, steady, during, reloads)
	if during < steady/10 {
		t.Errorf("%.0f answers/s during the reloads under the limit, %.0f before: throughput did not hold", during, steady)
	}
}

func readMetric(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
