package reload

import (
	"fmt"
	"strings"

	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// ShrinkError is the shrink guard's refusal: against the snapshot being
// served, an input of the new one lost more than it plausibly can.
type ShrinkError struct {
	Shrunk []Shrinkage // one per count that shrank too far, in input order
}

// Shrinkage is one count of one input that shrank too far.
type Shrinkage struct {
	Part   Parts  // the part the file feeds
	Path   string // the file
	What   string // what was counted: "directories", "routes", ...
	Served int    // in the snapshot being served
	New    int    // in the file
}

func (e *ShrinkError) Error() string {
	var b strings.Builder
	b.WriteString("shrink guard: ")
	for i, s := range e.Shrunk {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s has %d %s, the served snapshot %d", s.Path, s.New, s.What, s.Served)
	}
	b.WriteString("; refusing (--allow-shrink overrides)")
	return b.String()
}

// sizes are the counts the shrink guard compares, by part.
type sizes struct {
	// mirrors
	directories, hosts int
	dangling           int // repo+arch keys without a directory
	repoArches         int
	networks           int // GeoIP
	routes             int
	countries          int // continents: the CSV's countries
}

// sizesOf counts the parts of s in todo.
func sizesOf(s *snapshot.Snapshot, todo Parts) sizes {
	m, g, rt, c := s.Parts()
	var z sizes
	if todo.Has(PartMirrors) {
		st := m.Stats()
		z.directories, z.hosts, z.dangling, z.repoArches = st.Directories, st.Hosts, st.DanglingRepoArches, st.RepoArches
	}
	if todo.Has(PartGeoIP) {
		z.networks = g.Networks()
	}
	if todo.Has(PartRoutes) {
		z.routes = rt.Len()
	}
	if todo.Has(PartContinents) {
		z.countries = c.Len()
	}
	return z
}

// checkShrink returns a *ShrinkError if a part of next in todo, read
// from inputs, shrank too far against cur.
func checkShrink(cur, next *snapshot.Snapshot, todo Parts, inputs [numInputs]input) error {
	return shrinkError(sizesOf(cur, todo), sizesOf(next, todo), todo, inputs)
}

// CheckShrink applies a reload's shrink guard to next, a snapshot whose
// parts in todo were loaded from paths, against served, the snapshot it
// would replace: it returns a *ShrinkError naming the files whose counts
// shrank too far (see shrinkError), or nil. Only the parts in todo are
// compared, as a reload compares only the parts it rebuilt. The server
// applies it unless --allow-shrink; the operator's tools call it to know
// beforehand what the server will refuse.
func CheckShrink(served, next *snapshot.Snapshot, todo Parts, paths snapshot.Paths) error {
	return checkShrink(served, next, todo, inputsOf(paths))
}

// shrinkError applies the guard's rules to the parts in todo. Every
// count may lose half of itself, no more: a real input changes by a few
// percent from one version to the next, while a file cut short, written
// by a failing job or replaced by an empty template loses most of its
// content and may still parse. Repositories are the exception: a new
// snapshot may leave no more than max(5, 1%) of them newly pointing at no
// directory. That rule catches what the halving cannot: a protobuf cut at
// a message boundary decodes cleanly, and since the directories come last
// in the file, the cut takes directories that repositories point at. A
// real snapshot keeps its few dangling repositories from one version to
// the next. A false alarm keeps the old snapshot serving and shows in the
// reload metrics until an operator looks (AllowShrink overrides).
func shrinkError(cur, next sizes, todo Parts, inputs [numInputs]input) error {
	var out []Shrinkage
	check := func(i int, what string, served, now int, shrunk bool) {
		if todo.Has(partOf(i)) && shrunk {
			out = append(out, Shrinkage{Part: partOf(i), Path: inputs[i].path, What: what, Served: served, New: now})
		}
	}
	half := func(served, now int) bool { return 2*now < served }
	check(0, "directories", cur.directories, next.directories, half(cur.directories, next.directories))
	check(0, "hosts", cur.hosts, next.hosts, half(cur.hosts, next.hosts))
	check(0, fmt.Sprintf("of %d repositories without their directory", next.repoArches), cur.dangling, next.dangling,
		next.dangling-cur.dangling > max(5, next.repoArches/100))
	check(1, "networks", cur.networks, next.networks, half(cur.networks, next.networks))
	check(2, "routes", cur.routes, next.routes, half(cur.routes, next.routes))
	check(3, "countries", cur.countries, next.countries, half(cur.countries, next.countries))
	if len(out) == 0 {
		return nil
	}
	return &ShrinkError{Shrunk: out}
}
