package reload_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	"github.com/mirrorlist-go/mirrorlist-server/httpapi"
	"github.com/mirrorlist-go/mirrorlist-server/httpapi/accesslog"
	mm "github.com/mirrorlist-go/mirrorlist-server/proto"
	"github.com/mirrorlist-go/mirrorlist-server/reload"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// The tests of this file replace the inputs with broken files while
// requests run against the handler, and check that the server keeps
// answering from the last good snapshot (every answer one of the old
// data), reports each failure in the reloader's status and the metrics,
// and recovers on the next good file. Run them with -race.

// patience bounds every wait of these tests.
const patience = 10 * time.Second

// The two good versions of the protobuf: the committed small set (old),
// and the same with a later Time and every file timestamp one second
// later (new), so that both mirrorlists (time=) and metalinks
// (mm0:timestamp) tell which one answered.
const (
	oldTime = 1732480000
	newTime = oldTime + 86400
)

// versions are the old and new good inputs.
type versions struct {
	old *fixtures.Set
	new []byte // the new protobuf; the other files are old's
}

func loadVersions(t *testing.T) versions {
	t.Helper()
	old, err := fixtures.ReadFS(fixtures.Small, "small")
	if err != nil {
		t.Fatal(err)
	}
	var ml mm.MirrorList
	if err := proto.Unmarshal(old.Snapshot, &ml); err != nil {
		t.Fatal(err)
	}
	if ml.GetTime() != oldTime {
		t.Fatalf("small set Time %d, want %d", ml.GetTime(), oldTime)
	}
	ml.Time = proto.Uint64(newTime)
	for _, d := range ml.FileDetailsCache {
		for _, f := range d.FileDetailsCacheFiles {
			for _, v := range f.FileDetails {
				v.TimeStamp = proto.Uint64(v.GetTimeStamp() + 1)
			}
		}
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&ml)
	if err != nil {
		t.Fatal(err)
	}
	return versions{old: old, new: b}
}

// targets are the requests the clients of the tests send: metalinks and
// mirrorlists (with time=) by repository and by path.
var targets = []string{
	"/metalink?repo=fedora-41&arch=x86_64&ip=5.123.20.58",
	"/metalink?repo=updates-released-f42&arch=x86_64&ip=2800:380c:c76e:e1ca:a234:84f7:c9f7:18e5",
	"/metalink?path=pub/fedora/linux/updates/42/Everything/source/tree/repodata/repomd.xml&ip=129.31.188.107",
	"/mirrorlist?repo=updates-released-f42&arch=x86_64&time&ip=210.88.175.170",
	"/mirrorlist?path=pub/fedora-secondary/releases/41/Everything/riscv64/os&time&ip=51.158.38.231",
}

// answerVersion tells which version of the data answered: 1 (old), 2
// (new), or 0 with the reason when the answer is neither.
type answerVersion func(target string, code int, body []byte) (int, string)

// newAnswerVersion learns the first metalink timestamp of every target
// under each version.
func newAnswerVersion(t *testing.T, v versions) answerVersion {
	t.Helper()
	stamps := make(map[string][2]string)
	for i, data := range [][]byte{v.old.Snapshot, v.new} {
		set := *v.old
		set.Snapshot = data
		h := handlerFor(t, holderOf(t, &set), nil)
		for _, target := range targets {
			code, body := serve(h, target)
			st := stamps[target]
			st[i] = firstTimestamp(body)
			stamps[target] = st
			if code != http.StatusOK {
				t.Fatalf("%s: %d under version %d", target, code, i+1)
			}
		}
	}
	return func(target string, code int, body []byte) (int, string) {
		if code != http.StatusOK {
			return 0, fmt.Sprintf("status %d", code)
		}
		if strings.HasPrefix(target, "/mirrorlist") {
			return mirrorlistVersion(body)
		}
		if !bytes.HasSuffix(body, []byte("</metalink>\n")) {
			return 0, "truncated metalink"
		}
		switch ts := firstTimestamp(body); ts {
		case stamps[target][0]:
			return 1, ""
		case stamps[target][1]:
			return 2, ""
		default:
			return 0, "metalink timestamp " + ts
		}
	}
}

func mirrorlistVersion(body []byte) (int, string) {
	switch {
	case bytes.Contains(body, []byte("# database creation time: "+strconv.Itoa(oldTime)+"\n")):
		return 1, ""
	case bytes.Contains(body, []byte("# database creation time: "+strconv.Itoa(newTime)+"\n")):
		return 2, ""
	}
	return 0, "mirrorlist without a known creation time"
}

// firstTimestamp returns the text of a metalink's first mm0:timestamp.
func firstTimestamp(body []byte) string {
	const open, end = "<mm0:timestamp>", "</mm0:timestamp>"
	_, rest, ok := bytes.Cut(body, []byte(open))
	if !ok {
		return ""
	}
	ts, _, _ := bytes.Cut(rest, []byte(end))
	return string(ts)
}

// holderOf builds a set's snapshot in memory and holds it.
func holderOf(t *testing.T, set *fixtures.Set) *snapshot.Holder {
	t.Helper()
	s, err := set.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h := new(snapshot.Holder)
	h.Store(s)
	return h
}

func handlerFor(t *testing.T, h *snapshot.Holder, log *accesslog.Writer) http.Handler {
	t.Helper()
	return httpapi.New(httpapi.Config{Holder: h, Minimum: 5, AccessLog: log})
}

func serve(h http.Handler, target string) (int, []byte) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec.Code, rec.Body.Bytes()
}

func pathsIn(dir string) snapshot.Paths {
	return snapshot.PathsIn(dir)
}

// clients send the targets through a handler from a few goroutines until
// stopped, and check every answer against the versions allowed at the
// time.
type clients struct {
	h       http.Handler
	version answerVersion
	allowed atomic.Uint32 // bit v set: version v may answer
	stop    chan struct{}
	wg      sync.WaitGroup
	served  atomic.Int64
	bad     atomic.Int64
	mu      sync.Mutex
	first   []string // the first few bad answers
}

// startClients starts n client goroutines; only version 1 may answer
// until allow says otherwise.
func startClients(h http.Handler, version answerVersion, n int) *clients {
	c := &clients{h: h, version: version, stop: make(chan struct{})}
	c.allowed.Store(1 << 1)
	for i := range n {
		c.wg.Go(func() { c.loop(i) })
	}
	return c
}

func (c *clients) loop(i int) {
	for k := i; ; k++ {
		select {
		case <-c.stop:
			return
		default:
		}
		// A version may answer if it was allowed at any moment of the
		// request: the test can widen or narrow the set while a request
		// runs (a client preempted between reading the set and sending
		// its request may meet a snapshot published in between).
		allowed := c.allowed.Load()
		target := targets[k%len(targets)]
		code, body := serve(c.h, target)
		allowed |= c.allowed.Load()
		v, why := c.version(target, code, body)
		c.served.Add(1)
		if v == 0 || allowed&(1<<v) == 0 {
			c.fail(fmt.Sprintf("%s: version %d (%s) while %b allowed", target, v, why, allowed))
		}
	}
}

func (c *clients) fail(msg string) {
	c.bad.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.first) < 5 {
		c.first = append(c.first, msg)
	}
}

// allow sets the versions that may answer from now on.
func (c *clients) allow(vs ...int) {
	var bits uint32
	for _, v := range vs {
		bits |= 1 << v
	}
	c.allowed.Store(bits)
}

// finish stops the clients and fails the test for every bad answer.
func (c *clients) finish(t *testing.T) {
	t.Helper()
	close(c.stop)
	c.wg.Wait()
	if n := c.bad.Load(); n > 0 {
		t.Errorf("%d of %d answers were not of the data allowed, e.g.:\n%s", n, c.served.Load(), strings.Join(c.first, "\n"))
	}
	if c.served.Load() == 0 {
		t.Error("no request was served")
	}
}

// rig is a Reloader over real files with metrics, and clients.
type rig struct {
	t       *testing.T
	dir     string
	paths   snapshot.Paths
	holder  *snapshot.Holder
	r       *reload.Reloader
	reg     *prometheus.Registry
	results chan reload.Result
}

// newRig starts a reloader over set. Its builds are paced as the server's
// are only if paced is true: the fault tests make dozens of builds.
func newRig(t *testing.T, set *fixtures.Set, settle time.Duration, paced bool) *rig {
	t.Helper()
	dir := t.TempDir()
	if err := set.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	g := &rig{t: t, dir: dir, paths: pathsIn(dir), holder: new(snapshot.Holder), reg: prometheus.NewPedanticRegistry(),
		results: make(chan reload.Result, 100)}
	r, err := reload.New(reload.Config{
		Paths: g.paths, Holder: g.holder, Settle: settle, Registerer: g.reg,
		OnResult: func(res reload.Result) { g.results <- res },
	})
	if err != nil {
		t.Fatal(err)
	}
	g.r = r
	if !paced {
		reload.Unpaced(r)
	}
	reload.StartForTest(t, r)
	<-g.results
	return g
}

// reloadNow runs a forced reload, failing the test if it does not return
// within patience (a hang).
func (g *rig) reloadNow() reload.Result {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	done := make(chan reload.Result, 1)
	go func() {
		res, _ := g.r.ReloadNow(ctx)
		done <- res
	}()
	select {
	case res := <-done:
		if res.Outcome != reload.Unchanged {
			<-g.results
		}
		return res
	case <-time.After(patience + time.Second):
		g.t.Fatal("ReloadNow hangs")
		return reload.Result{}
	}
}

// replace writes data to the input name the way rsync does.
func (g *rig) replace(name string, data []byte) {
	g.t.Helper()
	tmp := filepath.Join(g.dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		g.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(g.dir, name)); err != nil {
		g.t.Fatal(err)
	}
}

// reloads returns mirrorlist_reloads_total for a result.
func (g *rig) reloads(result string) float64 {
	g.t.Helper()
	c, err := g.reg.Gather()
	if err != nil {
		g.t.Fatal(err)
	}
	for _, mf := range c {
		if mf.GetName() != "mirrorlist_reloads_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	g.t.Fatalf("no mirrorlist_reloads_total{result=%q}", result)
	return 0
}

// fault is one broken input: apply puts it in place, want is the outcome
// of the reload that reads it, and undo (if not nil) clears what a
// rewrite of the file cannot.
type fault struct {
	name  string
	file  string // the input it breaks
	apply func(g *rig)
	want  reload.Outcome
	undo  func(g *rig)
}

// TestFaultsKeepOldSnapshot puts each fault in place and forces a reload,
// while clients check that every answer is of the old data. Each reload
// must fail or be refused, naming the file, and be counted; the next good
// file is then published.
func TestFaultsKeepOldSnapshot(t *testing.T) {
	v := loadVersions(t)
	g := newRig(t, v.old, time.Hour, false) // no watcher: only the forced reloads build
	c := startClients(handlerFor(t, g.holder, nil), newAnswerVersion(t, v), 4)
	faults := protobufFaults(t, v)
	faults = append(faults, fileFaults(t, v)...)
	want := map[reload.Outcome]int{}
	for _, f := range faults {
		f.apply(g)
		res := g.reloadNow()
		var fe *reload.FileError
		switch {
		case res.Outcome != f.want:
			t.Errorf("%s: outcome %v (%v), want %v", f.name, res.Outcome, res.Err, f.want)
		case f.want == reload.Failed && (!errors.As(res.Err, &fe) || fe.Path != filepath.Join(g.dir, f.file)):
			t.Errorf("%s: error %v does not name %s", f.name, res.Err, f.file)
		}
		want[res.Outcome]++
		if f.undo != nil {
			f.undo(g)
		}
	}
	st := g.r.Status()
	if st.Failures != uint64(want[reload.Failed]) || st.Refusals != uint64(want[reload.Refused]) || st.Generation != 1 {
		t.Errorf("status: %d failures, %d refusals, generation %d; want %d, %d, 1", st.Failures, st.Refusals, st.Generation, want[reload.Failed], want[reload.Refused])
	}
	if f, r, ok := g.reloads("failed"), g.reloads("refused"), g.reloads("reloaded"); f != float64(want[reload.Failed]) || r != float64(want[reload.Refused]) || ok != 1 {
		t.Errorf("mirrorlist_reloads_total: failed %v, refused %v, reloaded %v; want %d, %d, 1", f, r, ok, want[reload.Failed], want[reload.Refused])
	}
	t.Logf("%d faults: %d failed, %d refused; %d answers checked", len(faults), want[reload.Failed], want[reload.Refused], c.served.Load())

	// Recovery: the old inputs, then the new protobuf.
	for _, name := range []string{fixtures.GeoIPFile, fixtures.RoutesFile, fixtures.ContinentsFile} {
		g.replace(name, fileOf(v.old, name))
	}
	c.allow(1, 2)
	g.replace(fixtures.CacheFile, v.new)
	if res := g.reloadNow(); res.Outcome != reload.Reloaded || g.holder.Current().Time() != newTime {
		t.Fatalf("good file after the faults: %v %v", res.Outcome, res.Err)
	}
	c.allow(2)
	time.Sleep(20 * time.Millisecond) // some answers of the new data
	c.finish(t)
}

func fileOf(set *fixtures.Set, name string) []byte {
	switch name {
	case fixtures.CacheFile:
		return set.Snapshot
	case fixtures.GeoIPFile:
		return set.GeoIP
	case fixtures.RoutesFile:
		return set.Routes
	}
	return set.Continents
}

// protobufFaults are the new protobuf cut at 20 offsets and damaged by
// bit flips. A cut at a message boundary decodes: it is refused by the
// shrink guard when it lost half the directories, and the cuts are chosen
// so that it did (a cut that kept more would be published: the reload
// package's documented limit). Bit flips are chosen among those that make
// the file fail to decode; one that still decodes is valid data.
func protobufFaults(t *testing.T, v versions) []fault {
	t.Helper()
	data := v.new
	bounds, firstDir := recordBounds(t, data)
	dirs := len(bounds) - 1 - firstDir // bounds ends with len(data)
	cuts := []int{0}                   // empty
	for _, k := range []int{1, 2, 3, firstDir / 2, firstDir, firstDir + dirs/10, firstDir + dirs/4, firstDir + dirs*2/5} {
		cuts = append(cuts, bounds[k]) // at message boundaries
	}
	for _, k := range []int{0, 1, 2, firstDir / 3, firstDir - 1, firstDir, firstDir + 1, firstDir + dirs/3, firstDir + dirs*2/3, firstDir + dirs - 2, firstDir + dirs - 1} {
		cuts = append(cuts, bounds[k]+(bounds[k+1]-bounds[k])/2) // inside a message
	}
	cuts = append(cuts, len(data)-1)
	var out []fault
	for _, n := range cuts {
		out = append(out, fault{
			name: fmt.Sprintf("protobuf cut at %d of %d", n, len(data)),
			file: fixtures.CacheFile, apply: func(g *rig) { g.replace(fixtures.CacheFile, data[:n]) },
			want: predict(t, v, data[:n]), undo: restoreOld(v, fixtures.CacheFile),
		})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for flips := 0; flips < 8; {
		off := rng.IntN(len(data))
		bad := bytes.Clone(data)
		bad[off] ^= 1 << rng.IntN(8)
		if predict(t, v, bad) != reload.Failed {
			continue
		}
		flips++
		out = append(out, fault{name: fmt.Sprintf("protobuf bit flip at %d", off), file: fixtures.CacheFile,
			apply: func(g *rig) { g.replace(fixtures.CacheFile, bad) }, want: reload.Failed,
			undo: restoreOld(v, fixtures.CacheFile)})
	}
	return out
}

// recordBounds returns the offsets where the protobuf's top-level records
// start, plus its length, and the index of the first directory.
func recordBounds(t *testing.T, data []byte) (bounds []int, firstDir int) {
	t.Helper()
	firstDir = -1
	for off := 0; off < len(data); {
		num, typ, n := protowire.ConsumeTag(data[off:])
		m := protowire.ConsumeFieldValue(num, typ, data[off+n:])
		if n < 0 || m < 0 {
			t.Fatalf("record at %d does not parse", off)
		}
		if num == 16 && firstDir < 0 {
			firstDir = len(bounds)
		}
		bounds = append(bounds, off)
		off += n + m
	}
	if firstDir < 4 {
		t.Fatal("the directories do not come last")
	}
	return append(bounds, len(data)), firstDir
}

// predict returns the outcome of a reload of data over the old snapshot:
// Failed if it does not decode, Refused if it lost half the directories
// or hosts or left more than max(5, 1%) of the repositories newly without
// their directory. It fails the test for data that would be published.
func predict(t *testing.T, v versions, data []byte) reload.Outcome {
	t.Helper()
	m, err := snapshot.BuildMirrors(context.Background(), data)
	if err != nil {
		return reload.Failed
	}
	oldM, err := snapshot.BuildMirrors(context.Background(), v.old.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	st, old := m.Stats(), oldM.Stats()
	if 2*st.Directories < old.Directories || 2*st.Hosts < old.Hosts ||
		st.DanglingRepoArches-old.DanglingRepoArches > max(5, st.RepoArches/100) {
		return reload.Refused
	}
	return reload.Reloaded
}

// fileFaults are the other kinds of damage: the other three inputs
// broken, and inputs that are not files, cannot be read, or vanish.
func fileFaults(t *testing.T, v versions) []fault {
	t.Helper()
	path := func(g *rig, name string) string { return filepath.Join(g.dir, name) }
	restore := func(name string) func(*rig) { return restoreOld(v, name) }
	put := func(name string, data []byte) func(*rig) { return func(g *rig) { g.replace(name, data) } }
	return []fault{
		{name: "GeoIP database cut in half", file: fixtures.GeoIPFile, apply: put(fixtures.GeoIPFile, v.old.GeoIP[:len(v.old.GeoIP)/2]), want: reload.Failed, undo: restore(fixtures.GeoIPFile)},
		{name: "GeoIP database of zeros", file: fixtures.GeoIPFile, apply: put(fixtures.GeoIPFile, make([]byte, len(v.old.GeoIP))), want: reload.Failed, undo: restore(fixtures.GeoIPFile)},
		{name: "empty netblocks", file: fixtures.RoutesFile, apply: put(fixtures.RoutesFile, nil), want: reload.Failed, undo: restore(fixtures.RoutesFile)},
		{name: "netblocks of junk", file: fixtures.RoutesFile, apply: put(fixtures.RoutesFile, []byte("<html>502 Bad Gateway</html>\n")), want: reload.Failed, undo: restore(fixtures.RoutesFile)},
		{name: "CSV without a usable line", file: fixtures.ContinentsFile, apply: put(fixtures.ContinentsFile, []byte("\"iso 3166 country\",\"continent code\"\n")), want: reload.Failed, undo: restore(fixtures.ContinentsFile)},
		{name: "protobuf missing", file: fixtures.CacheFile, apply: func(g *rig) { remove(g, path(g, fixtures.CacheFile)) }, want: reload.Failed, undo: restore(fixtures.CacheFile)},
		{name: "a directory where the protobuf should be", file: fixtures.CacheFile, apply: func(g *rig) {
			remove(g, path(g, fixtures.CacheFile))
			if err := os.Mkdir(path(g, fixtures.CacheFile), 0o755); err != nil {
				g.t.Fatal(err)
			}
		}, want: reload.Failed, undo: restore(fixtures.CacheFile)},
		{name: "a named pipe where the CSV should be", file: fixtures.ContinentsFile, apply: func(g *rig) {
			remove(g, path(g, fixtures.ContinentsFile))
			if err := syscall.Mkfifo(path(g, fixtures.ContinentsFile), 0o644); err != nil {
				g.t.Fatal(err)
			}
		}, want: reload.Failed, undo: restore(fixtures.ContinentsFile)},
		{name: "a symlink to /dev/zero for the netblocks", file: fixtures.RoutesFile, apply: func(g *rig) {
			remove(g, path(g, fixtures.RoutesFile))
			if err := os.Symlink("/dev/zero", path(g, fixtures.RoutesFile)); err != nil {
				g.t.Fatal(err)
			}
		}, want: reload.Failed, undo: restore(fixtures.RoutesFile)},
		{name: "a dangling symlink for the GeoIP database", file: fixtures.GeoIPFile, apply: func(g *rig) {
			remove(g, path(g, fixtures.GeoIPFile))
			if err := os.Symlink("nowhere.mmdb", path(g, fixtures.GeoIPFile)); err != nil {
				g.t.Fatal(err)
			}
		}, want: reload.Failed, undo: restore(fixtures.GeoIPFile)},
	}
}

// restoreOld returns an undo that puts the old version of input name back,
// whatever is in its place.
func restoreOld(v versions, name string) func(*rig) {
	return func(g *rig) {
		remove(g, filepath.Join(g.dir, name))
		g.replace(name, fileOf(v.old, name))
	}
}

func remove(g *rig, path string) {
	g.t.Helper()
	if err := os.RemoveAll(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		g.t.Fatal(err)
	}
}

// TestFaultsPermissionDenied makes an input unreadable (mode 000).
func TestFaultsPermissionDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root, which reads files of mode 000: the case cannot be made; TestFaultsKeepOldSnapshot covers reads that fail otherwise (a directory, a named pipe, /dev/zero)")
	}
	v := loadVersions(t)
	g := newRig(t, v.old, time.Hour, false)
	c := startClients(handlerFor(t, g.holder, nil), newAnswerVersion(t, v), 2)
	g.replace(fixtures.CacheFile, v.new)
	p := filepath.Join(g.dir, fixtures.CacheFile)
	if err := os.Chmod(p, 0); err != nil {
		t.Fatal(err)
	}
	res := g.reloadNow()
	if res.Outcome != reload.Failed || !errors.Is(res.Err, fs.ErrPermission) {
		t.Errorf("unreadable protobuf: %v %v", res.Outcome, res.Err)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	c.allow(1, 2)
	if res := g.reloadNow(); res.Outcome != reload.Reloaded {
		t.Errorf("readable again: %v %v", res.Outcome, res.Err)
	}
	c.finish(t)
}

// TestFaultsVanishing makes the protobuf disappear and come back over and
// over while reloads run, so that some of them find it between their stat
// and their open: each reload must fail naming the file, or publish the
// (unchanged) data, and every answer is of that data.
func TestFaultsVanishing(t *testing.T) {
	v := loadVersions(t)
	g := newRig(t, v.old, time.Hour, false)
	c := startClients(handlerFor(t, g.holder, nil), newAnswerVersion(t, v), 2)
	p := filepath.Join(g.dir, fixtures.CacheFile)
	aside := filepath.Join(g.dir, "aside.proto")
	stop := make(chan struct{})
	flapped := make(chan int)
	go func() { // moves the file away and back until stopped
		n := 0
		defer func() { flapped <- n }()
		for ; ; n++ {
			select {
			case <-stop:
				_ = os.Rename(aside, p)
				return
			default:
			}
			_ = os.Rename(p, aside)
			_ = os.Rename(aside, p)
		}
	}()
	outcomes := map[reload.Outcome]int{}
	for range 30 {
		res := g.reloadNow()
		outcomes[res.Outcome]++
		var fe *reload.FileError
		if res.Outcome == reload.Failed && (!errors.As(res.Err, &fe) || fe.Part != reload.PartMirrors) {
			t.Errorf("failure not blamed on the protobuf: %v", res.Err)
		}
		if res.Outcome == reload.Refused {
			t.Errorf("refused: %v", res.Err)
		}
	}
	close(stop)
	t.Logf("%d flaps; outcomes %v", <-flapped, outcomes)
	c.allow(1, 2)
	g.replace(fixtures.CacheFile, v.new)
	if res := g.reloadNow(); res.Outcome != reload.Reloaded {
		t.Errorf("after the flapping: %v %v", res.Outcome, res.Err)
	}
	c.finish(t)
}

// TestFaultsWatched replaces the inputs the way cron jobs do while the
// watcher runs: a file cut short, one that vanishes right after it was
// written, a directory in a file's place, then a good file. The broken
// ones are reported as failures (the vanished one is waited for), and the
// good one is published.
func TestFaultsWatched(t *testing.T) {
	v := loadVersions(t)
	g := newRig(t, v.old, 50*time.Millisecond, false)
	c := startClients(handlerFor(t, g.holder, nil), newAnswerVersion(t, v), 2)
	p := filepath.Join(g.dir, fixtures.CacheFile)
	expect := func(what string, want reload.Outcome) {
		t.Helper()
		select {
		case res := <-g.results:
			if res.Outcome != want {
				t.Errorf("%s: %v (%v), want %v", what, res.Outcome, res.Err, want)
			}
		case <-time.After(patience):
			t.Fatalf("%s: no reload", what)
		}
	}
	g.replace(fixtures.CacheFile, v.new[:len(v.new)*3/4+7])
	expect("protobuf cut short", reload.Failed)

	// Written and removed at once: the watcher sees the file come and
	// go, and waits for it rather than counting a failure.
	g.replace(fixtures.CacheFile, v.new)
	remove(g, p)
	time.Sleep(300 * time.Millisecond) // several settle intervals
	select {
	case res := <-g.results:
		t.Errorf("a reload while the protobuf was missing: %v %v", res.Outcome, res.Err)
	default:
	}
	if err := os.Mkdir(p, 0o755); err != nil {
		t.Fatal(err)
	}
	expect("a directory in the protobuf's place", reload.Failed)
	remove(g, p)
	c.allow(1, 2)
	g.replace(fixtures.CacheFile, v.new)
	expect("the good protobuf", reload.Reloaded)
	if got := g.holder.Current().Time(); got != newTime {
		t.Errorf("serving Time %d, want %d", got, newTime)
	}
	c.finish(t)
}

// diskFile is an access-log file whose writes fail with ENOSPC while full
// is set.
type diskFile struct {
	mu   sync.Mutex
	full bool
	data bytes.Buffer
}

func (f *diskFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.full {
		return 0, &fs.PathError{Op: "write", Path: "mirrorlist.log", Err: syscall.ENOSPC}
	}
	return f.data.Write(p)
}

func (f *diskFile) Close() error { return nil }

func (f *diskFile) setFull(full bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.full = full
}

func (f *diskFile) lines() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Split(strings.TrimSuffix(f.data.String(), "\n"), "\n")
}

// TestFaultsAccessLogDiskFull fills the access log's disk while requests
// run: they keep being answered at once, the lost lines and the failed
// writes are counted (the buffer is capped), and the lines are written
// again once the disk has room.
func TestFaultsAccessLogDiskFull(t *testing.T) {
	v := loadVersions(t)
	disk := &diskFile{full: true}
	log, err := accesslog.Open(accesslog.Config{
		Path: "mirrorlist.log", MaxBuffer: 16 << 10, FlushInterval: 5 * time.Millisecond,
		Open: func(string) (io.WriteCloser, error) { return disk, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	h := handlerFor(t, holderOf(t, v.old), log)
	c := startClients(h, newAnswerVersion(t, v), 4)
	waitUntil(t, "lines dropped on the full disk", func() bool { return log.Dropped() > 0 && log.WriteErrors() > 0 })
	written := log.Written()
	if written != 0 {
		t.Errorf("%d lines written to a full disk", written)
	}
	disk.setFull(false)
	waitUntil(t, "lines written once the disk has room", func() bool { return log.Written() > 100 })
	c.finish(t)
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	for _, line := range disk.lines() {
		if !strings.HasPrefix(line, "IP: ") || !strings.Contains(line, "; ARCH: x86_64") {
			t.Fatalf("access-log line %q", line)
		}
	}
	t.Logf("%d answers; access log: %d written, %d dropped, %d write errors", c.served.Load(), log.Written(), log.Dropped(), log.WriteErrors())
}

// waitUntil polls cond until it holds, failing the test after patience.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
