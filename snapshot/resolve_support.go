package snapshot

import "strings"

// DirectoryBytes is Directory for a name held in a byte slice. It lets the
// request path look up a directory it assembled in a reused buffer (a
// repository's directory with "/repodata" appended) without converting the
// buffer to a string, which would allocate on every metalink request.
func (m *Mirrors) DirectoryBytes(name []byte) *Directory {
	return m.directories[string(name)] // no allocation: map index by string(bytes)
}

// Carriers returns the directory's ByHostId: the hosts carrying it, sorted
// by HostRef, and at the same index each host's hcurls. Both slices are
// shared: do not modify them.
func (d *Directory) Carriers() ([]HostRef, [][]URLRef) {
	return d.carriers.hosts, d.carriers.urls
}

// CarrierIndex returns, by HostRef, each host's index in Carriers, or -1
// for a host that does not carry the directory. Resolving a request asks
// about most carriers several times (does it carry the directory, which
// URLs): one array read answers, where a binary search, or indexing the
// carriers anew for every request, cost more. The slice is shared: do not
// modify it.
func (d *Directory) CarrierIndex() []int32 { return d.index.carrier }

// GlobalSet returns the directory's Global list as a bitset by HostRef:
// host h is in it if GlobalSet()[h/64] has bit h%64. It has a word for
// every host of the snapshot. The slice is shared: do not modify it.
func (d *Directory) GlobalSet() []uint64 { return d.index.global }

// dirIndex holds the by-HostRef views of a directory's interned lists. The
// directories that share both lists share one, so that there are a few
// hundred at Fedora's scale, not 40,000.
type dirIndex struct {
	carrier []int32  // by HostRef: index in carriers.hosts, or -1
	global  []uint64 // bitset by HostRef: in global
}

// indexDirectories gives every directory its dirIndex.
func indexDirectories(m *Mirrors) {
	type key struct {
		carriers *carrierTable
		global   *HostRef
	}
	shared := make(map[key]*dirIndex)
	for _, d := range m.directories {
		k := key{carriers: d.carriers}
		if len(d.global) > 0 {
			k.global = &d.global[0]
		}
		if idx, ok := shared[k]; ok {
			d.index = idx
			continue
		}
		idx := &dirIndex{
			carrier: make([]int32, len(m.hosts)),
			global:  make([]uint64, (len(m.hosts)+63)/64),
		}
		for i := range idx.carrier {
			idx.carrier[i] = -1
		}
		for i, h := range d.carriers.hosts {
			idx.carrier[h] = int32(i)
		}
		for _, h := range d.global {
			idx.global[h/64] |= 1 << (h % 64)
		}
		shared[k] = idx
		d.index = idx
	}
}

// fastPath holds tables derived from a Mirrors once it is built, laid out
// for the request path: a metalink answer touches a few hundred hosts and
// URLs, and reading one compact array each is much cheaper than reaching
// into the Host structs and URL strings for every one of them.
type fastPath struct {
	xmlURLs    []string  // by URLRef: the URL escaped for XML
	schemes    []Scheme  // by URLRef: the URL's scheme
	weights    []float64 // by HostRef: the shuffle weight
	restricted []bool    // by HostRef: has a HostCountryAllowedCache entry
}

func newFastPath(m *Mirrors) fastPath {
	indexDirectories(m)
	f := fastPath{
		xmlURLs:    escapeURLs(m.urls),
		schemes:    make([]Scheme, len(m.urls)),
		weights:    make([]float64, len(m.hosts)),
		restricted: make([]bool, len(m.hosts)),
	}
	for i, u := range m.urls {
		f.schemes[i] = SchemeOf(u)
	}
	for i := range m.hosts {
		f.weights[i] = float64(m.hosts[i].Weight)
		f.restricted[i] = m.hosts[i].hasAllows
	}
	return f
}

// URLForXML returns the hcurl's URL as a metalink prints it: with the XML
// special characters & < > and " replaced by entities, so that it is safe
// in element text and in attribute values alike. It is computed once per
// snapshot, since a metalink answer prints a few hundred URLs and scanning
// each for escapes was the largest cost of a metalink request. For the
// usual URL, which needs no escaping, it is the URL itself.
func (m *Mirrors) URLForXML(u URLRef) string { return m.fast.xmlURLs[u] }

// URLScheme returns the scheme of the hcurl's URL.
func (m *Mirrors) URLScheme(u URLRef) Scheme { return m.fast.schemes[u] }

// Weights returns every host's shuffle weight (Host.Weight, at least 1) as
// a float64, indexed by HostRef. The slice is shared: do not modify it.
func (m *Mirrors) Weights() []float64 { return m.fast.weights }

// Restricted reports whether h has a HostCountryAllowedCache entry, that
// is whether Host(h).Allows can ever be false; most hosts have none.
func (m *Mirrors) Restricted(h HostRef) bool { return m.fast.restricted[h] }

// Scheme classifies a URL by the scheme the mirrorlist protocol knows.
type Scheme uint8

// The schemes. OtherScheme is any other, or a URL without one.
const (
	OtherScheme Scheme = iota
	HTTPS
	HTTP
	FTP
	Rsync
)

// SchemeOf returns the scheme of url, from the text before its first ':'.
func SchemeOf(url string) Scheme {
	switch {
	case strings.HasPrefix(url, "https:"):
		return HTTPS
	case strings.HasPrefix(url, "http:"):
		return HTTP
	case strings.HasPrefix(url, "ftp:"):
		return FTP
	case strings.HasPrefix(url, "rsync:"):
		return Rsync
	}
	return OtherScheme
}

// escapeURLs returns urls escaped for XML text and double-quoted attribute
// values, sharing the strings that need no escaping.
func escapeURLs(urls []string) []string {
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	out := make([]string, len(urls))
	for i, u := range urls {
		out[i] = esc.Replace(u)
	}
	return out
}
