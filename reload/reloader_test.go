package reload

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// slowLoader wraps snapshot.LoadMirrors so that builds wait at a gate,
// and counts how many run and how many at once.
type slowLoader struct {
	gate     chan struct{} // closed to let the builds finish
	started  chan struct{} // receives once per call, if there is room
	calls    atomic.Int32
	inFlight atomic.Int32
	most     atomic.Int32
}

func newSlowLoader() *slowLoader {
	return &slowLoader{gate: make(chan struct{}), started: make(chan struct{}, 16)}
}

func (s *slowLoader) load(ctx context.Context, path string) (*snapshot.Mirrors, error) {
	s.calls.Add(1)
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for m := s.most.Load(); n > m && !s.most.CompareAndSwap(m, n); m = s.most.Load() {
	}
	s.started <- struct{}{}
	select {
	case <-s.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return snapshot.LoadMirrors(ctx, path)
}

func (s *slowLoader) waitStarted(t *testing.T) {
	t.Helper()
	select {
	case <-s.started:
	case <-time.After(patience):
		t.Fatal("timed out waiting for a build to start")
	}
}

// TestCoalesceTriggers fires many triggers and file events during a slow
// build: they make at most one more build, never two at once.
func TestCoalesceTriggers(t *testing.T) {
	e, dir := newDirEnv(t, oldSet(), nil)
	slow := newSlowLoader()
	e.r.load.mirrors = slow.load

	e.r.Trigger()
	slow.waitStarted(t)
	for i := range 20 {
		e.r.Trigger()
		if i%5 == 0 {
			writeRsync(t, dir, fixtures.CacheFile, newSet(t).Snapshot)
		}
	}
	time.Sleep(2 * settle) // let every event reach Run while the build waits
	close(slow.gate)

	e.waitServed(statsOf(t, newSet(t)))
	time.Sleep(4 * settle) // time for a wrongful third build to show
	if n := slow.calls.Load(); n != 2 {
		t.Errorf("%d builds, want 2 (the slow one and one more)", n)
	}
	if n := slow.most.Load(); n != 1 {
		t.Errorf("%d builds at once, want 1", n)
	}
	// The slow build read a file that changed under it: it was dropped
	// quietly, and only the build after it reports.
	if n := e.count(); n != 2 {
		t.Errorf("%d results after the first load, want 1", n-1)
	}
}

// TestChangedWhileRead rewrites the protobuf while a forced build reads it:
// the build is not published.
func TestChangedWhileRead(t *testing.T) {
	e, dir := newDirEnv(t, oldSet(), noWatch)
	slow := newSlowLoader()
	e.r.load.mirrors = slow.load
	old := e.holder.Current()

	done := make(chan error, 1)
	go func() { _, err := e.r.ReloadNow(context.Background()); done <- err }()
	slow.waitStarted(t)
	writeRsync(t, dir, fixtures.CacheFile, newSet(t).Snapshot)
	close(slow.gate)
	err := <-done
	if !errors.Is(err, ErrChangedWhileRead) {
		t.Fatalf("ReloadNow: %v, want ErrChangedWhileRead", err)
	}
	mustContain(t, err, fixtures.CacheFile)
	if e.holder.Current() != old {
		t.Error("a build of a file that changed while it was read was published")
	}
	if st := e.r.Status(); st.Failures != 1 {
		t.Errorf("Status().Failures = %d, want 1", st.Failures)
	}
}

// TestCoalesceReloadNow calls ReloadNow from many goroutines during a slow
// build: they share one more build.
func TestCoalesceReloadNow(t *testing.T) {
	e, _ := newDirEnv(t, oldSet(), nil)
	slow := newSlowLoader()
	e.r.load.mirrors = slow.load
	ctx := context.Background()

	first := make(chan Result, 1)
	go func() { res, _ := e.r.ReloadNow(ctx); first <- res }()
	slow.waitStarted(t)

	const callers = 5
	var (
		wg  sync.WaitGroup
		gen [callers]uint64
	)
	for i := range callers {
		wg.Go(func() {
			res, err := e.r.ReloadNow(ctx)
			if err != nil {
				t.Errorf("ReloadNow: %v", err)
			}
			gen[i] = res.Generation
		})
	}
	time.Sleep(50 * time.Millisecond) // let the callers line up behind the build
	close(slow.gate)
	wg.Wait()

	if res := <-first; res.Generation != 2 {
		t.Errorf("first ReloadNow: generation %d, want 2", res.Generation)
	}
	for i, g := range gen {
		if g != 3 {
			t.Errorf("caller %d: generation %d, want 3 (the one shared build)", i, g)
		}
	}
	if n := slow.calls.Load(); n != 2 {
		t.Errorf("%d builds, want 2", n)
	}
	if n := slow.most.Load(); n != 1 {
		t.Errorf("%d builds at once, want 1", n)
	}
}

// TestPartialReload changes one file at a time: only its part is rebuilt,
// and the new snapshot shares the other parts with the old one.
func TestPartialReload(t *testing.T) {
	// The tiny set's GeoIP database, swapped in below, has far fewer
	// networks than the small set's: a real change here.
	e, dir := newDirEnv(t, newSet(t), func(c *Config) { c.AllowShrink = true })
	m0, g0, r0, c0 := e.holder.Current().Parts()

	writeRsync(t, dir, fixtures.GeoIPFile, oldSet().GeoIP)
	if res := e.nextResult(1); res.Outcome != Reloaded || res.Rebuilt != PartGeoIP {
		t.Fatalf("outcome %v, rebuilt %v (%v); want reloaded, geoip", res.Outcome, res.Rebuilt, res.Err)
	}
	m1, g1, r1, c1 := e.holder.Current().Parts()
	if m1 != m0 || r1 != r0 || c1 != c0 {
		t.Error("a GeoIP reload did not share the mirrors, routes and continents parts")
	}
	if g1 == g0 {
		t.Error("a GeoIP reload kept the old GeoIP part")
	}

	// The netblocks file is replaced by the same bytes (a new inode): no
	// rebuild. The continents file really changes.
	writeRsync(t, dir, fixtures.RoutesFile, newSet(t).Routes)
	writeRsync(t, dir, fixtures.ContinentsFile, append([]byte("ZZ,EU\n"), newSet(t).Continents...))
	if res := e.nextResult(2); res.Outcome != Reloaded || res.Rebuilt != PartContinents {
		t.Fatalf("outcome %v, rebuilt %v (%v); want reloaded, continents", res.Outcome, res.Rebuilt, res.Err)
	}
	m2, g2, r2, c2 := e.holder.Current().Parts()
	if m2 != m0 || g2 != g1 || r2 != r0 || c2 == c1 {
		t.Error("a continents reload did not rebuild exactly the continents part")
	}
	if cont, _ := e.holder.Current().Continent("ZZ"); cont != "EU" {
		t.Errorf("Continent(ZZ) = %q, want EU from the new file", cont)
	}
}

// TestFirstLoadRetriesChangedFile rewrites the protobuf while the first
// load reads it: the load is not published, and is made again once the
// file has settled.
func TestFirstLoadRetriesChangedFile(t *testing.T) {
	dir := t.TempDir()
	if err := oldSet().WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	holder := new(snapshot.Holder)
	r, err := New(Config{Paths: pathsIn(dir), Holder: holder, Settle: settle})
	if err != nil {
		t.Fatal(err)
	}
	slow := newSlowLoader()
	r.load.mirrors = slow.load // before Run: no build can read it yet
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	slow.waitStarted(t)
	writeRsync(t, dir, fixtures.CacheFile, newSet(t).Snapshot)
	close(slow.gate)
	res, err := r.First(ctx)
	if err != nil {
		t.Fatalf("First: %v", err)
	}
	if want := statsOf(t, newSet(t)); !sameData(res.Stats, want) || !sameData(holder.Current().Stats(), want) {
		t.Errorf("first load served %v, want the protobuf written during it", res.Stats)
	}
	if n := slow.calls.Load(); n != 2 {
		t.Errorf("%d builds, want 2 (the one abandoned, the one published)", n)
	}
	if st := r.Status(); st.Generation != 1 || st.Failures != 0 {
		t.Errorf("status %+v, want generation 1 and no failure", st)
	}
}

func TestHandler(t *testing.T) {
	e, dir := newDirEnv(t, oldSet(), noWatch)
	h := e.r.Handler()

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/-/reload", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != http.MethodPost {
		t.Errorf("GET: %d, Allow %q; want 405, POST", rec.Code, rec.Header().Get("Allow"))
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/-/reload", nil))
	var ok struct {
		Outcome    string
		Generation uint64
		Rebuilt    string
		Error      string
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &ok); err != nil {
		t.Fatalf("POST: %d %q: %v", rec.Code, rec.Body, err)
	}
	if rec.Code != http.StatusOK || ok.Outcome != "reloaded" || ok.Generation != 2 || ok.Rebuilt != "mirrors+geoip+routes+continents" || ok.Error != "" {
		t.Errorf("POST: %d %s", rec.Code, rec.Body)
	}

	old := e.holder.Current()
	writeRsync(t, dir, fixtures.RoutesFile, nil)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/-/reload", nil))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), fixtures.RoutesFile) || !strings.Contains(rec.Body.String(), `"failed"`) {
		t.Errorf("POST with an empty netblocks file: %d %s", rec.Code, rec.Body)
	}
	if e.holder.Current() != old {
		t.Error("a failed POST reload replaced the snapshot")
	}
}

func TestStatus(t *testing.T) {
	e, _ := newDirEnv(t, oldSet(), nil)
	st := e.r.Status()
	want := statsOf(t, oldSet())
	if st.Generation != 1 || st.Reloads != 1 || st.SnapshotTime != want.Time || st.LastOutcome != Reloaded ||
		st.LastRebuilt != AllParts || st.LastBuild.IsZero() || st.LastBuildDuration <= 0 || st.LastError != "" {
		t.Errorf("status after the first load: %+v", st)
	}
	if _, err := json.Marshal(st); err != nil {
		t.Errorf("status does not encode as JSON: %v", err)
	}
}

func TestNewAndRunErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := New(Config{Paths: pathsIn(dir)}); err == nil {
		t.Error("New without a Holder succeeded")
	}
	p := pathsIn(dir)
	p.GeoIP = ""
	if _, err := New(Config{Paths: p, Holder: new(snapshot.Holder)}); err == nil {
		t.Error("New without a GeoIP path succeeded")
	}
	r, err := New(Config{Paths: pathsIn(filepath.Join(dir, "absent")), Holder: new(snapshot.Holder)})
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, r.Run(context.Background()), "absent", fixtures.CacheFile)
	if _, err := r.First(context.Background()); err == nil {
		t.Error("First after a failed first load: no error")
	}
	if _, err := r.ReloadNow(context.Background()); !errors.Is(err, ErrStopped) {
		t.Errorf("ReloadNow after Run ended: %v, want ErrStopped", err)
	}
	if err := r.Run(context.Background()); err == nil {
		t.Error("a second Run: no error")
	}
}

// TestReloadFreesOldSnapshot checks that the mirrors part a reload
// replaces is collected by the time the reload is reported, with the
// collector's own pacing switched off: the reloader collects it, rather
// than leaving it until the heap has doubled.
func TestReloadFreesOldSnapshot(t *testing.T) {
	e, dir := newDirEnv(t, newSet(t), func(c *Config) { c.AllowShrink = true })
	freed := make(chan struct{})
	func() {
		m, _, _, _ := e.holder.Current().Parts()
		runtime.AddCleanup(m, func(ch chan struct{}) { close(ch) }, freed)
	}()

	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	writeRsync(t, dir, fixtures.CacheFile, oldSet().Snapshot)
	if res := e.nextResult(1); res.Outcome != Reloaded || res.Rebuilt != PartMirrors {
		t.Fatalf("outcome %v, rebuilt %v (%v); want reloaded, mirrors", res.Outcome, res.Rebuilt, res.Err)
	}
	select {
	case <-freed: // cleanups run on their own goroutine, soon after the collection
	case <-time.After(patience):
		t.Fatal("the replaced mirrors part was not collected after the reload")
	}
}
