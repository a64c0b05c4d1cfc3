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

	global    []HostRef     // sorted ascending
	countries *countryTable // ByCountry
	carriers  *carrierTable // ByHostId
	files     map[string]*File
	index     *dirIndex // by-HostRef views of global and carriers, see resolve_support.go
}

// Global returns the public hosts carrying the directory, sorted by HostRef.
// The slice is shared: do not modify it.
func (d *Directory) Global() []HostRef { return d.global }

// InGlobal reports whether h is in the directory's Global list; a carrier
// that is not is a private mirror for this directory.
func (d *Directory) InGlobal(h HostRef) bool {
	return d.index.global[h/64]&(1<<(h%64)) != 0
}

// ByCountry returns the hosts in country cc (upper-case) carrying the
// directory. The slice is shared: do not modify it.
func (d *Directory) ByCountry(cc string) []HostRef {
	t := d.countries
	if i, ok := slices.BinarySearch(t.codes, cc); ok {
		return t.lists[i]
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
	codes, lists := d.countries.codes, d.countries.lists
	for i, j := 0, 0; i < len(ccs) && j < len(codes); {
		switch c := strings.Compare(ccs[i], codes[j]); {
		case c < 0:
			i++
		case c > 0:
			j++
		default:
			if len(lists[j]) > 0 {
				fn(codes[j], lists[j])
			}
			i, j = i+1, j+1
		}
	}
}

// URLs returns h's hcurls for this directory's category and whether h
// carries the directory at all (has a ByHostId entry). The slice is shared.
func (d *Directory) URLs(h HostRef) ([]URLRef, bool) {
	i := d.index.carrier[h]
	if i < 0 {
		return nil, false
	}
	return d.carriers.urls[i], true
}

// Carries reports whether h has a ByHostId entry in this directory.
func (d *Directory) Carries(h HostRef) bool { return d.index.carrier[h] >= 0 }

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

// countryTable is a directory's ByCountry, interned: the codes in order,
// with each one's hosts at the same index.
type countryTable struct {
	codes []string // sorted
	lists [][]HostRef
}

// carrierTable is a directory's ByHostId, interned: hosts sorted, with each
// host's hcurls at the same index.
type carrierTable struct {
	hosts []HostRef
	urls  [][]URLRef
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
	fast        fastPath // request-path tables derived from the rest, see resolve_support.go
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
	addr = normalize(addr)
	if !addr.IsValid() {
		return
	}
	for pfx, hosts := range m.hostNetblocks.Supernets(netip.PrefixFrom(addr, addr.BitLen())) {
		fn(pfx.Bits(), hosts)
	}
}
