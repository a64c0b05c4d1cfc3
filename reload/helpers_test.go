package reload

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// settle is the settle interval of most tests: short, but long enough for
// the writers below to stay inside it on a loaded machine.
const settle = 60 * time.Millisecond

// patience bounds every wait for something that should happen.
const patience = 5 * time.Second

// The two data sets: the tiny set is served first, the small set is the
// new version.
var smallSet = sync.OnceValues(func() (*fixtures.Set, error) { return fixtures.ReadFS(fixtures.Small, "small") })

// oldSet returns a copy of the tiny set of its own.
func oldSet() *fixtures.Set { return fixtures.Tiny() }

// newSet returns the small set, shared: callers do not modify it.
func newSet(t *testing.T) *fixtures.Set {
	t.Helper()
	s, err := smallSet()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// names maps each input to its file name in a set's directory, in the
// order of Reloader.inputs.
var names = [numInputs]string{fixtures.CacheFile, fixtures.GeoIPFile, fixtures.RoutesFile, fixtures.ContinentsFile}

func pathsIn(dir string) snapshot.Paths {
	return snapshot.PathsIn(dir)
}

// contents returns a set's files keyed by name.
func contents(s *fixtures.Set) map[string][]byte {
	return map[string][]byte{
		fixtures.CacheFile:      s.Snapshot,
		fixtures.GeoIPFile:      s.GeoIP,
		fixtures.RoutesFile:     s.Routes,
		fixtures.ContinentsFile: s.Continents,
	}
}

// statsOf builds a set's snapshot in memory, to know what serving it
// looks like.
func statsOf(t *testing.T, s *fixtures.Set) snapshot.Stats {
	t.Helper()
	snap, err := s.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return snap.Stats()
}

// sameData reports whether two snapshots' stats say they come from the
// same protobuf.
func sameData(a, b snapshot.Stats) bool {
	return a.Time == b.Time && a.Directories == b.Directories && a.Hosts == b.Hosts
}

// env is a Reloader over real files, running, and its results.
type env struct {
	t       *testing.T
	holder  *snapshot.Holder
	r       *Reloader
	mu      sync.Mutex
	results []Result
}

// newEnv creates a Reloader for paths, modified by mod if not nil, starts
// its Run and waits for the first load, which must succeed. The test's
// cleanup stops Run and checks that no goroutine outlives it.
func newEnv(t *testing.T, paths snapshot.Paths, mod func(*Config)) *env {
	t.Helper()
	e := &env{t: t, holder: new(snapshot.Holder)}
	cfg := Config{
		Paths:    paths,
		Holder:   e.holder,
		Settle:   settle,
		Logger:   zaptest.NewLogger(t, zaptest.Level(zapcore.InfoLevel)),
		OnResult: e.record,
	}
	if mod != nil {
		mod(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.r = r
	before := runtime.NumGoroutine()
	// Cleanups run last first: this one once StartForTest's has stopped Run.
	t.Cleanup(func() {
		waitFor(t, "goroutines of Run to end", func() bool { return runtime.NumGoroutine() <= before })
	})
	StartForTest(t, r)
	return e
}

// noWatch is a Config modifier for tests that build only through
// ReloadNow: file events never settle within the test.
func noWatch(c *Config) { c.Settle = time.Hour }

// newDirEnv writes set into a new directory and returns an env over it.
func newDirEnv(t *testing.T, set *fixtures.Set, mod func(*Config)) (*env, string) {
	t.Helper()
	dir := t.TempDir()
	if err := set.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	return newEnv(t, pathsIn(dir), mod), dir
}

func (e *env) record(res Result) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.results = append(e.results, res)
}

// count returns how many results have been reported.
func (e *env) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.results)
}

// result returns the i-th result.
func (e *env) result(i int) Result {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.results[i]
}

// nextResult waits for result number n (counting from 0) and returns it.
func (e *env) nextResult(n int) Result {
	e.t.Helper()
	waitFor(e.t, "a reload result", func() bool { return e.count() > n })
	return e.result(n)
}

// waitServed waits until the served snapshot comes from the protobuf
// that want describes, and its build has been reported: the reloader
// publishes a snapshot before it releases the old one's memory, logs and
// calls OnResult.
func (e *env) waitServed(want snapshot.Stats) *snapshot.Snapshot {
	e.t.Helper()
	waitFor(e.t, "the new snapshot to be served", func() bool { return sameData(e.holder.Current().Stats(), want) })
	waitFor(e.t, "the new snapshot's build to be reported", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return slices.ContainsFunc(e.results, func(r Result) bool { return r.Outcome == Reloaded && sameData(r.Stats, want) })
	})
	return e.holder.Current()
}

// waitFor polls cond until it holds, failing the test after patience.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", patience, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// writeRsync replaces dir/name the way rsync does: a temporary file in the
// same directory, renamed over the old name.
func writeRsync(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name+".Xa1b2c")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// mustContain fails unless err's text contains every part.
func mustContain(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("error is nil, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}
