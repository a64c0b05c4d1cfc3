package resolve

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// scratch is the working memory of one Resolve call. It lives in the Answer
// and keeps its capacity across calls, so a pooled Answer needs no new
// memory for it once warmed up.
type scratch struct {
	dir *snapshot.Directory // the directory being answered

	seen []uint64 // bitset over HostRef: hosts already in order

	order     []snapshot.HostRef // the chosen carriers, distinct, in answer order
	hits      []netblockHit      // the netblock group before sorting
	shuffle   shuffler           // memory of the weighted shuffle
	countries []string           // the requested countries, sorted and unique
	protos    []string           // protocol=, sorted and unique
	urls      []snapshot.URLRef  // backing store of metalink URL lists filtered by protocol=
	name      []byte             // a directory name being assembled
	buf       []byte             // a URL being assembled
}

// reset prepares sc for directory d of a snapshot with hosts hosts.
func (sc *scratch) reset(d *snapshot.Directory, hosts int) {
	sc.release()
	sc.seen = resetBits(sc.seen, hosts)
	sc.order, sc.hits, sc.urls = sc.order[:0], sc.hits[:0], sc.urls[:0]
	sc.dir = d
}

// release drops what sc holds of the last call's snapshot and request,
// keeping the memory.
func (sc *scratch) release() {
	sc.dir = nil
	clear(sc.countries)
	clear(sc.protos)
	sc.countries, sc.protos = sc.countries[:0], sc.protos[:0]
}

// resetBits returns a cleared bitset of n bits, reusing b's memory.
func resetBits(b []uint64, n int) []uint64 {
	words := (n + 63) / 64
	if cap(b) < words {
		return make([]uint64, words)
	}
	b = b[:words]
	clear(b)
	return b
}

func hasBit(b []uint64, h snapshot.HostRef) bool { return b[h/64]&(1<<(h%64)) != 0 }

func setBit(b []uint64, h snapshot.HostRef) { b[h/64] |= 1 << (h % 64) }

// urlsOf returns h's hcurls for the directory, and whether h carries it at
// all.
func (r *resolver) urlsOf(h snapshot.HostRef) ([]snapshot.URLRef, bool) { return r.sc.dir.URLs(h) }

// carries reports whether h has a ByHostId entry in the directory.
func (r *resolver) carries(h snapshot.HostRef) bool { return r.sc.dir.Carries(h) }

// private reports whether h is missing from the directory's Global list.
func (r *resolver) private(h snapshot.HostRef) bool { return !r.sc.dir.InGlobal(h) }

// netblockHit is a netblock group member with the length of the prefix
// that put it there and a random key that orders equal lengths.
type netblockHit struct {
	bits int
	key  uint64
	host snapshot.HostRef
}

// compareHits orders the longest prefix first, then by random key.
func compareHits(a, b netblockHit) int {
	if a.bits != b.bits {
		return b.bits - a.bits
	}
	return cmp.Compare(a.key, b.key)
}

// choose runs the selection steps of docs/protocol.md section 5, in order. Each
// step appends its group to sc.order and shuffles it there; a host already
// placed by an earlier group, or not carrying the directory, is skipped, so
// sc.order ends up as the answer's hosts in answer order.
func (r *resolver) choose() {
	sc, req, a := r.sc, r.req, r.a
	sc.reset(a.Dir, r.m.HostCount())
	if req.Country != "" {
		sc.countries = splitSortedUnique(sc.countries, req.Country)
	}
	if req.HasProto {
		sc.protos = splitSortedUnique(sc.protos, req.Protocol)
	}
	if len(sc.countries) == 0 && !req.NoNetblock {
		r.netblocks(req.Client)
		r.asn(req.Client)
	}
	r.clientCountry = r.s.ClientCountry(req.Client)
	if r.clientCountry == "" {
		r.clientCountry = "N/A"
	}
	a.ClientCountry = r.clientCountry
	if req.HasRepo && req.HasArch {
		a.Log, a.LogRepo, a.LogArch = true, r.logRepo, r.logArch
	}
	if len(sc.countries) > 0 {
		r.requestedCountries()
	}
	if !r.onlyCountry {
		r.geoip()
		r.continent()
	}
	r.global()
}

// netblocks is step 1: the hosts preferred for a HostNetblockCache prefix
// containing the client, longest prefix first.
func (r *resolver) netblocks(client netip.Addr) {
	r.begin(StepNetblocks)
	sc, rng := r.sc, r.rng
	r.m.NetblockHosts(client, func(bits int, hosts []snapshot.HostRef) {
		for _, h := range hosts {
			if r.carries(h) {
				sc.hits = append(sc.hits, netblockHit{bits: bits, key: rng.Uint64(), host: h})
			}
		}
	})
	if len(sc.hits) == 0 {
		return
	}
	r.a.Header = append(r.a.Header, "Using preferred netblock "...)
	r.foundVia(ViaNetblocks)
	slices.SortFunc(sc.hits, compareHits)
	for _, hit := range sc.hits {
		r.place(hit.host)
	}
	if r.t != nil {
		r.t.netblockHits(sc.hits)
	}
}

// asn is step 2: the hosts pinned to the client's autonomous system, in
// uniformly random order.
func (r *resolver) asn(client netip.Addr) {
	r.begin(StepASN)
	asn, ok := r.s.ASN(client)
	if !ok {
		return
	}
	hosts := r.m.ASNHosts(asn)
	if len(hosts) == 0 {
		return
	}
	r.a.Header = append(r.a.Header, "Using ASN "...)
	r.a.Header = strconv.AppendUint(r.a.Header, uint64(asn), 10)
	r.a.Header = append(r.a.Header, ' ')
	r.foundVia(ViaASN)
	start := len(r.sc.order)
	r.add(hosts, false)
	shuffle(r.sc.order[start:], r.rng)
}

// requestedCountries is step 5: the countries of country=, or when none of
// them has mirrors, the other countries of their continents. If that finds
// anything the request is country-only.
func (r *resolver) requestedCountries() {
	r.begin(StepCountry)
	d := r.a.Dir
	start, found := len(r.sc.order), 0
	for _, cc := range r.sc.countries {
		if strings.EqualFold(cc, "global") {
			found += r.countAllowed(d.Global())
			r.headerCountry("global")
			r.add(d.Global(), true)
			continue // no country is called GLOBAL: skip the lookup
		}
		if hosts := d.ByCountry(strings.ToUpper(cc)); len(hosts) > 0 {
			found += len(hosts)
			r.headerCountry(cc)
			r.add(hosts, true)
		}
	}
	r.weighted(start)
	if found == 0 {
		r.begin(StepCountryContinent)
		start = len(r.sc.order)
		for _, cc := range r.sc.countries {
			found += r.neighbours(strings.ToUpper(cc))
		}
		r.weighted(start)
	}
	if found > 0 {
		r.onlyCountry = true
		r.foundVia(ViaCountry)
	}
}

// geoip is step 6: the mirrors in the client's country.
func (r *resolver) geoip() {
	r.begin(StepGeoIP)
	hosts := r.a.Dir.ByCountry(r.clientCountry)
	if len(hosts) == 0 {
		return
	}
	r.headerCountry(r.clientCountry)
	r.foundVia(ViaGeoIP)
	start := len(r.sc.order)
	r.add(hosts, true)
	r.weighted(start)
}

// continent is step 7: the mirrors in the other countries of the client's
// continent.
func (r *resolver) continent() {
	r.begin(StepContinent)
	start := len(r.sc.order)
	if r.neighbours(r.clientCountry) > 0 {
		r.foundVia(ViaContinent)
	}
	r.weighted(start)
}

// neighbours adds the mirrors of every other country on cc's continent, in
// country-code order, trimmed by client country, and returns how many the
// continent's countries listed before trimming.
func (r *resolver) neighbours(cc string) int {
	cont, ok := r.s.Continent(cc)
	if !ok {
		return 0
	}
	found := 0
	r.a.Dir.EachCountry(r.s.ContinentCountries(cont), func(other string, hosts []snapshot.HostRef) {
		if other == cc {
			return
		}
		found += len(hosts)
		r.headerCountry(other)
		r.add(hosts, true)
	})
	return found
}

// global is step 8: when the groups so far have fewer usable hosts than
// the minimum, the directory's Global list joins, unless the request is
// country-only.
func (r *resolver) global() {
	if r.onlyCountry {
		return
	}
	n := r.usableHosts(r.opt.Minimum)
	if r.t != nil {
		r.t.Usable = n
	}
	if n >= r.opt.Minimum {
		return
	}
	r.begin(StepGlobal)
	r.headerCountry("global")
	if r.a.FoundVia == ViaNone || n == 0 {
		r.a.FoundVia = ViaGlobal
	}
	start := len(r.sc.order)
	r.add(r.a.Dir.Global(), true)
	r.weighted(start)
}

// usableHosts counts the hosts chosen so far that keep a URL after
// protocol= filtering, stopping at limit. When none keeps one, the answer
// would list them unfiltered, and so they all count, as in production.
func (r *resolver) usableHosts(limit int) int {
	all := min(len(r.sc.order), max(limit, 0))
	if len(r.sc.protos) == 0 {
		return all
	}
	n := 0
	for _, h := range r.sc.order {
		if n >= limit {
			break
		}
		if r.matchesProtocol(h) {
			n++
		}
	}
	if n == 0 {
		return all
	}
	return n
}

// add appends the hosts not placed yet that carry the directory to
// sc.order; with trim, only those that serve the client's country.
func (r *resolver) add(hosts []snapshot.HostRef, trim bool) {
	start := len(r.sc.order)
	for _, h := range hosts {
		if hasBit(r.sc.seen, h) || !r.carries(h) || trim && !r.allows(h) {
			continue
		}
		r.place(h)
	}
	if r.t != nil {
		r.t.offered(r, hosts, start)
	}
}

// countAllowed returns how many of hosts serve the client's country.
func (r *resolver) countAllowed(hosts []snapshot.HostRef) int {
	n := 0
	for _, h := range hosts {
		if r.allows(h) {
			n++
		}
	}
	return n
}

// allows reports whether h serves the client's country; only the few
// restricted hosts need their list looked at.
func (r *resolver) allows(h snapshot.HostRef) bool {
	return !r.m.Restricted(h) || r.m.Host(h).Allows(r.clientCountry)
}

// place appends h to sc.order unless it is there already: a host keeps
// only its first place.
func (r *resolver) place(h snapshot.HostRef) {
	if hasBit(r.sc.seen, h) {
		return
	}
	setBit(r.sc.seen, h)
	r.sc.order = append(r.sc.order, h)
}

// weighted shuffles the group sc.order[start:] by bandwidth.
func (r *resolver) weighted(start int) {
	r.sc.shuffle.weighted(r.sc.order[start:], r.m.Weights(), r.rng)
}

// headerCountry adds "country = cc " to the header, as every country
// step does before it adds cc's hosts.
func (r *resolver) headerCountry(cc string) {
	if r.t != nil {
		r.t.label = cc
	}
	r.a.Header = append(r.a.Header, "country = "...)
	r.a.Header = append(r.a.Header, cc...)
	r.a.Header = append(r.a.Header, ' ')
}

// foundVia records the step that found the first mirrors, unless an
// earlier one did.
func (r *resolver) foundVia(via FoundVia) {
	if r.a.FoundVia == ViaNone {
		r.a.FoundVia = via
	}
}

// splitSortedUnique appends the comma-separated elements of s to dst,
// sorted and without duplicates. The elements share s's memory.
func splitSortedUnique(dst []string, s string) []string {
	for {
		i := strings.IndexByte(s, ',')
		if i < 0 {
			dst = append(dst, s)
			break
		}
		dst = append(dst, s[:i])
		s = s[i+1:]
	}
	slices.Sort(dst)
	return slices.Compact(dst)
}
