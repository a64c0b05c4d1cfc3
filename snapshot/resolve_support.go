package snapshot

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
