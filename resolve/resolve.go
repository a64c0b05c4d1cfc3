package resolve

import (
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// The fixed texts of docs/protocol.md section 3.
const (
	msgMissingParams = "# either path=, or repo= and arch= must be specified"
	msgInvalidPath   = "error: invalid path"
	msgRepoDisabled  = "repo disabled"
	msgBrokenIndex   = "mirrorlist cache index out of range, you broke it!"
	msgBadClient     = "Cannot parse client IP address. Aborting."
	msgInvalidRepo   = "error: invalid repo or arch\n# following repositories are available:\n"
	msgNoMetalink    = " not found or has not metalink"
)

// Resolve answers req from s into a, which it resets first. rng supplies
// every random choice; pass a seeded one in tests and a per-request one
// (never shared between goroutines) in the server.
//
// The steps follow docs/protocol.md: the request is validated and its
// directory found (section 3), the client address checked where production
// checks it (section 4), the mirrors chosen and ordered (section 5), and
// their URLs picked (section 6). Resolve reuses a's memory, so an Answer kept in a pool makes
// a typical request allocation-free apart from the few strings an answer
// must hold.
func Resolve(s *snapshot.Snapshot, req *Request, opt Options, rng *rand.Rand, a *Answer) {
	resolveWith(s, req, opt, rng, a, nil)
}

// resolveWith is Resolve, reporting to t unless it is nil.
func resolveWith(s *snapshot.Snapshot, req *Request, opt Options, rng *rand.Rand, a *Answer, t *Trace) {
	a.Reset()
	r := resolver{s: s, m: s.Mirrors(), req: req, opt: opt, rng: rng, a: a, sc: &a.scratch, t: t}
	if !r.locate() {
		return
	}
	if !req.Client.IsValid() {
		r.fail(StopBadClient, 500, msgBadClient)
		return
	}
	r.choose()
	if t != nil {
		t.chose(r.sc.order, r.onlyCountry)
	}
	r.answer()
}

// Reset clears a for reuse, keeping the capacity of its slices. It drops
// every reference into the snapshot the answer came from, so that an Answer
// kept in a pool does not keep a replaced snapshot alive.
func (a *Answer) Reset() {
	clear(a.Mirrors) // the elements past len are zero already
	header, mirrors, sc := a.Header[:0], a.Mirrors[:0], a.scratch
	sc.release()
	*a = Answer{Header: header, Mirrors: mirrors, scratch: sc}
}

// resolver carries one call's inputs and state between its steps.
type resolver struct {
	s   *snapshot.Snapshot
	m   *snapshot.Mirrors
	req *Request
	opt Options
	rng *rand.Rand
	a   *Answer
	sc  *scratch
	t   *Trace // nil except for the explain endpoints

	repo string // the repo as requested, with Version applied
	arch string // the arch, after the source rewrite for repo requests

	// logRepo and logArch are repo and arch as the access log writes
	// them: built from the values as sent.
	logRepo, logArch string

	clientCountry string
	onlyCountry   bool // the request named countries that have mirrors
}

// fail makes the answer an error message: plain text for a mirrorlist
// request, a failure document for a metalink request. why is for a trace.
func (r *resolver) fail(why Stop, status int, msg string) {
	r.a.Form, r.a.Status, r.a.Message, r.a.Plain = Message, status, msg, false
	if r.t != nil {
		r.t.Stop = why
	}
}

// failPlain makes the answer an error message that is plain text for both
// kinds of request.
func (r *resolver) failPlain(why Stop, status int, msg string) {
	r.fail(why, status, msg)
	r.a.Plain = true
}

// locate validates the request and finds its directory and file
// (docs/protocol.md section 3, steps 1 to 3), starting the header on the way. It
// reports whether the request can go on; if not, the answer is set.
func (r *resolver) locate() bool {
	req := r.req
	repoArch := req.HasRepo && req.HasArch
	if !repoArch && !req.HasPath {
		r.fail(StopMissingParams, 200, msgMissingParams)
		return false
	}
	r.repo, r.arch = req.Repo, req.Arch
	r.logRepo, r.logArch = req.RawRepo, req.RawArch
	if req.HasRepo && req.Version != "" {
		r.repo = req.Repo + "-" + req.Version
		r.logRepo = req.RawRepo + "-" + req.RawVersion
	}
	if req.HasPath {
		return r.locatePath()
	}
	return r.locateRepo()
}

// locatePath finds the directory, and maybe the file, that path= names
// (LocatePath).
func (r *resolver) locatePath() bool {
	a := r.a
	loc := LocatePath(r.m, r.req.Path)
	a.Header = append(a.Header, "# path = "...)
	a.Header = append(a.Header, loc.Path...)
	a.Header = append(a.Header, ' ')
	if r.t != nil {
		r.t.tracePath(loc)
	}
	if loc.Dir == nil {
		r.fail(StopInvalidPath, 404, msgInvalidPath)
		return false
	}
	a.Dir, a.File = loc.Dir, loc.File
	return true
}

// locateRepo finds the directory of repo= and arch= (LocateRepo). A
// metalink is for the repository's repodata/repomd.xml; a mirrorlist
// lists the repository's directory.
func (r *resolver) locateRepo() bool {
	a := r.a
	loc := LocateRepo(r.m, r.repo, r.arch)
	if r.t != nil {
		r.t.traceRepo(r.repo, r.arch, loc)
	}
	if loc.Arch != r.arch {
		r.logArch = loc.Arch // the source rewrite is logged too
	}
	r.arch = loc.Arch
	a.Header = append(a.Header, "# repo = "...)
	a.Header = append(a.Header, loc.Repo...)
	a.Header = append(a.Header, " arch = "...)
	a.Header = append(a.Header, loc.Arch...)
	a.Header = append(a.Header, ' ')
	if loc.Disabled {
		r.fail(StopDisabled, 200, msgRepoDisabled)
		return false
	}
	if !loc.Found {
		r.fail(StopInvalidRepo, 404, invalidRepoMessage(a.Header, r.m.RepoArchKeys()))
		return false
	}
	if r.req.Kind == Metalink {
		r.sc.name = AppendMetalinkDirectory(r.sc.name[:0], loc.Directory)
		a.Dir, a.File = r.m.DirectoryBytes(r.sc.name), MetalinkFile
	} else {
		a.Dir = r.m.Directory(loc.Directory)
	}
	if r.t != nil {
		r.t.Dir, r.t.File = loc.Directory, a.File
		if r.req.Kind == Metalink {
			r.t.Dir = string(r.sc.name)
		}
	}
	if a.Dir == nil {
		r.failPlain(StopBrokenIndex, 500, msgBrokenIndex)
		return false
	}
	return true
}

// invalidRepoMessage is the body of the invalid repo answer: the header so
// far, the error, and every repository and arch the snapshot knows, one a
// line. keys are "repo+arch", sorted, as SplitRepoArch splits them; a key
// without '+' is left out. The message runs to tens of kilobytes at
// Fedora's scale, so it is sized first and built in a single allocation.
func invalidRepoMessage(header []byte, keys []string) string {
	const linePrefix, archPrefix = "# repo=", "&arch="
	n := len(header) + len(msgInvalidRepo)
	for _, k := range keys {
		if _, _, ok := SplitRepoArch(k); ok {
			n += len(linePrefix) + len(k) - 1 + len(archPrefix) + 1
		}
	}
	var b strings.Builder
	b.Grow(n)
	b.Write(header)
	b.WriteString(msgInvalidRepo)
	for _, k := range keys {
		repo, arch, ok := SplitRepoArch(k)
		if !ok {
			continue
		}
		b.WriteString(linePrefix)
		b.WriteString(repo)
		b.WriteString(archPrefix)
		b.WriteString(arch)
		b.WriteByte('\n')
	}
	return b.String()
}

// SplitRepoArch splits a RepoArchToDirectoryName key, "repo+arch", at its
// last '+': repository names may contain '+', architectures do not. ok is
// false for a key without '+'; either part may be empty.
func SplitRepoArch(key string) (repo, arch string, ok bool) {
	i := strings.LastIndexByte(key, '+')
	if i < 0 {
		return "", "", false
	}
	return key[:i], key[i+1:], true
}

// cleanPath trims every leading and trailing '/' of p and collapses each run
// of '/' inside it to one. It allocates only when there is a run to
// collapse.
func cleanPath(p string) string {
	p = strings.Trim(p, "/")
	if !strings.Contains(p, "//") {
		return p
	}
	b := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		if p[i] == '/' && b[len(b)-1] == '/' {
			continue
		}
		b = append(b, p[i])
	}
	return string(b)
}

// answer finishes the answer once the mirrors are chosen: the protocol and
// time header suffixes, each mirror's URLs (docs/protocol.md section 6), and the
// form of the answer (section 7).
func (r *resolver) answer() {
	a, req := r.a, r.req
	if req.HasProto {
		a.Header = append(a.Header, "protocol = "...)
		a.Header = append(a.Header, req.Protocol...)
	}
	if req.Time {
		a.Header = append(a.Header, "\n# database creation time: "...)
		a.Header = strconv.AppendUint(a.Header, r.s.Time(), 10)
	}
	r.buildMirrors()
	switch {
	case req.Kind == Metalink:
		r.metalink()
	case req.Redirect:
		r.redirect()
	default:
		a.Form, a.Status = Text, 200
	}
}

// metalink makes the answer a metalink document, or the 404 failure
// document when the snapshot has no details of the file.
func (r *resolver) metalink() {
	a := r.a
	// A file listed without any version is still a metalink (production
	// answers one without verification), so only a missing file fails.
	a.Details = a.Dir.File(a.File)
	if a.Details == nil {
		r.fail(StopNoDetails, 404, a.Dir.Name+"/"+a.File+msgNoMetalink)
		return
	}
	a.Form, a.Status = Document, 200
}

// redirect makes the answer a 302 to the first URL that starts with "http",
// or a 404 when there is none.
func (r *resolver) redirect() {
	a := r.a
	a.Form, a.Status = Redirect, 404
	for i := range a.Mirrors {
		m := &a.Mirrors[i]
		for j, u := range m.URLs {
			if strings.HasPrefix(r.m.URL(u), "http") {
				r.sc.buf = a.AppendURL(r.sc.buf[:0], r.s, m, j)
				a.Location, a.Status = string(r.sc.buf), 302
				return
			}
		}
	}
}
