package snapshot_test

import (
	"context"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	mm "github.com/mirrorlist-go/mirrorlist-server/proto"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

func TestLoadMinimal(t *testing.T) {
	s, err := snapshot.Load(context.Background(), goodInputs(t).write(t))
	if err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Directories != 1 || st.Hosts != 2 || st.HCUrls != 2 || st.Routes != 2 || st.RepoArches != 1 || st.WarningCount != 0 {
		t.Errorf("stats = %+v", st)
	}
	if s.Time() != 1732480000 {
		t.Errorf("Time = %d", s.Time())
	}
	m := s.Mirrors()
	dir, ok := m.RepoArch("fedora-41", "x86_64")
	if !ok || dir != "pub/fedora/41/x86_64" {
		t.Fatalf("RepoArch = %q, %v", dir, ok)
	}
	d := m.Directory(dir)
	if d == nil || d.Subpath != "fedora/41/x86_64" {
		t.Fatalf("Directory = %+v", d)
	}
	if got := len(d.Global()); got != 2 {
		t.Errorf("Global has %d hosts", got)
	}
	de := d.ByCountry("DE")
	if len(de) != 1 || m.Host(de[0]).ID != 1 {
		t.Errorf("ByCountry(DE) = %v", de)
	}
	urls, ok := d.URLs(de[0])
	if !ok || len(urls) != 1 || m.URL(urls[0]) != "https://a.example.org/pub" {
		t.Errorf("URLs = %v, %v", urls, ok)
	}
	if cc := s.ClientCountry(netip.MustParseAddr("81.2.3.4")); cc != "DE" {
		t.Errorf("ClientCountry = %q", cc)
	}
	if asn, ok := s.ASN(netip.MustParseAddr("2001:7c0::1")); !ok || asn != 553 {
		t.Errorf("ASN = %d, %v", asn, ok)
	}
	if cont, ok := s.Continent("FR"); !ok || cont != "EU" {
		t.Errorf("Continent(FR) = %q, %v", cont, ok)
	}
}

// TestPackedAndUnpacked checks that repeated int64 fields decode the same
// whether the writer packed them (proto3 style) or not (proto2 writers,
// MirrorManager's among them).
func TestPackedAndUnpacked(t *testing.T) {
	unpacked := marshal(t, minimalList())
	// Rebuild the directory message with Global written packed.
	l := minimalList()
	dir := l.MirrorListCache[0]
	l.MirrorListCache = nil
	global := dir.Global
	dir.Global = nil
	dirBytes := marshal(t, dir)
	var packed []byte
	for _, id := range global {
		packed = protowire.AppendVarint(packed, uint64(id))
	}
	dirBytes = protowire.AppendTag(dirBytes, 2, protowire.BytesType)
	dirBytes = protowire.AppendBytes(dirBytes, packed)
	packedFile := marshal(t, l)
	packedFile = protowire.AppendTag(packedFile, 16, protowire.BytesType)
	packedFile = protowire.AppendBytes(packedFile, dirBytes)

	for name, data := range map[string][]byte{"unpacked": unpacked, "packed": packedFile} {
		m, err := snapshot.BuildMirrors(context.Background(), data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		d := m.Directory("pub/fedora/41/x86_64")
		var ids []int64
		for _, h := range d.Global() {
			ids = append(ids, m.Host(h).ID)
		}
		if len(ids) != 2 || ids[0] == ids[1] {
			t.Errorf("%s: Global ids = %v", name, ids)
		}
	}
	if string(unpacked) == string(packedFile) {
		t.Fatal("test is void: both encodings are the same bytes")
	}
}

func TestLoadRejects(t *testing.T) {
	noDirs := minimalList()
	noDirs.MirrorListCache = nil
	noTime := minimalList()
	noTime.Time = nil
	noTimeBytes, err := proto.MarshalOptions{AllowPartial: true}.Marshal(noTime)
	if err != nil {
		t.Fatal(err)
	}
	noDirsBytes := marshal(t, noDirs)
	asnDB := mmdb(t, "GeoLite2-ASN")
	good := goodInputs(t)
	full := good.cache
	tests := []struct {
		name   string
		modify func(*inputs)
		want   []string // substrings of the error
	}{
		{"empty cache", func(in *inputs) { in.cache = nil }, []string{"mirrorlist_cache.proto", "empty"}},
		{"garbage cache", func(in *inputs) { in.cache = []byte("\xff\xff\xff\xff not protobuf") }, []string{"mirrorlist_cache.proto"}},
		{"cache cut mid-field", func(in *inputs) { in.cache = full[:len(full)-3] }, []string{"mirrorlist_cache.proto", "runs past the end"}},
		{"cache cut inside a tag", func(in *inputs) { in.cache = append(append([]byte{}, full...), 0x82) }, []string{"mirrorlist_cache.proto", "unexpected EOF"}},
		{"cache with a length past the end", func(in *inputs) { in.cache = append(append([]byte{}, full...), 0x82, 0x01, 0xff, 0xff, 0x03) }, []string{"mirrorlist_cache.proto", "past the end"}},
		{"cache with a group", func(in *inputs) { in.cache = append(append([]byte{}, full...), 0x0b) }, []string{"mirrorlist_cache.proto", "wire type"}},
		{"no directories", func(in *inputs) { in.cache = noDirsBytes }, []string{"mirrorlist_cache.proto", "no directories"}},
		{"no time", func(in *inputs) { in.cache = noTimeBytes }, []string{"mirrorlist_cache.proto", "Time"}},
		{"empty mmdb", func(in *inputs) { in.geoip = nil }, []string{"GeoLite2-Country.mmdb", "empty"}},
		{"garbage mmdb", func(in *inputs) { in.geoip = []byte("this is not a MaxMind database") }, []string{"GeoLite2-Country.mmdb"}},
		{"asn mmdb", func(in *inputs) { in.geoip = asnDB }, []string{"GeoLite2-Country.mmdb", "not a country database"}},
		{"empty netblocks", func(in *inputs) { in.netblocks = nil }, []string{"global_netblocks.txt", "empty"}},
		{"netblocks without routes", func(in *inputs) { in.netblocks = []byte("junk\n0.0.0.0/0 1\n::/0 2\n") }, []string{"global_netblocks.txt", "no usable route"}},
		{"empty csv", func(in *inputs) { in.continents = nil }, []string{"country_continent.csv", "empty"}},
		{"csv without countries", func(in *inputs) { in.continents = []byte("\"iso 3166 country\",\"continent code\"\nGermany,EU\n") }, []string{"country_continent.csv", "no usable line"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := good
			tt.modify(&in)
			_, err := snapshot.Load(context.Background(), in.write(t))
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		p := good.write(t)
		if err := os.Remove(p.Routes); err != nil {
			t.Fatal(err)
		}
		_, err := snapshot.Load(context.Background(), p)
		if err == nil || !strings.Contains(err.Error(), "global_netblocks.txt") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestWarnings(t *testing.T) {
	l := minimalList()
	l.RepoArchToDirectoryName = append(l.RepoArchToDirectoryName,
		&mm.StringStringMap{Key: proto.String("epel-9+x86_64"), Value: proto.String("pub/epel/9/x86_64")},
		&mm.StringStringMap{Key: proto.String("fedora-41+x86_64"), Value: proto.String("pub/fedora/41/x86_64")})
	l.MirrorListCache[0].ByHostId[0].Value = append(l.MirrorListCache[0].ByHostId[0].Value, 99)
	m := buildMirrors(t, l)
	st := m.Stats()
	if st.WarningCount != 3 {
		t.Fatalf("WarningCount = %d, want 3: %q", st.WarningCount, st.Warnings)
	}
	for _, want := range []string{"hcurl id 99", "duplicate key \"fedora-41+x86_64\"", "epel-9+x86_64"} {
		found := false
		for _, w := range st.Warnings {
			found = found || strings.Contains(w, want)
		}
		if !found {
			t.Errorf("no warning mentions %q: %q", want, st.Warnings)
		}
	}
}

// TestWarningsInKeyOrder: the warnings of repositories and file details
// without a directory come in key order, whatever the maps' order, so
// that one file always gives the same first few.
func TestWarningsInKeyOrder(t *testing.T) {
	l := minimalList()
	for _, key := range []string{"c+x86_64", "a+x86_64", "d+x86_64", "b+x86_64"} {
		l.RepoArchToDirectoryName = append(l.RepoArchToDirectoryName, &mm.StringStringMap{Key: proto.String(key), Value: proto.String("pub/" + key)})
	}
	for _, dir := range []string{"pub/z", "pub/y", "pub/x"} {
		l.FileDetailsCache = append(l.FileDetailsCache, &mm.FileDetailsCacheDirectoryType{Directory: proto.String(dir)})
	}
	want := []string{
		`RepoArchToDirectoryName: a+x86_64 → "pub/a+x86_64" has no directory entry`,
		`RepoArchToDirectoryName: b+x86_64 → "pub/b+x86_64" has no directory entry`,
		`RepoArchToDirectoryName: c+x86_64 → "pub/c+x86_64" has no directory entry`,
		`RepoArchToDirectoryName: d+x86_64 → "pub/d+x86_64" has no directory entry`,
		`FileDetailsCache: directory "pub/x" has no directory entry`,
		`FileDetailsCache: directory "pub/y" has no directory entry`,
		`FileDetailsCache: directory "pub/z" has no directory entry`,
	}
	for range 5 {
		if got := buildMirrors(t, l).Stats().Warnings; !slices.Equal(got, want) {
			t.Fatalf("warnings %q, want %q", got, want)
		}
	}
}

func TestParseRoutes(t *testing.T) {
	data := []byte("10.0.0.0/8 1\n10.1.0.0/16 2\n# comment\n0.0.0.0/0 9\n2001:07c0::/29 553\n10.1.2.3 3\nbad line here\n10.2.0.0/16 notanumber\n")
	r, err := snapshot.ParseRoutes(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 4 {
		t.Errorf("Len = %d, want 4", r.Len())
	}
	for addr, want := range map[string]uint32{"10.9.9.9": 1, "10.1.9.9": 2, "10.1.2.3": 3, "2001:7c7:ffff::1": 553} {
		if got, ok := r.Lookup(netip.MustParseAddr(addr)); !ok || got != want {
			t.Errorf("Lookup(%s) = %d, %v; want %d", addr, got, ok, want)
		}
	}
	if _, ok := r.Lookup(netip.MustParseAddr("192.0.2.1")); ok {
		t.Error("Lookup outside every route found one: the /0 was not skipped")
	}
}

// TestNetblockCountryFirstMatch checks protocol.md's rule for
// NetblockCountryCache: the first prefix in snapshot order that contains
// the address gives its country, not the longest. A prefix inside an
// earlier one (a duplicate included) never decides and is warned about.
func TestNetblockCountryFirstMatch(t *testing.T) {
	l := minimalList()
	for _, e := range [][2]string{
		{"10.0.0.0/8", "aa"},      // first: decides all of 10/8
		{"10.1.0.0/16", "bb"},     // inside 10/8: never used
		{"172.16.1.0/24", "cc"},   // first for 172.16.1/24
		{"172.16.0.0/12", "dd"},   // decides the rest of 172.16/12
		{"172.16.1.0/24", "ee"},   // duplicate: the first one wins
		{"2001:db8::/32", "ff"},   // IPv6 the same way
		{"2001:db8:1::/48", "gg"}, // inside: never used
	} {
		l.NetblockCountryCache = append(l.NetblockCountryCache, &mm.StringStringMap{Key: proto.String(e[0]), Value: proto.String(e[1])})
	}
	m := buildMirrors(t, l)
	s := snapshot.Assemble(m, must(snapshot.ParseGeoIP(context.Background(), mmdb(t, "GeoLite2-Country"))),
		must(snapshot.ParseRoutes(context.Background(), []byte("81.0.0.0/8 3320\n"))), must(snapshot.ParseContinents([]byte("DE,EU\n"))))
	for addr, want := range map[string]string{
		"10.1.2.3":          "AA",
		"10.200.0.1":        "AA",
		"172.16.1.9":        "CC",
		"172.16.2.9":        "DD",
		"::ffff:172.16.1.9": "CC",
		"2001:db8:1::1":     "FF",
	} {
		if got := s.ClientCountry(netip.MustParseAddr(addr)); got != want {
			t.Errorf("ClientCountry(%s) = %q, want %q", addr, got, want)
		}
	}
	st := s.Stats()
	if st.CountryPrefixes != 4 {
		t.Errorf("CountryPrefixes = %d, want the 4 that can decide", st.CountryPrefixes)
	}
	for _, pfx := range []string{"10.1.0.0/16", "172.16.1.0/24", "2001:db8:1::/48"} {
		if !slices.ContainsFunc(st.Warnings, func(w string) bool { return strings.Contains(w, pfx+" is inside an earlier prefix") }) {
			t.Errorf("no warning about %s: %q", pfx, st.Warnings)
		}
	}
}
