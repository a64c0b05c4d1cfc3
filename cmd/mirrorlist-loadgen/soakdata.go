package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
)

// soakFiles are the versions of the four inputs a soak swaps in: two good
// sets that differ only in the protobuf's Time, and one bad version of
// three of the inputs.
type soakFiles struct {
	good      [2]*fixtures.Set // good[0] is the data set, good[1] the same with a later Time
	goodTimes [2]uint64
	badCache  []byte // the protobuf cut short
	badGeoIP  []byte // the GeoIP database cut in half
	badRoutes []byte // an empty netblocks file
}

// newSoakFiles derives the versions from a good set whose protobuf has
// Time t.
//
// The second good protobuf is the first with one more Time field
// appended: in the protobuf encoding the last occurrence of a scalar field
// wins, so it is the same snapshot made a day later, without re-encoding
// 66 MB. The bad protobuf is cut at a third of its length, inside a
// record (it fails to decode) or, by a small chance, at a boundary (the
// directories come last, so it has lost most of them and the shrink guard
// refuses it).
func newSoakFiles(set *fixtures.Set, t uint64) *soakFiles {
	later := *set
	later.Snapshot = protowire.AppendTag(append([]byte(nil), set.Snapshot...), 1, protowire.VarintType)
	later.Snapshot = protowire.AppendVarint(later.Snapshot, t+86400)
	return &soakFiles{
		good:      [2]*fixtures.Set{set, &later},
		goodTimes: [2]uint64{t, t + 86400},
		badCache:  set.Snapshot[:len(set.Snapshot)/3],
		badGeoIP:  set.GeoIP[:len(set.GeoIP)/2],
		badRoutes: []byte{},
	}
}

// A soakStep is one replacement of the inputs.
type soakStep struct {
	name string
	good bool
	// files maps input file names to their new contents.
	files map[string][]byte
}

// step returns the i-th replacement (from 0): bad and good alternate,
// the bad ones cycling through the protobuf, the GeoIP database and the
// netblocks, the good ones through the later and the original set. A
// good step puts back every file of its set, so it also repairs what the
// bad step before it broke.
func (f *soakFiles) step(i int) soakStep {
	if i%2 == 0 {
		switch (i / 2) % 3 {
		case 0:
			return soakStep{name: "bad: protobuf cut short", files: map[string][]byte{fixtures.CacheFile: f.badCache}}
		case 1:
			return soakStep{name: "bad: GeoIP database cut in half", files: map[string][]byte{fixtures.GeoIPFile: f.badGeoIP}}
		}
		return soakStep{name: "bad: empty netblocks", files: map[string][]byte{fixtures.RoutesFile: f.badRoutes}}
	}
	v := (i/2 + 1) % 2 // 1, 0, 1, 0, ...: the first good step changes the Time
	set := f.good[v]
	return soakStep{
		name: fmt.Sprintf("good: Time %d", f.goodTimes[v]),
		good: true,
		files: map[string][]byte{
			fixtures.CacheFile:      set.Snapshot,
			fixtures.GeoIPFile:      set.GeoIP,
			fixtures.RoutesFile:     set.Routes,
			fixtures.ContinentsFile: set.Continents,
		},
	}
}

// inputDir is the directory the soak's server reads, and what each of its
// files holds now.
type inputDir struct {
	dir     string
	current map[string][]byte
}

// newInputDir writes set into dir.
func newInputDir(dir string, set *fixtures.Set) (*inputDir, error) {
	if err := set.WriteDir(dir); err != nil {
		return nil, err
	}
	return &inputDir{dir: dir, current: map[string][]byte{
		fixtures.CacheFile:      set.Snapshot,
		fixtures.GeoIPFile:      set.GeoIP,
		fixtures.RoutesFile:     set.Routes,
		fixtures.ContinentsFile: set.Continents,
	}}, nil
}

// apply writes the files of s that differ from what is there, each the
// way rsync does: a temporary file in the same directory renamed over the
// old one. It returns how many files it replaced.
func (d *inputDir) apply(s soakStep) (int, error) {
	n := 0
	for name, data := range s.files {
		if cur, ok := d.current[name]; ok && sameBytes(cur, data) {
			continue
		}
		tmp := filepath.Join(d.dir, "."+name+".soak")
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			return n, err
		}
		if err := os.Rename(tmp, filepath.Join(d.dir, name)); err != nil {
			return n, err
		}
		d.current[name] = data
		n++
	}
	return n, nil
}

// sameBytes reports whether a and b are the same slice (the versions are
// shared, never copied) or equal.
func sameBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || &a[0] == &b[0] {
		return true
	}
	return string(a) == string(b)
}

// args returns the server flags naming the four inputs.
func (d *inputDir) args() []string {
	return []string{
		"-c", filepath.Join(d.dir, fixtures.CacheFile),
		"--geoip", filepath.Join(d.dir, fixtures.GeoIPFile),
		"-g", filepath.Join(d.dir, fixtures.RoutesFile),
		"--cccsv", filepath.Join(d.dir, fixtures.ContinentsFile),
	}
}

// protoTime returns the Time field of a cache file (the last one,
// as a decoder takes it) without decoding the rest.
func protoTime(data []byte) (uint64, error) {
	var t uint64
	found := false
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return 0, protowire.ParseError(n)
		}
		data = data[n:]
		if num == 1 && typ == protowire.VarintType {
			v, m := protowire.ConsumeVarint(data)
			if m < 0 {
				return 0, protowire.ParseError(m)
			}
			t, found = v, true
		}
		m := protowire.ConsumeFieldValue(num, typ, data)
		if m < 0 {
			return 0, protowire.ParseError(m)
		}
		data = data[m:]
	}
	if !found {
		return 0, errors.New("no Time field")
	}
	return t, nil
}
