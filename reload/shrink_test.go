package reload

import (
	"bytes"
	"errors"
	"net"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

func TestShrinkRules(t *testing.T) {
	r, err := New(Config{Paths: pathsIn("/data"), Holder: new(snapshot.Holder)})
	if err != nil {
		t.Fatal(err)
	}
	cur := sizes{directories: 40000, hosts: 880, repoArches: 1291, dangling: 3, networks: 500000, routes: 732483, countries: 250}
	tests := []struct {
		name   string
		todo   Parts
		next   func(s *sizes)
		refuse string // the file named, "" if published
	}{
		{"same", AllParts, func(*sizes) {}, ""},
		{"grew", AllParts, func(s *sizes) { s.directories, s.hosts, s.routes = 41000, 900, 800000 }, ""},
		{"exactly half the directories", AllParts, func(s *sizes) { s.directories = 20000 }, ""},
		{"under half the directories", AllParts, func(s *sizes) { s.directories = 19999 }, fixtures.CacheFile},
		{"under half the hosts", AllParts, func(s *sizes) { s.hosts = 439 }, fixtures.CacheFile},
		{"fewer dangling", AllParts, func(s *sizes) { s.dangling = 0 }, ""},
		{"1% more dangling", AllParts, func(s *sizes) { s.dangling = 3 + 12 }, ""},
		{"over 1% more dangling", AllParts, func(s *sizes) { s.dangling = 3 + 13 }, fixtures.CacheFile},
		{"5 more dangling of few repositories", AllParts, func(s *sizes) { s.repoArches, s.dangling = 124, 3+5 }, ""},
		{"6 more dangling of few repositories", AllParts, func(s *sizes) { s.repoArches, s.dangling = 124, 3+6 }, fixtures.CacheFile},
		{"half the routes, rounded up", AllParts, func(s *sizes) { s.routes = 366242 }, ""},
		{"under half the routes", AllParts, func(s *sizes) { s.routes = 366241 }, fixtures.RoutesFile},
		{"1% of the routes", PartRoutes, func(s *sizes) { s.routes = 8269 }, fixtures.RoutesFile},
		{"1% of the routes, routes not rebuilt", PartMirrors, func(s *sizes) { s.routes = 8269 }, ""},
		{"under half the networks", PartGeoIP, func(s *sizes) { s.networks = 249999 }, fixtures.GeoIPFile},
		{"under half the countries", PartContinents, func(s *sizes) { s.countries = 124 }, fixtures.ContinentsFile},
		{"half the countries", PartContinents, func(s *sizes) { s.countries = 125 }, ""},
	}
	for _, tt := range tests {
		next := cur
		tt.next(&next)
		err := shrinkError(cur, next, tt.todo, r.inputs)
		var se *ShrinkError
		refused := errors.As(err, &se)
		if refused != (tt.refuse != "") {
			t.Errorf("%s: %v, want refused %v", tt.name, err, tt.refuse != "")
			continue
		}
		if refused && (len(se.Shrunk) != 1 || filepath.Base(se.Shrunk[0].Path) != tt.refuse) {
			t.Errorf("%s: %v, want one count of %s", tt.name, err, tt.refuse)
		}
	}
}

// TestShrinkGuards replaces one input with a valid file that lost most
// of its content: each is refused, naming the file and both counts, and
// the old snapshot keeps serving; with AllowShrink, each is published.
func TestShrinkGuards(t *testing.T) {
	old := newSet(t)
	tests := []struct {
		name, file string
		data       []byte
		what       string // the count the refusal names
	}{
		{"routes cut to 1%", fixtures.RoutesFile, everyNthLine(old.Routes, 100), "routes"},
		{"GeoIP database of one network", fixtures.GeoIPFile, oneNetworkDB(t), "networks"},
		{"continents cut to a tenth", fixtures.ContinentsFile, everyNthLine(old.Continents, 10), "countries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, dir := newDirEnv(t, old, nil)
			served := e.holder.Current()
			writeRsync(t, dir, tt.file, tt.data)
			res := e.nextResult(1)
			var se *ShrinkError
			if res.Outcome != Refused || !errors.As(res.Err, &se) {
				t.Fatalf("outcome %v (%v), want refused by the shrink guard", res.Outcome, res.Err)
			}
			s := se.Shrunk[0]
			if len(se.Shrunk) != 1 || s.Path != filepath.Join(dir, tt.file) || s.What != tt.what || s.New*2 >= s.Served {
				t.Errorf("refusal %+v, want one of %s's %s", se.Shrunk, tt.file, tt.what)
			}
			mustContain(t, res.Err, filepath.Join(dir, tt.file), strconv.Itoa(s.New)+" "+tt.what, strconv.Itoa(s.Served))
			if e.holder.Current() != served {
				t.Error("the refused snapshot is served")
			}
			if st := e.r.Status(); st.LastOutcome != Refused || st.Refusals != 1 {
				t.Errorf("status %+v", st)
			}
		})
		t.Run(tt.name+", allowed", func(t *testing.T) {
			e, dir := newDirEnv(t, old, func(c *Config) { c.AllowShrink = true })
			writeRsync(t, dir, tt.file, tt.data)
			if res := e.nextResult(1); res.Outcome != Reloaded {
				t.Fatalf("outcome %v (%v), want reloaded", res.Outcome, res.Err)
			}
		})
	}
}

// everyNthLine keeps one line in n of data.
func everyNthLine(data []byte, n int) []byte {
	var out []byte
	for i, line := range bytes.SplitAfter(data, []byte("\n")) {
		if i%n == 0 {
			out = append(out, line...)
		}
	}
	return out
}

// oneNetworkDB is a valid GeoLite2-Country database with a single
// network.
func oneNetworkDB(t *testing.T) []byte {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-Country", RecordSize: 24})
	if err != nil {
		t.Fatal(err)
	}
	_, network, _ := net.ParseCIDR("8.0.0.0/8")
	if err := tree.Insert(network, mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String("US")}}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
