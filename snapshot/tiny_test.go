package snapshot_test

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// ids turns refs into host ids, sorted, for comparison with the fixture's
// documented tables.
func ids(m *snapshot.Mirrors, refs []snapshot.HostRef) []int64 {
	out := m.HostIDs(refs)
	slices.Sort(out)
	return out
}

// The Tiny tests check the snapshot of the fixtures' hand-written tiny set
// against the truth that fixtures/tiny.go documents. fixtures.TinySnapshot
// builds it in memory; fixtures' TestBuildIsLoad checks that loading the
// set's files gives the same snapshot.

func TestTinyStats(t *testing.T) {
	st := fixtures.TinySnapshot().Stats()
	want := snapshot.Stats{Time: fixtures.TinyTime, Directories: 9, Hosts: 9, Routes: fixtures.TinyRoutes, RepoArches: 4}
	if st.Time != want.Time || st.Directories != want.Directories || st.Hosts != want.Hosts ||
		st.Routes != want.Routes || st.RepoArches != want.RepoArches {
		t.Errorf("stats = %v, want %v", st, want)
	}
	// The only warning is the skipped junk of the netblocks file.
	if st.WarningCount != 1 {
		t.Errorf("warnings = %q", st.Warnings)
	}
}

func TestTinyDirectories(t *testing.T) {
	m := fixtures.TinySnapshot().Mirrors()
	tests := []struct {
		dir     string
		subpath string
		global  []int64
		carries []int64
		de      []int64
	}{
		{fixtures.TinyDirTop, "", []int64{10, 11, 20, 30, 31, 32, 40}, []int64{10, 11, 20, 30, 31, 32, 40, 50}, []int64{10, 11}},
		{fixtures.TinyDirUpdates, "updates/41/Everything/x86_64", []int64{10, 20, 30, 31, 32, 40}, []int64{10, 20, 30, 31, 32, 40, 50}, []int64{10}},
		{fixtures.TinyDirSource, "releases/41/Everything/source/tree", []int64{10, 30}, []int64{10, 30, 50}, []int64{10}},
		{fixtures.TinyDirEPEL, "10.1/Everything/x86_64", []int64{10, 20, 30, 40}, []int64{10, 20, 30, 40, 50}, []int64{10}},
	}
	for _, tt := range tests {
		d := m.Directory(tt.dir)
		if d == nil {
			t.Fatalf("no directory %s", tt.dir)
		}
		if d.Subpath != tt.subpath {
			t.Errorf("%s: Subpath %q, want %q", tt.dir, d.Subpath, tt.subpath)
		}
		if got := ids(m, d.Global()); !slices.Equal(got, tt.global) {
			t.Errorf("%s: Global %v, want %v", tt.dir, got, tt.global)
		}
		if got := ids(m, d.ByCountry("DE")); !slices.Equal(got, tt.de) {
			t.Errorf("%s: ByCountry(DE) %v, want %v", tt.dir, got, tt.de)
		}
		var carries []snapshot.HostRef
		for r := range m.HostCount() {
			h := snapshot.HostRef(r)
			if d.Carries(h) {
				carries = append(carries, h)
			}
			if d.InGlobal(h) && !d.Carries(h) {
				t.Errorf("%s: host %d in Global but not in ByHostId", tt.dir, m.Host(h).ID)
			}
		}
		if got := ids(m, carries); !slices.Equal(got, tt.carries) {
			t.Errorf("%s: carriers %v, want %v", tt.dir, got, tt.carries)
		}
	}
	if m.Directory("pub/fedora/linux/nonexistent") != nil {
		t.Error("found a directory that does not exist")
	}
}

func TestTinyRepositories(t *testing.T) {
	m := fixtures.TinySnapshot().Mirrors()
	for _, tt := range []struct{ repo, arch, dir string }{
		{"fedora-41", "x86_64", fixtures.TinyDirOS},
		{"updates-released-f41", "x86_64", fixtures.TinyDirUpdates},
		{"fedora-source-41", "source", fixtures.TinyDirSource},
		{fixtures.TinyRepoRedirectTo, "x86_64", fixtures.TinyDirEPEL},
	} {
		if got, ok := m.RepoArch(tt.repo, tt.arch); !ok || got != tt.dir {
			t.Errorf("RepoArch(%s, %s) = %q, %v; want %q", tt.repo, tt.arch, got, ok, tt.dir)
		}
	}
	if _, ok := m.RepoArch("fedora-41", "aarch64"); ok {
		t.Error("RepoArch found fedora-41+aarch64")
	}
	if to, ok := m.RepoRedirect(fixtures.TinyRepoRedirectFrom); !ok || to != fixtures.TinyRepoRedirectTo {
		t.Errorf("RepoRedirect = %q, %v", to, ok)
	}
	if !m.RepoDisabled(fixtures.TinyRepoDisabled) || m.RepoDisabled(fixtures.TinyRepoNotDisabled) {
		t.Error("RepoDisabled wrong")
	}
	want := []string{"epel-10.1+x86_64", "fedora-41+x86_64", "fedora-source-41+source", "updates-released-f41+x86_64"}
	if got := m.RepoArchKeys(); !slices.Equal(got, want) {
		t.Errorf("RepoArchKeys = %q", got)
	}
	f := m.Directory(fixtures.TinyDirUpdatesRepodata).File("repomd.xml")
	if f == nil || len(f.Versions) != 3 || f.Versions[0].SHA256 == "" || f.Versions[0].Size == 0 {
		t.Errorf("updates repomd.xml = %+v", f)
	}
}

func TestTinyHosts(t *testing.T) {
	m := fixtures.TinySnapshot().Mirrors()
	byID := map[int64]*snapshot.Host{}
	for r := range m.HostCount() {
		h := m.Host(snapshot.HostRef(r))
		byID[h.ID] = h
	}
	for _, tt := range []struct {
		id      int64
		country string
		weight  int64
		allows  map[string]bool
	}{
		{fixtures.TinyHostDE1, "DE", 1000, map[string]bool{"DE": true, "FR": true}},
		{fixtures.TinyHostASN, "US", 1, nil}, // no bandwidth entry: weighs 1
		{fixtures.TinyHostAllowed, "US", 1, map[string]bool{"US": true, "CA": true, "DE": false, "N/A": false}},
		{fixtures.TinyHostCA, "CA", 200, nil}, // stored as "ca"
	} {
		h := byID[tt.id]
		if h == nil {
			t.Fatalf("no host %d", tt.id)
		}
		if h.Country != tt.country || h.Weight != tt.weight {
			t.Errorf("host %d: country %q weight %d, want %q %d", tt.id, h.Country, h.Weight, tt.country, tt.weight)
		}
		for cc, want := range tt.allows {
			if h.Allows(cc) != want {
				t.Errorf("host %d Allows(%s) = %v", tt.id, cc, !want)
			}
		}
	}
	// hcurls: host 31's URL keeps its trailing slash.
	d := m.Directory(fixtures.TinyDirOS)
	var hostASN snapshot.HostRef
	for r := range m.HostCount() {
		if m.Host(snapshot.HostRef(r)).ID == fixtures.TinyHostASN {
			hostASN = snapshot.HostRef(r)
		}
	}
	urls, ok := d.URLs(hostASN)
	if !ok || len(urls) != 1 || m.URL(urls[0]) != "https://asn-mirror.us.example.com/pub/fedora/linux/" {
		t.Errorf("host 31 URLs = %v %v", urls, ok)
	}
}

func TestTinyAddressLookups(t *testing.T) {
	s := fixtures.TinySnapshot()
	m := s.Mirrors()
	tests := []struct {
		addr      string
		country   string
		asn       uint32   // 0: no route
		netblocks []string // "bits:ids", longest first
	}{
		{fixtures.TinyAddrDE, "DE", 3320, nil},
		{fixtures.TinyAddrDE6, "DE", 3320, nil},
		{fixtures.TinyAddrDEMapped, "DE", 3320, nil},
		{fixtures.TinyAddrDE6to4, "DE", 0, nil},
		{fixtures.TinyAddrDENetblock, "DE", 680, []string{"24:[11]", "16:[50]"}},
		{fixtures.TinyAddrDEPrivate, "DE", 680, []string{"16:[50]"}},
		{fixtures.TinyAddrDE6Netblock, "DE", 680, []string{"32:[50]"}},
		{fixtures.TinyAddrFR6, "FR", 3215, nil},
		{fixtures.TinyAddrUSASN, "US", 7018, nil},
		{fixtures.TinyAddrUSASN6, "US", 7018, nil},
		{fixtures.TinyAddrCAOverride, "US", 812, nil}, // NetblockCountryCache beats GeoIP
		{fixtures.TinyAddrTRBare, "TR", 9121, []string{"32:[40]"}},
		{fixtures.TinyAddrTR, "TR", 9121, nil},
		{fixtures.TinyAddrUnknown, "", 0, nil},
		{fixtures.TinyAddrUnknown6, "", 0, nil},
		{"fe80::1%eth0", "", 0, nil},
	}
	for _, tt := range tests {
		addr := netip.MustParseAddr(tt.addr)
		if got := s.ClientCountry(addr); got != tt.country {
			t.Errorf("%s: country %q, want %q", tt.addr, got, tt.country)
		}
		asn, ok := s.ASN(addr)
		if (tt.asn != 0) != ok || asn != tt.asn {
			t.Errorf("%s: ASN %d %v, want %d", tt.addr, asn, ok, tt.asn)
		}
		var got []string
		m.NetblockHosts(addr, func(bits int, hosts []snapshot.HostRef) {
			got = append(got, fmt.Sprintf("%d:%v", bits, ids(m, hosts)))
		})
		slices.Sort(got)
		want := slices.Clone(tt.netblocks)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: netblocks %q, want %q", tt.addr, got, want)
		}
	}
	if got := m.ASNHosts(uint32(fixtures.TinyASN)); !slices.Equal(ids(m, got), []int64{fixtures.TinyHostASN}) {
		t.Errorf("ASNHosts = %v", got)
	}
}

func TestTinyContinents(t *testing.T) {
	s := fixtures.TinySnapshot()
	for cc, want := range map[string]string{"DE": "EU", "FR": "EU", "US": "NA", "CA": "NA", "TR": "EU", "JP": "AS"} {
		if got, ok := s.Continent(cc); !ok || got != want {
			t.Errorf("Continent(%s) = %q, %v; want %q", cc, got, ok, want)
		}
	}
	if _, ok := s.Continent("ZZ"); ok {
		t.Error("Continent(ZZ) found")
	}
	if got := s.ContinentCountries("EU"); !slices.Contains(got, "TR") || !slices.IsSorted(got) {
		t.Errorf("ContinentCountries(EU) = %q", got)
	}
	if got := s.ContinentCountries("AS"); slices.Contains(got, "TR") {
		t.Errorf("TR still in AS after the redirect: %q", got)
	}
}

// TestTinyEachCountry checks that EachCountry gives, in order, the countries
// of the list that ByCountry has hosts for, with those hosts.
func TestTinyEachCountry(t *testing.T) {
	s := fixtures.TinySnapshot()
	m := s.Mirrors()
	lists := [][]string{
		s.ContinentCountries("EU"), s.ContinentCountries("NA"),
		{"AA", "DE", "FR", "US", "ZZ"}, {"DE"}, {"ZZ"}, nil,
	}
	for _, dir := range []string{fixtures.TinyDirTop, fixtures.TinyDirUpdates, fixtures.TinyDirSource, fixtures.TinyDirEPEL} {
		d := m.Directory(dir)
		for _, ccs := range lists {
			var got, want []string
			d.EachCountry(ccs, func(cc string, hosts []snapshot.HostRef) {
				got = append(got, fmt.Sprint(cc, ids(m, hosts)))
			})
			for _, cc := range ccs {
				if hosts := d.ByCountry(cc); len(hosts) > 0 {
					want = append(want, fmt.Sprint(cc, ids(m, hosts)))
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: EachCountry(%q) gave %q, want %q", dir, ccs, got, want)
			}
		}
	}
}
