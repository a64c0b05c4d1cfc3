package reload

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
)

// The replacement styles of the snapshot format's "Replacement in place":
// each test serves the tiny set, replaces files the way an operator's tool
// does, and waits for the small set to be served.

func TestReplaceRsync(t *testing.T) {
	e, dir := newDirEnv(t, oldSet(), nil)
	for name, data := range contents(newSet(t)) {
		writeRsync(t, dir, name, data)
	}
	e.waitServed(statsOf(t, newSet(t)))
	if res := e.result(e.count() - 1); res.Outcome != Reloaded || res.Forced {
		t.Errorf("last result %+v, want an unforced reload", res)
	}
}

func TestReplaceMvFromElsewhere(t *testing.T) {
	e, dir := newDirEnv(t, oldSet(), nil)
	staging := t.TempDir()
	if err := newSet(t).WriteDir(staging); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if err := os.Rename(filepath.Join(staging, name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	e.waitServed(statsOf(t, newSet(t)))
}

// TestReplaceCpSlowly rewrites the protobuf in place, in chunks, as a slow
// cp does: the half-written file must never be taken, and the old
// snapshot serves until the file is complete.
func TestReplaceCpSlowly(t *testing.T) {
	const chunks = 10
	e, dir := newDirEnv(t, oldSet(), func(c *Config) { c.Settle = 250 * time.Millisecond })
	old := e.holder.Current()
	data := newSet(t).Snapshot

	f, err := os.OpenFile(filepath.Join(dir, fixtures.CacheFile), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range chunks {
		time.Sleep(10 * time.Millisecond) // well inside the settle interval
		if _, err := f.Write(data[i*len(data)/chunks : (i+1)*len(data)/chunks]); err != nil {
			t.Fatal(err)
		}
		if e.holder.Current() != old {
			t.Fatalf("after chunk %d of %d, the served snapshot changed", i+1, chunks)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	want := statsOf(t, newSet(t))
	e.waitServed(want)
	// Not even tried: a build of the half-written file would have failed
	// (or, cut at a message boundary, been refused or published).
	for i := 1; i < e.count(); i++ {
		if res := e.result(i); res.Outcome != Reloaded || !sameData(res.Stats, want) {
			t.Errorf("result %d: %v %v (%v): a build took the half-written file", i, res.Outcome, res.Stats, res.Err)
		}
	}
}

// TestReplaceDeleteThenRestore removes the protobuf for a while: the old
// snapshot keeps serving and nothing counts as a failure, and the file's
// return is picked up.
func TestReplaceDeleteThenRestore(t *testing.T) {
	e, dir := newDirEnv(t, oldSet(), nil)
	old := e.holder.Current()
	path := filepath.Join(dir, fixtures.CacheFile)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * settle) // absent for longer than a settle interval
	if e.holder.Current() != old {
		t.Fatal("the served snapshot changed while the file was missing")
	}
	if err := os.WriteFile(path, newSet(t).Snapshot, 0o644); err != nil {
		t.Fatal(err)
	}
	e.waitServed(statsOf(t, newSet(t)))
	if st := e.r.Status(); st.Failures != 0 {
		t.Errorf("Status().Failures = %d, want 0 (a missing file is waited for): %s", st.Failures, st.LastError)
	}
}

// TestReplaceKubernetesFlip lays the inputs out as a Kubernetes volume
// (name -> ..data/name, ..data -> ..<timestamp>) and flips ..data.
func TestReplaceKubernetesFlip(t *testing.T) {
	dir := t.TempDir()
	writeK8sVersion(t, dir, "..2026_11_27_10_00_00.1", oldSet())
	flipK8s(t, dir, "..2026_11_27_10_00_00.1")
	for _, name := range names {
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	// The tiny set's GeoIP database has far fewer networks than the
	// small set's: a real change here, not a truncation.
	e := newEnv(t, pathsIn(dir), func(c *Config) { c.AllowShrink = true })

	writeK8sVersion(t, dir, "..2026_11_27_11_00_00.2", newSet(t))
	flipK8s(t, dir, "..2026_11_27_11_00_00.2")
	if err := os.RemoveAll(filepath.Join(dir, "..2026_11_27_10_00_00.1")); err != nil {
		t.Fatal(err)
	}
	e.waitServed(statsOf(t, newSet(t)))

	// A flip gives every file a new inode; when only the GeoIP database
	// differs, only its part is rebuilt.
	n := e.count()
	third := *newSet(t)
	third.GeoIP = oldSet().GeoIP
	writeK8sVersion(t, dir, "..2026_11_27_12_00_00.3", &third)
	flipK8s(t, dir, "..2026_11_27_12_00_00.3")
	if res := e.nextResult(n); res.Outcome != Reloaded || res.Rebuilt != PartGeoIP {
		t.Errorf("second flip: outcome %v, rebuilt %v (%v); want reloaded, geoip", res.Outcome, res.Rebuilt, res.Err)
	}
}

func writeK8sVersion(t *testing.T, dir, version string, set *fixtures.Set) {
	t.Helper()
	if err := set.WriteDir(filepath.Join(dir, version)); err != nil {
		t.Fatal(err)
	}
}

// flipK8s points ..data at version the way the kubelet does: a new symlink
// renamed over the old one.
func flipK8s(t *testing.T, dir, version string) {
	t.Helper()
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(version, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
}

// TestTrigger replaces files where the watcher cannot see them (the inputs
// are symlinks into a directory that is not watched), so only Trigger,
// which SIGHUP calls, picks the change up.
func TestTrigger(t *testing.T) {
	dir, elsewhere := t.TempDir(), t.TempDir()
	if err := oldSet().WriteDir(elsewhere); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if err := os.Symlink(filepath.Join(elsewhere, name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	e := newEnv(t, pathsIn(dir), nil)
	time.Sleep(3 * settle) // past Run's first check, which would see the change
	old := e.holder.Current()
	for name, data := range contents(newSet(t)) {
		writeRsync(t, elsewhere, name, data)
	}
	time.Sleep(3 * settle)
	if e.holder.Current() != old {
		t.Fatal("the snapshot changed without an event or a trigger")
	}
	e.r.Trigger()
	e.waitServed(statsOf(t, newSet(t)))
	res := e.result(e.count() - 1)
	if !res.Forced || res.Rebuilt != AllParts {
		t.Errorf("result after Trigger: forced=%v rebuilt=%v, want forced, all parts", res.Forced, res.Rebuilt)
	}
}
