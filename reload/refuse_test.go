package reload

import (
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	mm "github.com/mirrorlist-go/mirrorlist-server/proto"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// TestBadInputRefused replaces one input with a broken file: the build
// fails or is refused, the old snapshot keeps serving, and the failure
// names the file and is counted.
func TestBadInputRefused(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		data    func(t *testing.T, s *fixtures.Set) []byte
		outcome Outcome
	}{
		{"empty protobuf", fixtures.CacheFile, func(*testing.T, *fixtures.Set) []byte { return nil }, Failed},
		{"protobuf cut mid-field", fixtures.CacheFile, func(t *testing.T, s *fixtures.Set) []byte {
			return s.Snapshot[:directoryBoundaries(t, s.Snapshot)[1]+7]
		}, Failed},
		{"protobuf cut at a message boundary", fixtures.CacheFile, func(t *testing.T, s *fixtures.Set) []byte {
			ends := directoryBoundaries(t, s.Snapshot)
			cut := s.Snapshot[:ends[len(ends)*3/10]]
			// The cut decodes cleanly: only the shrink guard catches it.
			if _, err := snapshot.BuildMirrors(context.Background(), cut); err != nil {
				t.Fatalf("a cut at a message boundary should decode: %v", err)
			}
			return cut
		}, Refused},
		{"protobuf cut at a boundary keeping 90% of the directories", fixtures.CacheFile, func(t *testing.T, s *fixtures.Set) []byte {
			ends := directoryBoundaries(t, s.Snapshot)
			cut := s.Snapshot[:ends[len(ends)*9/10]]
			// Enough directories and hosts for the halving rule; the
			// newest directories, which the repositories point at, are
			// gone, and that is what refuses it.
			m, err := snapshot.BuildMirrors(context.Background(), cut)
			if err != nil {
				t.Fatalf("a cut at a message boundary should decode: %v", err)
			}
			full, err := snapshot.BuildMirrors(context.Background(), s.Snapshot)
			if err != nil {
				t.Fatal(err)
			}
			if st, was := m.Stats(), full.Stats(); 2*st.Directories < was.Directories || 2*st.Hosts < was.Hosts {
				t.Fatalf("cut keeps %d of %d directories, %d of %d hosts: not the case under test", st.Directories, was.Directories, st.Hosts, was.Hosts)
			}
			return cut
		}, Refused},
		{"protobuf of random bytes", fixtures.CacheFile, func(*testing.T, *fixtures.Set) []byte { return randomBytes(64 << 10) }, Failed},
		{"protobuf shrunk to 10%", fixtures.CacheFile, func(t *testing.T, s *fixtures.Set) []byte { return shrink(t, s.Snapshot, 10) }, Refused},
		{"mmdb cut in half", fixtures.GeoIPFile, func(_ *testing.T, s *fixtures.Set) []byte { return s.GeoIP[:len(s.GeoIP)/2] }, Failed},
		{"mmdb of random bytes", fixtures.GeoIPFile, func(*testing.T, *fixtures.Set) []byte { return randomBytes(16 << 10) }, Failed},
		{"empty netblocks", fixtures.RoutesFile, func(*testing.T, *fixtures.Set) []byte { return nil }, Failed},
		{"netblocks without a route", fixtures.RoutesFile, func(*testing.T, *fixtures.Set) []byte { return []byte("not a route\n") }, Failed},
		{"empty continents", fixtures.ContinentsFile, func(*testing.T, *fixtures.Set) []byte { return nil }, Failed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, dir := newDirEnv(t, newSet(t), nil)
			old := e.holder.Current()
			writeRsync(t, dir, tt.file, tt.data(t, newSet(t)))

			res := e.nextResult(1)
			if res.Outcome != tt.outcome {
				t.Fatalf("outcome %v (%v), want %v", res.Outcome, res.Err, tt.outcome)
			}
			if e.holder.Current() != old {
				t.Fatal("the old snapshot is no longer served")
			}
			st := e.r.Status()
			if st.Generation != 1 || st.Reloads != 1 || st.Failures+st.Refusals != 1 || st.LastOutcome != tt.outcome {
				t.Errorf("status %+v", st)
			}
			if tt.outcome == Failed {
				var fe *FileError
				if !errors.As(res.Err, &fe) || filepath.Base(fe.Path) != tt.file {
					t.Errorf("error %v does not name %s", res.Err, tt.file)
				}
				mustContain(t, errors.New(st.LastError), tt.file)
			}
		})
	}
}

// TestShrinkAllowed publishes the snapshot the guard would refuse.
func TestShrinkAllowed(t *testing.T) {
	e, dir := newDirEnv(t, newSet(t), func(c *Config) { c.AllowShrink = true })
	before := e.holder.Current().Stats().Directories
	writeRsync(t, dir, fixtures.CacheFile, shrink(t, newSet(t).Snapshot, 10))
	if res := e.nextResult(1); res.Outcome != Reloaded {
		t.Fatalf("outcome %v (%v), want reloaded", res.Outcome, res.Err)
	}
	if got := e.holder.Current().Stats().Directories; got > before/5 {
		t.Errorf("serving %d directories, want about a tenth of %d", got, before)
	}
}

// TestRecoverAfterFailure fixes a broken file: the next reload succeeds.
func TestRecoverAfterFailure(t *testing.T) {
	e, dir := newDirEnv(t, oldSet(), nil)
	writeRsync(t, dir, fixtures.GeoIPFile, randomBytes(1000))
	if res := e.nextResult(1); res.Outcome != Failed {
		t.Fatalf("outcome %v, want failed", res.Outcome)
	}
	// The protobuf changes; the GeoIP file is still broken: still failing.
	writeRsync(t, dir, fixtures.CacheFile, newSet(t).Snapshot)
	if res := e.nextResult(2); res.Outcome != Failed || !res.Rebuilt.Has(PartGeoIP|PartMirrors) {
		t.Fatalf("outcome %v rebuilt %v, want failed, mirrors+geoip", res.Outcome, res.Rebuilt)
	}
	writeRsync(t, dir, fixtures.GeoIPFile, newSet(t).GeoIP)
	e.waitServed(statsOf(t, newSet(t)))
	st := e.r.Status()
	if st.Generation != 2 || st.Failures != 2 || st.LastOutcome != Reloaded {
		t.Errorf("status %+v", st)
	}
}

// directoryBoundaries returns the offsets at which the protobuf's
// top-level MirrorListCache elements (field 16) end.
func directoryBoundaries(t *testing.T, data []byte) []int {
	t.Helper()
	var ends []int
	for off := 0; off < len(data); {
		num, typ, n := protowire.ConsumeTag(data[off:])
		if n < 0 {
			t.Fatal(protowire.ParseError(n))
		}
		m := protowire.ConsumeFieldValue(num, typ, data[off+n:])
		if m < 0 {
			t.Fatal(protowire.ParseError(m))
		}
		off += n + m
		if num == 16 {
			ends = append(ends, off)
		}
	}
	if len(ends) < 10 {
		t.Fatalf("only %d directories: the fixture is too small for this test", len(ends))
	}
	return ends
}

// shrink returns the protobuf with only the first percent of its
// directories.
func shrink(t *testing.T, data []byte, percent int) []byte {
	t.Helper()
	var ml mm.MirrorList
	if err := proto.Unmarshal(data, &ml); err != nil {
		t.Fatal(err)
	}
	ml.MirrorListCache = ml.MirrorListCache[:len(ml.MirrorListCache)*percent/100]
	out, err := proto.Marshal(&ml)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func randomBytes(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// TestRecoverByRestoringOldFile breaks an input, then puts the old file
// back (the same bytes under a new inode): nothing needs rebuilding, and
// the failure is cleared in the status, the metrics and the log.
func TestRecoverByRestoringOldFile(t *testing.T) {
	served := newSet(t)
	tests := []struct {
		name, file string
		bad        []byte
		outcome    Outcome
	}{
		{"GeoIP database of random bytes", fixtures.GeoIPFile, randomBytes(1000), Failed},
		{"netblocks cut to 1%", fixtures.RoutesFile, everyNthLine(served.Routes, 100), Refused},
		{"protobuf shrunk to 10%", fixtures.CacheFile, nil, Refused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.InfoLevel)
			reg := prometheus.NewPedanticRegistry()
			e, dir := newDirEnv(t, served, func(c *Config) { c.Logger, c.Registerer = zap.New(core), reg })
			bad := tt.bad
			if bad == nil {
				bad = shrink(t, served.Snapshot, 10)
			}
			writeRsync(t, dir, tt.file, bad)
			if res := e.nextResult(1); res.Outcome != tt.outcome {
				t.Fatalf("outcome %v (%v), want %v", res.Outcome, res.Err, tt.outcome)
			}
			if got := testutil.ToFloat64(e.r.metrics.lastSuccessful); got != 0 {
				t.Errorf("mirrorlist_last_reload_successful %v after the %v reload, want 0", got, tt.outcome)
			}
			failedAt := e.r.Status().LastErrorTime

			writeRsync(t, dir, tt.file, contents(served)[tt.file])
			res := e.nextResult(2)
			if res.Outcome != Unchanged || res.Rebuilt != 0 || res.Err != nil {
				t.Fatalf("after the old file came back: %+v, want unchanged, nothing rebuilt", res)
			}
			st := e.r.Status()
			if st.LastOutcome != Unchanged || st.failing() || st.Generation != 1 || st.Reloads != 1 || st.Failures+st.Refusals != 1 {
				t.Errorf("status %+v", st)
			}
			if !st.LastErrorTime.Equal(failedAt) || st.LastError == "" {
				t.Errorf("status lost the failure's record: %+v", st)
			}
			if got := testutil.ToFloat64(e.r.metrics.lastSuccessful); got != 1 {
				t.Errorf("mirrorlist_last_reload_successful %v, want 1", got)
			}
			if got := testutil.ToFloat64(e.r.metrics.builds[Reloaded]); got != 1 {
				t.Errorf("mirrorlist_reloads_total{result=reloaded} %v, want 1: nothing was built", got)
			}
			cleared := logs.FilterMessageSnippet("inputs match the served snapshot again").All()
			if len(cleared) != 1 || cleared[0].ContextMap()["cleared"] != tt.outcome.String() {
				t.Errorf("log lines of the recovery: %+v", cleared)
			}
		})
	}
}
