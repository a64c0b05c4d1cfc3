package reload

import (
	"runtime/debug"
	"time"

	"go.uber.org/zap"
)

// releaseMemory collects the garbage a build leaves, the previous
// snapshot and a refused one included, and returns the freed pages to
// the operating system; it returns the log field of how long that took.
// Without it the old snapshot lives on until the heap doubles, which at a
// low allocation rate is long after the reload, and the runtime keeps the
// freed pages for a while after that: the resident size then wanders
// between one and two snapshots' worth with every reload.
func (r *Reloader) releaseMemory() []zap.Field {
	start := time.Now()
	debug.FreeOSMemory()
	return []zap.Field{zap.Duration("memory_release", time.Since(start))}
}
