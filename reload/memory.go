package reload

import (
	"context"
	"runtime"
	"time"

	"go.uber.org/zap"

	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// A build after the first runs in slices of paceSlice, each followed by
// a pause of pacePause in which the requests have the processor to
// themselves: a build then takes at most a quarter of a processor that
// the requests keep busy, and a request waits at most about a slice for
// it. Unpaced, the loaders run until the scheduler preempts them, up to
// 10 ms each, and four of them and the collector took turns before a
// request got its own. The cost is a build about four times as long,
// under load or not; the first load, which no request is waiting on, is
// not paced. (The measurements behind the choice are in the commit
// message; .ci/bench.sh's "reload under load" rows repeat them.)
const (
	paceSlice = time.Millisecond
	pacePause = 3 * time.Millisecond
)

// paced returns the context of a build over cur: paced unless it is the
// first load (or the tests that make many builds switched pacing off).
func (r *Reloader) paced(ctx context.Context, cur *snapshot.Snapshot) context.Context {
	if cur == nil || r.unpaced {
		return ctx
	}
	return snapshot.WithPause(ctx, newPacer(paceSlice, pacePause).wait)
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
