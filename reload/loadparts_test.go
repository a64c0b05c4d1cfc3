package reload

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// writeSet writes a set's four files into a new directory and returns
// their paths.
func writeSet(t *testing.T, s *fixtures.Set) snapshot.Paths {
	t.Helper()
	dir := t.TempDir()
	if err := s.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	return pathsIn(dir)
}

func TestLoadPartsAll(t *testing.T) {
	set := newSet(t)
	p := writeSet(t, set)
	got, err := LoadParts(context.Background(), p, nil, AllParts)
	if err != nil {
		t.Fatal(err)
	}
	want := statsOf(t, set)
	st := got.Stats()
	if !sameData(st, want) || st.Routes != want.Routes || st.Countries != want.Countries || st.WarningCount != want.WarningCount {
		t.Errorf("stats %v, want %v", st, want)
	}
}

// TestLoadPartsSome loads the cache file alone onto another snapshot:
// the other three parts are the base's own.
func TestLoadPartsSome(t *testing.T) {
	base := fixtures.TinySnapshot()
	p := writeSet(t, newSet(t))
	got, err := LoadParts(context.Background(), snapshot.Paths{Cache: p.Cache}, base, PartMirrors)
	if err != nil {
		t.Fatal(err)
	}
	m, g, r, c := got.Parts()
	_, bg, br, bc := base.Parts()
	if g != bg || r != br || c != bc {
		t.Error("the parts not loaded are not the base's")
	}
	if !sameData(m.Stats(), statsOf(t, newSet(t))) {
		t.Errorf("mirrors %v, want the small set's", m.Stats())
	}
	if _, err := LoadParts(context.Background(), p, nil, PartMirrors); err == nil {
		t.Error("LoadParts of one part without a base: no error")
	}
}

// TestLoadPartsRefusals: each bad input fails as a build fails, with a
// *FileError naming the file and its part.
func TestLoadPartsRefusals(t *testing.T) {
	tests := []struct {
		name string
		part Parts
		file string
		make func(t *testing.T, path string)
	}{
		{"missing", PartGeoIP, fixtures.GeoIPFile, func(t *testing.T, path string) { mustRemove(t, path) }},
		{"named pipe", PartRoutes, fixtures.RoutesFile, func(t *testing.T, path string) {
			mustRemove(t, path)
			if err := syscall.Mkfifo(path, 0o644); err != nil {
				t.Skip("no named pipes:", err)
			}
		}},
		{"cut short", PartMirrors, fixtures.CacheFile, func(t *testing.T, path string) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data[:len(data)-7], 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"empty", PartContinents, fixtures.ContinentsFile, func(t *testing.T, path string) {
			if err := os.WriteFile(path, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeSet(t, newSet(t))
			path := filepath.Join(filepath.Dir(p.Cache), tt.file)
			tt.make(t, path)
			_, err := LoadParts(context.Background(), p, nil, AllParts)
			var fe *FileError
			if !errors.As(err, &fe) || fe.Part != tt.part || fe.Path != path {
				t.Fatalf("error %v, want a *FileError of %s for %s", err, tt.part, path)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
		})
	}
}

func mustRemove(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

// TestCheckShrink: the small set after the tiny one is no shrink; the
// tiny set's cache file after the small one's loses most directories and
// hosts, which is refused only when the mirrors part is compared.
func TestCheckShrink(t *testing.T) {
	tiny := fixtures.TinySnapshot()
	small, err := newSet(t).Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := snapshot.Paths{Cache: "/new/cache", GeoIP: "/new/geoip", Routes: "/new/routes", Continents: "/new/csv"}
	if err := CheckShrink(tiny, small, AllParts, p); err != nil {
		t.Errorf("small after tiny: %v", err)
	}
	_, g, r, c := small.Parts()
	next := snapshot.Assemble(tiny.Mirrors(), g, r, c)
	err = CheckShrink(small, next, AllParts, p)
	var se *ShrinkError
	if !errors.As(err, &se) {
		t.Fatalf("tiny cache after small: %v, want a *ShrinkError", err)
	}
	if len(se.Shrunk) != 2 {
		t.Errorf("shrinkages %+v, want directories and hosts", se.Shrunk)
	}
	for _, s := range se.Shrunk {
		if s.Part != PartMirrors || s.Path != p.Cache {
			t.Errorf("shrinkage %+v, want one of the mirrors part named %s", s, p.Cache)
		}
	}
	if err := CheckShrink(small, next, AllParts&^PartMirrors, p); err != nil {
		t.Errorf("tiny cache after small, mirrors not compared: %v", err)
	}
}
