package snapshot

import (
	"strings"

	"github.com/mirrorlist-go/mirrorlist-server/snapshot/xmlesc"
)

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

// escapeURLs returns urls escaped for XML, all in one string: a metalink
// reads a few hundred of them, and side by side they share cache lines and
// pages instead of lying wherever the loader allocated each.
func escapeURLs(urls []string) []string {
	var b strings.Builder
	n := 0
	for _, u := range urls {
		n += len(u)
	}
	b.Grow(n)
	ends := make([]int, len(urls))
	for i, u := range urls {
		b.WriteString(xmlesc.String(u))
		ends[i] = b.Len()
	}
	all := b.String()
	out := make([]string, len(urls))
	start := 0
	for i, end := range ends {
		out[i] = all[start:end]
		start = end
	}
	return out
}
