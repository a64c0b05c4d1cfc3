// Package snapshot reads MirrorManager's four input files and builds one
// immutable, indexed Snapshot that the request path can query without
// scanning: maps for directories and repositories, prefix tables for
// addresses, and interned host lists shared by the many directories that
// carry the same mirrors.
//
// A Snapshot is read-only once built and safe for any number of concurrent
// readers. It is assembled from four independent parts (Mirrors, GeoIP,
// Routes, Continents), one per input file, so that a reload can rebuild only
// the part whose file changed and reuse the others.
package snapshot

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"time"
)

// Paths names the four input files. Each builds one part of a Snapshot:
// the cache file the Mirrors, the GeoIP database the GeoIP, the global
// netblocks file the Routes (the ASN step's prefix→ASN table, which the
// snapshot's own HostNetblockCache, the host netblocks, is not), and the
// CSV the Continents. The field names follow the production server's
// flags (--cache, --geoip, --global_netblocks, --cccsv).
type Paths struct {
	Cache      string // the cache file: MirrorManager's protobuf MirrorList, mirrorlist_cache.proto
	GeoIP      string // the GeoIP2/GeoLite2 country database (.mmdb)
	Routes     string // the global netblocks file, the routes: "PREFIX ASN" per line
	Continents string // the country→continent CSV
}

// The inputs' usual file names: production's defaults, and how the demo
// data and the fixtures lay the four files out in one directory.
const (
	CacheFile      = "mirrorlist_cache.proto"
	GeoIPFile      = "GeoLite2-Country.mmdb"
	RoutesFile     = "global_netblocks.txt"
	ContinentsFile = "country_continent.csv"
)

// PathsIn returns the paths of the four inputs under their usual names in
// dir.
func PathsIn(dir string) Paths {
	return Paths{
		Cache:      filepath.Join(dir, CacheFile),
		GeoIP:      filepath.Join(dir, GeoIPFile),
		Routes:     filepath.Join(dir, RoutesFile),
		Continents: filepath.Join(dir, ContinentsFile),
	}
}

// Snapshot is everything a request is answered from. Build one with Load or
// Assemble; never modify it afterwards.
type Snapshot struct {
	mirrors    *Mirrors
	geoip      *GeoIP
	routes     *Routes
	continents *Continents

	// continentOf is the CSV table with the protobuf's
	// CountryContinentRedirectCache applied; byContinent lists, per
	// continent, its countries in code order.
	continentOf map[string]string
	byContinent map[string][]string

	stats Stats
}

// Stats summarises a loaded snapshot for logs, metrics and the reloader's
// sanity checks.
type Stats struct {
	Time        uint64 // the snapshot's creation time (seconds since the epoch)
	Directories int    // MirrorListCache entries
	Hosts       int    // distinct host ids seen anywhere
	HCUrls      int    // HCUrlCache entries
	RepoArches  int    // RepoArchToDirectoryName entries
	// DanglingRepoArches counts RepoArchToDirectoryName entries whose
	// directory has no entry. Production data has a few; a jump means
	// directories are missing, e.g. a snapshot truncated at a message
	// boundary, which drops the last (current) directories first.
	DanglingRepoArches int
	FileDirs           int           // FileDetailsCache directories
	HostPrefixes       int           // HostNetblockCache prefixes
	CountryPrefixes    int           // NetblockCountryCache prefixes
	Routes             int           // global netblock routes
	Countries          int           // countries with a continent
	UniqueLists        int           // interned host lists, country tables and carrier tables
	Warnings           []string      // inconsistencies that production data may contain (not fatal); the first few
	WarningCount       int           // how many inconsistencies there were in all
	LoadTime           time.Duration // wall time of Load (zero for Assemble alone)
}

// Load reads all four inputs, one after the other, and builds a Snapshot.
// Any input that cannot be read or fails validation makes Load fail with
// an error that names the file. (The server loads through the reload
// package, which reads the files concurrently and only those that
// changed.)
func Load(ctx context.Context, p Paths) (*Snapshot, error) {
	start := time.Now()
	m, err := LoadMirrors(ctx, p.Cache)
	if err != nil {
		return nil, err
	}
	r, err := LoadRoutes(ctx, p.Routes)
	if err != nil {
		return nil, err
	}
	g, err := LoadGeoIP(ctx, p.GeoIP)
	if err != nil {
		return nil, err
	}
	c, err := LoadContinents(p.Continents)
	if err != nil {
		return nil, err
	}
	s := Assemble(m, g, r, c)
	s.stats.LoadTime = time.Since(start)
	return s, nil
}

// Assemble joins four loaded parts into a Snapshot. The parts are shared,
// not copied: a reload that changed one file passes the current snapshot's
// other parts.
func Assemble(m *Mirrors, g *GeoIP, r *Routes, c *Continents) *Snapshot {
	s := &Snapshot{mirrors: m, geoip: g, routes: r, continents: c}
	s.continentOf = make(map[string]string, len(c.continentOf)+len(m.continentRedirects))
	for cc, cont := range c.continentOf {
		s.continentOf[cc] = cont
	}
	for cc, cont := range m.continentRedirects {
		s.continentOf[cc] = cont
	}
	s.byContinent = make(map[string][]string)
	for cc, cont := range s.continentOf {
		s.byContinent[cont] = append(s.byContinent[cont], cc)
	}
	for _, ccs := range s.byContinent {
		sortStrings(ccs)
	}
	s.stats = m.stats
	s.stats.Routes = r.count
	s.stats.Countries = len(s.continentOf)
	s.stats.Warnings = append(append(append([]string(nil), m.stats.Warnings...), r.warnings...), c.warnings...)
	s.stats.WarningCount += len(r.warnings) + len(c.warnings)
	return s
}

// Parts returns the four parts the snapshot was assembled from, for a
// reload that rebuilds only some of them.
func (s *Snapshot) Parts() (*Mirrors, *GeoIP, *Routes, *Continents) {
	return s.mirrors, s.geoip, s.routes, s.continents
}

// Stats returns the snapshot's summary.
func (s *Snapshot) Stats() Stats { return s.stats }

// Time returns the snapshot's creation time, seconds since the epoch, as
// the protobuf's Time field gives it.
func (s *Snapshot) Time() uint64 { return s.mirrors.time }

// Mirrors returns the part built from the cache file: directories,
// repositories, hosts and URLs.
func (s *Snapshot) Mirrors() *Mirrors { return s.mirrors }

// Continent returns the continent code of a country (upper-case code), after
// the snapshot's continent redirects.
func (s *Snapshot) Continent(cc string) (string, bool) {
	cont, ok := s.continentOf[cc]
	return cont, ok
}

// ContinentCountries returns the countries of a continent in code order. The
// slice is shared: do not modify it.
func (s *Snapshot) ContinentCountries(continent string) []string {
	return s.byContinent[continent]
}

// ClientCountry returns the country of a client address: that of the first
// NetblockCountryCache prefix (in snapshot order) containing it, else the
// GeoIP database's
// country.iso_code, else "". The address is unmapped and its zone dropped
// first, so that ::ffff:192.0.2.1 is looked up as 192.0.2.1.
func (s *Snapshot) ClientCountry(addr netip.Addr) string {
	addr = NormalizeAddr(addr)
	if cc, ok := s.mirrors.netblockCountry.Lookup(addr); ok {
		return cc
	}
	return s.geoip.Country(addr)
}

// ASN returns the autonomous system whose longest global netblock route
// contains addr.
func (s *Snapshot) ASN(addr netip.Addr) (uint32, bool) {
	return s.routes.Lookup(NormalizeAddr(addr))
}

// String describes the snapshot's counts for logs.
func (st Stats) String() string {
	return fmt.Sprintf("time=%d directories=%d hosts=%d hcurls=%d repoarches=%d routes=%d host_prefixes=%d country_prefixes=%d unique_lists=%d warnings=%d load=%s",
		st.Time, st.Directories, st.Hosts, st.HCUrls, st.RepoArches, st.Routes, st.HostPrefixes, st.CountryPrefixes, st.UniqueLists, st.WarningCount, st.LoadTime.Round(time.Millisecond))
}
