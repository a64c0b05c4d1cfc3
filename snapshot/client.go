package snapshot

import (
	"net/netip"
	"slices"
)

// ClientFacts is what a snapshot knows of a client address, with the
// entry behind each fact, for an operator asking why an answer is what it
// is. The request path asks ClientCountry, ASN and NetblockHosts instead.
type ClientFacts struct {
	// Country is the client country as ClientCountry gives it ("" for
	// none), from the NetblockCountryCache prefix CountryPrefix when
	// FromNetblock, else from the GeoIP database's network.
	Country       string
	CountryPrefix netip.Prefix
	FromNetblock  bool
	// GeoIPCountry and GeoIPNetwork are the GeoIP database's answer, even
	// when NetblockCountryCache overrides it.
	GeoIPCountry string
	GeoIPNetwork netip.Prefix
	// Continent is Country's continent ("" for none); ContinentRedirect
	// says that CountryContinentRedirectCache gave it, not the CSV.
	Continent         string
	ContinentRedirect bool
	// ASN is that of the longest global netblock route containing the
	// client (HasRoute), and RouteFirst to RouteLast the addresses around
	// the client that share it (see Routes.LookupRange).
	ASN                   uint32
	HasRoute              bool
	RouteFirst, RouteLast netip.Addr
	// Netblocks are the HostNetblockCache prefixes that contain the
	// client, longest first, with their hosts (shared: do not modify).
	Netblocks []HostNetblock
}

// HostNetblock is a HostNetblockCache prefix and its hosts.
type HostNetblock struct {
	Prefix netip.Prefix
	Hosts  []HostRef
}

// ClientFacts looks addr up in every table that the selection of mirrors
// consults for a client.
func (s *Snapshot) ClientFacts(addr netip.Addr) ClientFacts {
	addr = NormalizeAddr(addr)
	var f ClientFacts
	if !addr.IsValid() {
		return f
	}
	f.GeoIPNetwork, f.GeoIPCountry = s.geoip.Network(addr)
	f.Country, f.CountryPrefix = f.GeoIPCountry, f.GeoIPNetwork
	if pfx, cc, ok := s.mirrors.netblockCountry.LookupPrefixLPM(netip.PrefixFrom(addr, addr.BitLen())); ok {
		f.Country, f.CountryPrefix, f.FromNetblock = cc, pfx, true
	}
	f.Continent, _ = s.Continent(f.Country)
	_, f.ContinentRedirect = s.mirrors.continentRedirects[f.Country]
	f.RouteFirst, f.RouteLast, f.ASN, f.HasRoute = s.routes.LookupRange(addr)
	s.mirrors.NetblockHosts(addr, func(bits int, hosts []HostRef) {
		f.Netblocks = append(f.Netblocks, HostNetblock{Prefix: netip.PrefixFrom(addr, bits).Masked(), Hosts: hosts})
	})
	slices.SortStableFunc(f.Netblocks, func(a, b HostNetblock) int { return b.Prefix.Bits() - a.Prefix.Bits() })
	return f
}

// LookupRange is Lookup with the addresses around addr that share its
// route's ASN, first to last. The table keeps ranges, not the routes'
// prefixes: the range is the route's prefix, or a part of it where a
// longer route cuts it, or several routes of the same ASN that adjoin.
func (r *Routes) LookupRange(addr netip.Addr) (first, last netip.Addr, asn uint32, ok bool) {
	return r.table.lookupRange(addr)
}

// Network returns the GeoIP database's network containing addr and its
// country.iso_code ("" when the database has none for it).
func (g *GeoIP) Network(addr netip.Addr) (netip.Prefix, string) {
	res := g.reader.Lookup(addr)
	if res.Err() != nil || !res.Found() {
		return netip.Prefix{}, ""
	}
	var cc string
	if err := res.DecodePath(&cc, "country", "iso_code"); err != nil {
		return res.Prefix(), ""
	}
	return res.Prefix(), cc
}
