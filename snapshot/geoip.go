package snapshot

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"

	"github.com/oschwald/maxminddb-golang/v2"
)

// GeoIP is the part of a Snapshot built from the GeoIP2 country database.
//
// The whole file is read into memory rather than mmapped: operators rewrite
// these files in place, and a mapped file truncated or rewritten under a
// running process kills it with SIGBUS.
//
// Country decodes each distinct database record once: a country database
// has a few hundred records shared by all its networks, and decoding one
// costs a walk of the record and a string allocation per request.
type GeoIP struct {
	reader   *maxminddb.Reader
	networks int // networks that carry data, counted at load
	// countries maps a record's offset in the data section to its
	// country.iso_code. It is copied on write: readers never lock, and
	// the few hundred misses of a database's lifetime pay for the copy.
	countries atomic.Pointer[map[uintptr]string]
}

// maxCachedRecords bounds the country cache for a database that has far
// more records than a country database should.
const maxCachedRecords = 1 << 16

// LoadGeoIP reads the GeoIP2/GeoLite2 country database at path.
func LoadGeoIP(ctx context.Context, path string) (*GeoIP, error) {
	data, err := readNonEmpty(path)
	if err != nil {
		return nil, err
	}
	g, err := ParseGeoIP(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("geoip %s: %w", path, err)
	}
	return g, nil
}

// ParseGeoIP opens a database held in memory; it keeps data, which the
// caller must not modify afterwards. Databases that are not of a country
// type (GeoIP2-Country, GeoLite2-Country, or a City database, which carries
// the same country record) are refused. It counts the database's networks
// for the reloader's shrink guard, walking the whole search tree with a
// checkpoint every thousand networks.
func ParseGeoIP(ctx context.Context, data []byte) (*GeoIP, error) {
	r, err := maxminddb.OpenBytes(data)
	if err != nil {
		return nil, err
	}
	typ := r.Metadata.DatabaseType
	if !strings.Contains(typ, "Country") && !strings.Contains(typ, "City") {
		return nil, fmt.Errorf("database type %q is not a country database", typ)
	}
	// A corrupt search tree or data section often opens cleanly; one
	// lookup makes it show before the database is published.
	var probe string
	if err := r.Lookup(netip.MustParseAddr("8.8.8.8")).DecodePath(&probe, "country", "iso_code"); err != nil {
		return nil, fmt.Errorf("probe lookup: %w", err)
	}
	g := &GeoIP{reader: r}
	if g.networks, err = countNetworks(ctx, r); err != nil {
		return nil, err
	}
	g.countries.Store(new(map[uintptr]string))
	return g, nil
}

// countNetworks walks the search tree and counts the networks that carry
// data, up to the first that does not decode.
func countNetworks(ctx context.Context, r *maxminddb.Reader) (int, error) {
	n := 0
	for res := range r.Networks() {
		if n%1024 == 0 {
			if err := checkpoint(ctx); err != nil {
				return 0, err
			}
		}
		if res.Err() != nil {
			break
		}
		n++
	}
	return n, nil
}

// Networks returns the number of the database's networks that carry
// data: for the reloader's shrink guard.
func (g *GeoIP) Networks() int { return g.networks }

// Country returns addr's country.iso_code, or "" when the database has none
// or the record cannot be decoded.
func (g *GeoIP) Country(addr netip.Addr) string {
	res := g.reader.Lookup(addr)
	if res.Err() != nil || !res.Found() {
		return ""
	}
	off := res.Offset()
	if cc, ok := (*g.countries.Load())[off]; ok {
		return cc
	}
	var cc string
	if err := res.DecodePath(&cc, "country", "iso_code"); err != nil {
		return ""
	}
	g.remember(off, cc)
	return cc
}

// remember adds a decoded record's country to the cache, unless another
// goroutine did meanwhile or the cache is full.
func (g *GeoIP) remember(off uintptr, cc string) {
	for {
		old := g.countries.Load()
		if _, ok := (*old)[off]; ok || len(*old) >= maxCachedRecords {
			return
		}
		m := make(map[uintptr]string, len(*old)+1)
		for k, v := range *old {
			m[k] = v
		}
		m[off] = cc
		if g.countries.CompareAndSwap(old, &m) {
			return
		}
	}
}
