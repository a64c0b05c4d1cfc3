package reload

import (
	"fmt"
	"hash/maphash"
	"io"
	"os"

	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// input is one of the four files.
type input struct {
	part Parts
	path string // absolute in a Reloader; as given to LoadParts
}

// inputsOf pairs the four paths with their parts, in the order of the
// parts.
func inputsOf(p snapshot.Paths) [numInputs]input {
	paths := [numInputs]string{p.Cache, p.GeoIP, p.Routes, p.Continents}
	var in [numInputs]input
	for i, path := range paths {
		in[i] = input{part: partOf(i), path: path}
	}
	return in
}

// fileID identifies a version of a file without reading it: the inode
// (through os.SameFile), the size and the modification time. rsync, mv and
// a Kubernetes symlink flip change the inode; cp rewrites the same inode
// but changes size or modification time. A nil info means the file was
// missing or could not be examined.
type fileID struct {
	info os.FileInfo
}

// statID examines path, following symlinks.
func statID(path string) fileID {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}
	}
	return fileID{info: fi}
}

func (a fileID) exists() bool { return a.info != nil }

// same reports whether a and b are the same version of a file; two missing
// files are the same.
func (a fileID) same(b fileID) bool {
	if a.info == nil || b.info == nil {
		return a.info == nil && b.info == nil
	}
	return os.SameFile(a.info, b.info) &&
		a.info.Size() == b.info.Size() &&
		a.info.ModTime().Equal(b.info.ModTime())
}

// look is the identity of every input at one moment, indexed like
// Reloader.inputs.
type look [numInputs]fileID

func (r *Reloader) look() look { return lookAt(r.inputs) }

func lookAt(inputs [numInputs]input) look {
	var l look
	for i, in := range inputs {
		l[i] = statID(in.path)
	}
	return l
}

func (l look) same(m look) bool {
	for i := range l {
		if !l[i].same(m[i]) {
			return false
		}
	}
	return true
}

// loadedFile remembers the version of an input that the served snapshot's
// part was built from.
type loadedFile struct {
	known bool
	id    fileID
	sum   uint64 // content hash
}

// hashFile returns a fast, non-cryptographic hash of the file's content. It
// lets a file whose identity changed but whose content did not (a
// Kubernetes flip replaces all files, usually only one of them new; an
// rsync --inplace rewrite of the same bytes) skip its rebuild. Reading a
// file is far cheaper than decoding and indexing it.
//
// Every input a build loads is hashed first, so this is also where an
// input that is not a regular file is refused (see openRegular), before a
// loader can hang on it.
func (r *Reloader) hashFile(path string) (uint64, error) {
	f, err := openRegular(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var h maphash.Hash
	h.SetSeed(r.seed)
	if _, err := io.Copy(&h, f); err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	return h.Sum64(), nil
}

// CheckInput reports whether path can be an input: a regular file
// (symlinks followed) that can be opened for reading. It is the check
// every build makes before it reads a file; the server also runs it on
// every input at start-up, to name all the bad ones at once.
func CheckInput(path string) error {
	f, err := openRegular(path)
	if err != nil {
		return err
	}
	return f.Close()
}

// openRegular opens path, following symlinks, if it is a regular file.
// Anything else fails the build at once: opening a named pipe blocks until
// a writer comes (forever, holding the build lock), a device such as
// /dev/zero never ends, and a directory is no input.
func openRegular(path string) (*os.File, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%v)", path, fi.Mode().Type())
	}
	return os.Open(path)
}
