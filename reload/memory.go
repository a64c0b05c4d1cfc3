package reload

import (
	"context"
	"runtime"
	"time"

	"go.uber.org/zap"

	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// paced returns the context of a build over cur, and whether the build
// runs its loaders one after the other. The first load, which no request
// waits on, runs them concurrently and flat out (as do the tests that
// make many builds). A build after it runs them one at a time, paced to
// buildDuty unless that is a whole processor: a build then takes at most
// a quarter of the machine, and a request waits at most about a slice
// for it. Unpaced and concurrent, the loaders ran until the scheduler
// preempted them, up to 10 ms each, and four of them and the collector
// took turns before a request got its own. The cost is a build about
// four times as long on one processor, twice on two. (The measurements
// behind the choice are in the commit messages; .ci/bench.sh's "reload
// under load" rows repeat them.)
func (r *Reloader) paced(ctx context.Context, cur *snapshot.Snapshot) (context.Context, bool) {
	if cur == nil || r.unpaced {
		return ctx, false
	}
	if duty := buildDuty(runtime.GOMAXPROCS(0)); duty < 1 {
		ctx = snapshot.WithPause(ctx, newPacer(paceSlice, duty).wait)
	}
	return ctx, true
}

// collect runs a garbage collection after a build, published or not,
// and returns the log field of how long it took. It frees the previous
// snapshot (or the refused one) at once rather than when the heap next
// doubles, which at a low allocation rate is long after the reload; a
// build after that one would otherwise find two snapshots still on the
// heap, and the peak resident size would grow by a snapshot's worth. The
// freed pages go back to the system as the runtime's background
// scavenger returns them: debug.FreeOSMemory, which returns them all at
// once, holds the processor without preemption while it does, and the
// requests wait for it.
func (r *Reloader) collect() zap.Field {
	start := time.Now()
	runtime.GC()
	return zap.Duration("gc", time.Since(start))
}
