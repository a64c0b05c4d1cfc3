package snapshot

// DirectoryBytes is Directory for a name held in a byte slice. It lets the
// request path look up a directory it assembled in a reused buffer (a
// repository's directory with "/repodata" appended) without converting the
// buffer to a string, which would allocate on every metalink request.
func (m *Mirrors) DirectoryBytes(name []byte) *Directory {
	return m.directories[string(name)] // no allocation: map index by string(bytes)
}
