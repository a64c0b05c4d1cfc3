package snapshot_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// The listings are checked against the tiny set's documented tables.

func TestDirectoriesInNameOrder(t *testing.T) {
	m := fixtures.TinySnapshot().Mirrors()
	var names []string
	for _, d := range m.Directories() {
		names = append(names, d.Name)
	}
	want := []string{
		fixtures.TinyDirEPEL, fixtures.TinyDirEPELRepodata, fixtures.TinyDirTop,
		fixtures.TinyDirSource, fixtures.TinyDirSourceRepodata,
		fixtures.TinyDirOS, fixtures.TinyDirOSRepodata,
		fixtures.TinyDirUpdates, fixtures.TinyDirUpdatesRepodata,
	}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("Directories = %q, want %q", names, want)
	}
}

func TestASNsAndHostNetblocks(t *testing.T) {
	m := fixtures.TinySnapshot().Mirrors()
	var asns []string
	for asn, hosts := range m.ASNs() {
		asns = append(asns, fmt.Sprint(asn, ids(m, hosts)))
	}
	if want := []string{fmt.Sprint(fixtures.TinyASN, []int64{fixtures.TinyHostASN})}; !slices.Equal(asns, want) {
		t.Errorf("ASNs = %q, want %q", asns, want)
	}
	var blocks []string
	for pfx, hosts := range m.HostNetblocks() {
		blocks = append(blocks, fmt.Sprint(pfx, ids(m, hosts)))
	}
	want := []string{"80.10.0.0/16 [50]", "80.10.20.0/24 [11]", "88.1.2.3/32 [40]", "2a01:10::/32 [50]"}
	if !slices.Equal(blocks, want) {
		t.Errorf("HostNetblocks = %q, want %q", blocks, want)
	}
	// Stopping early is honoured.
	n := 0
	for range m.HostNetblocks() {
		n++
		break
	}
	if n != 1 {
		t.Errorf("HostNetblocks yielded %d after a break", n)
	}
}

func TestCountriesAllowed(t *testing.T) {
	m := fixtures.TinySnapshot().Mirrors()
	for i := range m.HostCount() {
		h := m.Host(snapshot.HostRef(i))
		ccs, restricted := h.CountriesAllowed()
		switch h.ID {
		case fixtures.TinyHostAllowed:
			if !restricted || !slices.Equal(ccs, []string{"CA", "US"}) {
				t.Errorf("host %d: CountriesAllowed = %q, %v; want [CA US], true", h.ID, ccs, restricted)
			}
		default:
			if restricted || ccs != nil {
				t.Errorf("host %d: CountriesAllowed = %q, %v; want none, false", h.ID, ccs, restricted)
			}
		}
	}
}

func TestDirectoryCountriesAndFileNames(t *testing.T) {
	m := fixtures.TinySnapshot().Mirrors()
	tests := []struct {
		dir       string
		countries []string
		files     []string
	}{
		{fixtures.TinyDirOS, []string{"CA", "DE", "FR", "US"}, nil},
		{fixtures.TinyDirSourceRepodata, []string{"DE", "US"}, []string{"repomd.xml"}},
		{fixtures.TinyDirEPELRepodata, []string{"CA", "DE", "FR", "US"}, []string{"repomd.xml", fixtures.TinyFileNoDetails}},
	}
	for _, tt := range tests {
		d := m.Directory(tt.dir)
		if got := d.Countries(); !slices.Equal(got, tt.countries) {
			t.Errorf("%s: Countries = %q, want %q", tt.dir, got, tt.countries)
		}
		if got := d.FileNames(); !slices.Equal(got, tt.files) {
			t.Errorf("%s: FileNames = %q, want %q", tt.dir, got, tt.files)
		}
	}
}

// TestAllCarriersIsCarriers walks every directory of the small set both
// ways.
func TestAllCarriersIsCarriers(t *testing.T) {
	set, err := fixtures.ReadFS(fixtures.Small, "small")
	if err != nil {
		t.Fatal(err)
	}
	s, err := set.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range s.Mirrors().Directories() {
		hosts, urls := d.Carriers()
		i := 0
		for h, u := range d.AllCarriers() {
			if i >= len(hosts) || h != hosts[i] || !slices.Equal(u, urls[i]) {
				t.Fatalf("%s: carrier %d is %d %v, Carriers has %v", d.Name, i, h, u, hosts)
			}
			i++
		}
		if i != len(hosts) {
			t.Fatalf("%s: %d carriers yielded, Carriers has %d", d.Name, i, len(hosts))
		}
	}
}
