package resolve

import (
	"strings"

	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// RepoLocation is where repo= and arch= lead (docs/protocol.md section 3):
// the repository and arch looked up, after the source rewrite and the
// repository redirect, and what RepoArchToDirectoryName gives for them.
type RepoLocation struct {
	Repo     string // the repository looked up: the one asked for, or its redirect's target
	Arch     string // the arch looked up: "source" for a repository whose name contains "source"
	Disabled bool   // DisabledRepositoryCache marks Repo disabled: the answer is "repo disabled"
	// Directory is the directory a mirrorlist lists, "" when Found is
	// false; a metalink describes the repodata/repomd.xml below it (see
	// AppendMetalinkDirectory).
	Directory string
	Found     bool // RepoArchToDirectoryName has Repo and Arch (never set when Disabled)
}

// LocateRepo applies the rules by which a request finds a repository's
// directory: an arch of "source" for a repository whose name says so,
// the repository redirect, then the disabled check and the repo+arch
// table. repo is the name as requested, with any version= already
// appended. The server and the operator's tools share it, so that a tool
// finds the directory a client gets.
func LocateRepo(m *snapshot.Mirrors, repo, arch string) RepoLocation {
	if strings.Contains(repo, "source") {
		arch = "source"
	}
	if to, ok := m.RepoRedirect(repo); ok && to != "" {
		repo = to
	}
	loc := RepoLocation{Repo: repo, Arch: arch}
	if m.RepoDisabled(repo) {
		loc.Disabled = true
		return loc
	}
	loc.Directory, loc.Found = m.RepoArch(repo, arch)
	return loc
}

// MetalinkFile is the file a repository's metalink describes.
const MetalinkFile = "repomd.xml"

// AppendMetalinkDirectory appends to dst the directory whose MetalinkFile
// a metalink for a repository describes: dir/repodata, or dir itself when
// RepoArchToDirectoryName already names the repodata directory. It
// appends rather than returns, so that the request path builds the name
// in a reused buffer.
func AppendMetalinkDirectory(dst []byte, dir string) []byte {
	dst = append(dst, dir...)
	if !strings.HasSuffix(dir, "/repodata") {
		dst = append(dst, "/repodata"...)
	}
	return dst
}

// PathLocation is what path= names (docs/protocol.md section 3).
type PathLocation struct {
	Path string              // the path looked up: leading and trailing '/' trimmed, runs of '/' collapsed
	Dir  *snapshot.Directory // nil when the index has no such path: the answer is "error: invalid path"
	File string              // the file in Dir the path names; "" when it names Dir itself
}

// LocatePath finds what path= names: the directory of that name, else a
// file in the directory of its parent path. A last component "." or ".."
// is no file: it would send the client to the directory itself or, worse,
// to its parent on every mirror, outside the index, so it is an invalid
// path like any other the index lacks.
func LocatePath(m *snapshot.Mirrors, path string) PathLocation {
	loc := PathLocation{Path: cleanPath(path)}
	if d := m.Directory(loc.Path); d != nil {
		loc.Dir = d
		return loc
	}
	dir, file := "", loc.Path
	if i := strings.LastIndexByte(loc.Path, '/'); i >= 0 {
		dir, file = loc.Path[:i], loc.Path[i+1:]
	}
	if d := m.Directory(dir); d != nil && file != "." && file != ".." {
		loc.Dir, loc.File = d, file
	}
	return loc
}
