package snapshot_test

import (
	"context"
	"net/netip"
	"sync"
	"testing"

	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// TestGeoIPCountryCache looks up addresses all over the small set's GeoIP
// database from several goroutines at once (run it with -race) and checks
// every answer against a plain decode of the record.
func TestGeoIPCountryCache(t *testing.T) {
	set, err := fixtures.ReadFS(fixtures.Small, "small")
	if err != nil {
		t.Fatal(err)
	}
	g, err := snapshot.ParseGeoIP(context.Background(), set.GeoIP)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := maxminddb.OpenBytes(set.GeoIP)
	if err != nil {
		t.Fatal(err)
	}
	var addrs []netip.Addr
	for first := range 256 {
		addrs = append(addrs, netip.AddrFrom4([4]byte{byte(first), 7, 7, 7}))
		addrs = append(addrs, netip.AddrFrom16([16]byte{0x20 + byte(first>>4), byte(first << 4), 0, 1, 15: 1}))
	}
	want := make([]string, len(addrs))
	found := 0
	for i, a := range addrs {
		if err := ref.Lookup(a).DecodePath(&want[i], "country", "iso_code"); err != nil {
			t.Fatal(err)
		}
		if want[i] != "" {
			found++
		}
	}
	if found < 50 {
		t.Fatalf("only %d of %d addresses have a country", found, len(addrs))
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 3 {
				for i, a := range addrs {
					if got := g.Country(a); got != want[i] {
						t.Errorf("Country(%s) = %q, want %q", a, got, want[i])
					}
				}
			}
		})
	}
	wg.Wait()
	if got := g.Country(netip.Addr{}); got != "" {
		t.Errorf("Country of the zero Addr = %q", got)
	}
}
