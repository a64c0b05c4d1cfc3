package snapshot

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/gaissmai/bart"
)

// HostRef is a host's dense index in its Mirrors. Host ids (int64 in the
// protobuf) are mapped to small consecutive integers so that per-request
// bookkeeping can use slices instead of maps.
type HostRef uint32

// URLRef is an hcurl's dense index in its Mirrors; Mirrors.URL gives the
// URL.
type URLRef uint32

// Host is what the snapshot knows of one mirror host.
type Host struct {
	ID        int64    // MirrorManager's host id
	Country   string   // HostCountryCache, upper-cased; "" if unknown
	Weight    int64    // HostBandwidthCache, at least 1: the shuffle weight
	allowed   []string // HostCountryAllowedCache, upper-cased and sorted
	hasAllows bool     // whether the host has a HostCountryAllowedCache entry
}

// Allows reports whether the host serves clients in country cc (upper-case):
// a host without a country-allowed entry serves everyone.
func (h *Host) Allows(cc string) bool {
	if !h.hasAllows {
		return true
	}
	for _, a := range h.allowed {
		if a == cc {
			return true
		}
	}
	return false
}

// Directory is one MirrorListCache entry: a directory that mirrors carry.
// Its host lists are interned and shared with other directories.
type Directory struct {
	Name    string // the directory's path, e.g. pub/fedora/linux/updates/41/Everything/x86_64
	Subpath string // the path below the category's top directory

	global    globalList    // Global, a copy of the interned one: its slices are shared
	countries *countryTable // ByCountry
	carriers  carrierTable  // ByHostId, a copy of the interned one, so that the request path reaches it with one load less
	files     map[string]*File
}

// Global returns the public hosts carrying the directory, sorted by HostRef.
// The slice is shared: do not modify it.
func (d *Directory) Global() []HostRef { return d.global.hosts }

// InGlobal reports whether h is in the directory's Global list; a carrier
// that is not is a private mirror for this directory.
func (d *Directory) InGlobal(h HostRef) bool { return d.global.set.has(h) }

// ByCountry returns the hosts in country cc (upper-case) carrying the
// directory. The slice is shared: do not modify it.
func (d *Directory) ByCountry(cc string) []HostRef {
	t := d.countries
	if i, ok := slices.BinarySearch(t.codes, cc); ok {
		return t.list(i)
	}
	return nil
}

// EachCountry calls fn, in code order, for every country of ccs (sorted,
// distinct, upper-case, as Snapshot.ContinentCountries gives them) in which
// hosts carry the directory, with those hosts (shared: do not modify).
//
// It walks both sorted lists together: a continent has dozens of
// countries, whose hosts most metalink requests ask for, and looking each
// up with ByCountry cost a hash of the code per country.
func (d *Directory) EachCountry(ccs []string, fn func(cc string, hosts []HostRef)) {
	t := d.countries
	codes := t.codes
	for i, j := 0, 0; i < len(ccs) && j < len(codes); {
		switch c := strings.Compare(ccs[i], codes[j]); {
		case c < 0:
			i++
		case c > 0:
			j++
		default:
			if hosts := t.list(j); len(hosts) > 0 {
				fn(codes[j], hosts)
			}
			i, j = i+1, j+1
		}
	}
}

// URLs returns h's hcurls for this directory's category and whether h
// carries the directory at all (has a ByHostId entry). The slice is shared.
func (d *Directory) URLs(h HostRef) (urls []URLRef, ok bool) {
	if i := d.carriers.hosts.rank(h); i >= 0 {
		urls, ok = d.carriers.lists.list(d.carriers.urls[i]), true
	}
	return urls, ok
}

// Carries reports whether h has a ByHostId entry in this directory.
func (d *Directory) Carries(h HostRef) bool { return d.carriers.hosts.has(h) }

// Carriers returns the directory's ByHostId: the hosts carrying it, sorted
// by HostRef, and at the same index each host's hcurls. The slices are
// built for the call; the request path asks Carries and URLs instead.
func (d *Directory) Carriers() ([]HostRef, [][]URLRef) {
	c := &d.carriers
	hosts := make([]HostRef, len(c.urls))
	urls := make([][]URLRef, len(c.urls))
	c.hosts.members(func(i int, h HostRef) {
		hosts[i], urls[i] = h, c.lists.list(c.urls[i])
	})
	return hosts, urls
}

// File returns the metalink details of a file in this directory, or nil.
func (d *Directory) File(name string) *File { return d.files[name] }

// File holds a file's FileDetailsCache versions, newest (the one to
// download) first; the others are metalink alternates.
type File struct {
	Versions []FileDetails
}

// FileDetails is one version of a file, as FileDetailsType gives it.
type FileDetails struct {
	Timestamp uint64
	Size      uint64
	MD5       string
	SHA1      string
	SHA256    string
	SHA512    string

	plainHashes bool // set by Load: no hash holds a character XML escapes
}

// PlainHashes reports whether none of the hashes holds a character that
// XML escapes (& < > "), as found when the snapshot was loaded: a metalink
// can then print them as they are instead of scanning every byte of them,
// a few hundred per version, on every request. Hashes are hexadecimal, so
// this is the rule; details made otherwise than by loading report false.
func (fd *FileDetails) PlainHashes() bool { return fd.plainHashes }

// globalList is a directory's Global list, interned: the hosts sorted,
// and the same as a bitset for InGlobal.
type globalList struct {
	hosts []HostRef
	set   hostBits
}

// countryTable is a directory's ByCountry, interned: the codes in order,
// and at the same index each one's hosts, as an index into lists. Both
// the code lists and the host lists repeat between tables and are shared;
// an index costs 4 bytes where a slice would cost 24.
type countryTable struct {
	codes []string // sorted
	hosts []uint32
	lists [][]HostRef // every distinct ByCountry list of the snapshot, shared
}

// list returns the hosts of codes[i].
func (t *countryTable) list(i int) []HostRef { return t.lists[t.hosts[i]] }

// carrierTable is a directory's ByHostId, interned: the hosts, and by
// their rank in hosts each one's hcurls, as a handle in lists. A host's
// hcurls are its URLs for the directory's category, so a few thousand
// distinct lists serve every table, and a handle costs 4 bytes where a
// slice would cost 24.
type carrierTable struct {
	hosts hostSet
	urls  []uint32
	lists *urlPool // every distinct hcurl list of the snapshot, shared
}

// urlPool holds hcurl lists one after the other in refs. A list's handle
// packs where it starts and how long it is, so that finding the list
// reads neither a table of offsets nor the list itself: a metalink makes
// a few hundred such lookups, one per mirror, and only the writer then
// reads the URLs. Lists of longLists URLs or more (a host has a few per
// category) are found through long instead.
type urlPool struct {
	refs []URLRef
	long []urlSpan
}

type urlSpan struct{ start, end uint32 }

// longLists is the length from which a list's handle indexes long.
const longLists = 15

// add appends a list and returns its handle.
func (p *urlPool) add(urls []URLRef) uint32 {
	start := len(p.refs)
	p.refs = append(p.refs, urls...)
	if len(urls) < longLists && start < 1<<28 {
		return uint32(start)<<4 | uint32(len(urls))
	}
	p.long = append(p.long, urlSpan{uint32(start), uint32(len(p.refs))})
	return uint32(len(p.long)-1)<<4 | longLists
}

// list returns the list of a handle.
func (p *urlPool) list(handle uint32) []URLRef {
	if n := handle & 15; n < longLists {
		start := handle >> 4
		return p.refs[start : start+n : start+n]
	}
	sp := p.long[handle>>4]
	return p.refs[sp.start:sp.end:sp.end]
}

// Mirrors is the part of a Snapshot built from the protobuf file.
type Mirrors struct {
	time        uint64
	directories map[string]*Directory
	repoArch    map[string]string // "repo+arch" → directory
	repoKeys    []string          // repoArch's keys, sorted as strings
	redirects   map[string]string
	disabled    map[string]bool
	hosts       []Host
	urls        []string
	fast        fastPath // request-path tables derived from the rest, see fastpath.go
	asnHosts    map[uint32][]HostRef

	hostNetblocks   *bart.Table[[]HostRef]
	netblockCountry *bart.Table[string]

	continentRedirects map[string]string
	stats              Stats
}

// Stats returns the counts and warnings of this part.
func (m *Mirrors) Stats() Stats { return m.stats }

// Time returns the snapshot's creation time, seconds since the epoch.
func (m *Mirrors) Time() uint64 { return m.time }

// Directory returns the directory entry of that path, or nil.
func (m *Mirrors) Directory(name string) *Directory { return m.directories[name] }

// DirectoryBytes is Directory for a name held in a byte slice. It lets the
// request path look up a directory it assembled in a reused buffer (a
// repository's directory with "/repodata" appended) without converting the
// buffer to a string, which would allocate on every metalink request.
func (m *Mirrors) DirectoryBytes(name []byte) *Directory {
	return m.directories[string(name)] // no allocation: map index by string(bytes)
}

// RepoArch returns the directory that "repo+arch" maps to.
func (m *Mirrors) RepoArch(repo, arch string) (string, bool) {
	var buf [128]byte
	key := append(append(append(buf[:0], repo...), '+'), arch...)
	dir, ok := m.repoArch[string(key)] // no allocation: the compiler recognises map[string(bytes)]
	return dir, ok
}

// RepoArchKeys returns every "repo+arch" key, sorted as strings. The slice
// is shared: do not modify it.
func (m *Mirrors) RepoArchKeys() []string { return m.repoKeys }

// RepoRedirect returns the repository that repo now means, if it was
// redirected.
func (m *Mirrors) RepoRedirect(repo string) (string, bool) {
	to, ok := m.redirects[repo]
	return to, ok
}

// RepoDisabled reports whether repo is marked disabled.
func (m *Mirrors) RepoDisabled(repo string) bool { return m.disabled[repo] }

// Host returns the host behind a HostRef.
func (m *Mirrors) Host(h HostRef) *Host { return &m.hosts[h] }

// HostCount returns the number of hosts: every HostRef is below it.
func (m *Mirrors) HostCount() int { return len(m.hosts) }

// URL returns the hcurl's URL, e.g. https://mirror.example.org/fedora/linux.
func (m *Mirrors) URL(u URLRef) string { return m.urls[u] }

// ASNHosts returns the hosts pinned to serve clients of an ASN.
func (m *Mirrors) ASNHosts(asn uint32) []HostRef { return m.asnHosts[asn] }

// NetblockHosts calls fn for every HostNetblockCache prefix that contains
// addr, with the prefix length and its hosts (shared: do not modify).
func (m *Mirrors) NetblockHosts(addr netip.Addr, fn func(bits int, hosts []HostRef)) {
	addr = NormalizeAddr(addr)
	if !addr.IsValid() {
		return
	}
	for pfx, hosts := range m.hostNetblocks.Supernets(netip.PrefixFrom(addr, addr.BitLen())) {
		fn(pfx.Bits(), hosts)
	}
}
