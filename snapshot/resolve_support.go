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
//
// Resolving a request asks about most carriers several times (does it
// carry the directory, which URLs); indexing them once per request by
// HostRef is cheaper than a binary search per question.
func (d *Directory) Carriers() ([]HostRef, [][]URLRef) {
	return d.carriers.hosts, d.carriers.urls
}

// URLForXML returns the hcurl's URL as a metalink prints it: with the XML
// special characters & < > and " replaced by entities, so that it is safe
// in element text and in attribute values alike. It is computed once per
// snapshot, since a metalink answer prints a few hundred URLs and scanning
// each for escapes was the largest cost of a metalink request. For the
// usual URL, which needs no escaping, it is the URL itself.
func (m *Mirrors) URLForXML(u URLRef) string { return m.xmlURLs[u] }

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
