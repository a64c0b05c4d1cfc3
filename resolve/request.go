// Package resolve chooses the mirrors for one request: the selection of
// docs/protocol.md section 5 and the URL building of section 6, as a pure
// function of a snapshot, a parsed request and a random source. It does no
// I/O and keeps no state, so tests can seed the randomness and compare
// answers byte for byte.
package resolve

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// Kind says which document a request asked for, from the end of its path.
type Kind uint8

// The request kinds.
const (
	Mirrorlist Kind = iota // path ends with /mirrorlist: text
	Metalink               // path ends with /metalink: XML
)

// Request is a parsed query (docs/protocol.md, "Query parameters"), as
// ParseQuery fills it. Values are already percent-decoded; a Has field
// records that the key was present at all, since "repo=" (empty) and no repo
// differ.
type Request struct {
	Kind Kind

	Repo, Arch       string
	HasRepo, HasArch bool
	Path             string
	HasPath          bool
	Version          string // with Repo, the repo becomes Repo-Version (CentOS clients)

	// RawRepo, RawArch and RawVersion are the same three values as sent,
	// still percent-encoded: the access log writes them so, as production
	// (which never decodes) does, and Fedora's statistics count them so.
	RawRepo, RawArch, RawVersion string

	Country  string // country=, or cc= when country is absent; "" means none
	Protocol string // protocol= as given; "" means none
	HasProto bool

	NoNetblock bool // netblock= present with a value other than 1
	Redirect   bool // redirect present
	Time       bool // time present

	// Client is the client's address (ip=, X-Forwarded-For, or the
	// connection's). The zero Addr means it did not parse: the answer is
	// then the "Cannot parse client IP address" error, at the point of the
	// protocol where production gives it.
	Client netip.Addr
}

// FoundVia is the step of the selection that found an answer's first
// mirrors (docs/protocol.md section 5). The server's debug log and its
// metrics report it by name.
type FoundVia uint8

// The found-via values, in the order of the steps.
const (
	ViaNone      FoundVia = iota // no step found a mirror, or no selection ran
	ViaNetblocks                 // a host netblock containing the client
	ViaASN                       // the client's ASN
	ViaCountry                   // the countries the client asked for
	ViaGeoIP                     // the client's country
	ViaContinent                 // the client's continent
	ViaGlobal                    // the directory's global list

	// FoundVias is the number of values, for tables indexed by them.
	FoundVias = iota
)

var foundViaNames = [FoundVias]string{"none", "netblocks", "asn", "country", "geoip", "continent", "global"}

// String returns the step's name: "none", "netblocks", "asn", "country",
// "geoip", "continent" or "global".
func (v FoundVia) String() string {
	if int(v) < len(foundViaNames) {
		return foundViaNames[v]
	}
	return "FoundVia(" + strconv.Itoa(int(v)) + ")"
}

// Options are the server-wide settings of the selection.
type Options struct {
	Minimum int // --minimum: fewer hosts than this adds the global list
}

// Form is the shape of an answer: what the HTTP layer must write.
type Form uint8

// The answer forms.
const (
	// Text is a mirrorlist: Header, a newline, then one URL per line.
	Text Form = iota
	// Redirect is a 302 to Location (or a 404 when Location is "").
	Redirect
	// Document is a metalink document for File.
	Document
	// Message is an error: Message as a plain body for mirrorlist
	// requests, and for metalink requests a failure document unless Plain
	// is set (docs/protocol.md section 3 says which are plain text).
	Message
)

// Mirror is one chosen host with the URLs it offers for this answer, in
// answer order.
type Mirror struct {
	Host       snapshot.HostRef
	URLs       []snapshot.URLRef // after protocol filtering, in answer order (docs/protocol.md section 6)
	Preference int               // metalink preference: 100, 99, ... never below 1
	Private    bool              // not in the directory's Global list
	Location   string            // the host's country, upper-case
}

// Answer is the result of Resolve, ready for the HTTP layer to write. An
// Answer can be reused for another request after Reset, which keeps its
// slices' capacity.
type Answer struct {
	Form    Form
	Status  int    // HTTP status
	Message string // Form Message: the error text
	Plain   bool   // Form Message: plain text even for a metalink request

	// Header is the mirrorlist comment header, e.g.
	// "# repo = fedora-41 arch = x86_64 country = DE country = global ".
	Header []byte

	Mirrors []Mirror
	// Dir is the answer's directory entry; File the file name for a file
	// answer ("" for a directory answer, whose URLs end in "/").
	Dir      *snapshot.Directory
	File     string
	Details  *snapshot.File // Form Document: the file's versions
	Location string         // Form Redirect: the chosen URL

	FoundVia      FoundVia // the step that found the first mirrors
	ClientCountry string   // "N/A" when unknown

	// Log is set when the request had repo and arch: an access-log line is
	// due (docs/protocol.md section 8).
	Log     bool
	LogRepo string // the repo as sent (still percent-encoded), before redirects
	LogArch string // the arch as sent, after the source rewrite

	// scratch is Resolve's working memory, kept across Reset so that a
	// reused Answer makes Resolve (nearly) allocation-free.
	scratch scratch
}

// AppendURL appends the i-th URL of m, as the answer lists it, to dst: the
// hcurl's URL, "/" and the directory's Subpath when that is not empty, then
// "/" for a directory answer, or "/" (unless the URL already ends in one)
// and the file name for a file answer. It lets the HTTP layer write URLs
// without building strings.
func (a *Answer) AppendURL(dst []byte, s *snapshot.Snapshot, m *Mirror, i int) []byte {
	base := s.Mirrors().URL(m.URLs[i])
	dst = append(dst, base...)
	return a.AppendURLSuffix(dst, strings.HasSuffix(base, "/"))
}

// AppendURLSuffix appends what AppendURL adds after an hcurl's URL; slash
// says whether that URL ends in "/". The suffix is the same for every URL
// of the answer that ends alike, so a writer of many URLs can build the
// two suffixes once per answer instead of once per URL.
func (a *Answer) AppendURLSuffix(dst []byte, slash bool) []byte {
	if a.Dir != nil && a.Dir.Subpath != "" {
		dst = append(dst, '/')
		dst = append(dst, a.Dir.Subpath...)
		slash = strings.HasSuffix(a.Dir.Subpath, "/")
	}
	if a.File == "" {
		return append(dst, '/')
	}
	if !slash {
		dst = append(dst, '/')
	}
	return append(dst, a.File...)
}
