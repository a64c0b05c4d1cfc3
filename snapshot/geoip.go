package snapshot

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2"
)

// GeoIP is the part of a Snapshot built from the GeoIP2 country database.
//
// The whole file is read into memory rather than mmapped: operators rewrite
// these files in place, and a mapped file truncated or rewritten under a
// running process kills it with SIGBUS.
type GeoIP struct {
	reader *maxminddb.Reader
}

// LoadGeoIP reads the GeoIP2/GeoLite2 country database at path.
func LoadGeoIP(path string) (*GeoIP, error) {
	data, err := readNonEmpty(path)
	if err != nil {
		return nil, err
	}
	g, err := ParseGeoIP(data)
	if err != nil {
		return nil, fmt.Errorf("geoip %s: %w", path, err)
	}
	return g, nil
}

// ParseGeoIP opens a database held in memory; it keeps data, which the
// caller must not modify afterwards. Databases that are not of a country
// type (GeoIP2-Country, GeoLite2-Country, or a City database, which carries
// the same country record) are refused.
func ParseGeoIP(data []byte) (*GeoIP, error) {
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
	return &GeoIP{reader: r}, nil
}

// Country returns addr's country.iso_code, or "" when the database has none
// or the record cannot be decoded.
func (g *GeoIP) Country(addr netip.Addr) string {
	var cc string
	if err := g.reader.Lookup(addr).DecodePath(&cc, "country", "iso_code"); err != nil {
		return ""
	}
	return cc
}
