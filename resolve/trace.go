package resolve

import (
	"math/rand/v2"
	"slices"

	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// ResolveTraced is Resolve, recording in t (when not nil) how the answer
// came about: the rule that found the directory or the early answer that
// stopped the request, and what each selection step placed. The explain
// endpoints pass a Trace; the request path passes nil, and then every
// hook is a nil check. t is reset first.
func ResolveTraced(s *snapshot.Snapshot, req *Request, opt Options, rng *rand.Rand, a *Answer, t *Trace) {
	if t != nil {
		*t = Trace{}
	}
	resolveWith(s, req, opt, rng, a, t)
}

// Rule is how a request found its directory (docs/protocol.md section 3).
type Rule uint8

// The rules.
const (
	RuleNone     Rule = iota // no rule applied: neither path= nor repo= and arch=
	RulePath                 // path= (LocatePath), naming a directory or nothing the snapshot has
	RulePathFile             // path= naming a file in a directory
	RuleRepoArch             // repo= and arch= (LocateRepo)
)

// Stop is why Resolve answered with a message instead of mirrors.
type Stop uint8

// The reasons, in the order of docs/protocol.md section 3, and the
// metalink whose file has no details (section 7).
const (
	StopNone          Stop = iota // the answer lists mirrors
	StopMissingParams             // neither path= nor repo= and arch=
	StopInvalidPath               // path= names neither a directory nor a file in one
	StopDisabled                  // the repository is disabled
	StopInvalidRepo               // no RepoArchToDirectoryName entry
	StopBrokenIndex               // the entry names a directory the snapshot lacks
	StopBadClient                 // the client address does not parse
	StopNoDetails                 // a metalink for a file without FileDetailsCache entry
)

// Step is a selection step of docs/protocol.md section 5 that places
// hosts.
type Step uint8

// The steps, in the order they run.
const (
	StepNetblocks        Step = iota + 1 // 1: host netblocks containing the client
	StepASN                              // 2: hosts pinned to the client's ASN
	StepCountry                          // 5: the requested countries
	StepCountryContinent                 // 5: their continents, when the countries had no mirror
	StepGeoIP                            // 6: the client's country
	StepContinent                        // 7: the client's continent
	StepGlobal                           // 8: the directory's Global list
)

// Trace is what ResolveTraced records. Its slices are its own; the
// HostRefs are the snapshot's.
type Trace struct {
	// Rule found the directory Dir (and the file File). For a repository
	// request Dir is set, as RepoArchToDirectoryName names it, even when
	// the snapshot lacks it; for path= it is "" when the path names
	// nothing, and Path is the path as looked up.
	Rule      Rule
	Dir, File string
	Path      string
	// Repo and Arch are those of a repository request after version=, the
	// source rewrite (Source) and the repository redirect: RedirectedFrom
	// is the repository as asked when RepositoryRedirectCache replaced it.
	Repo, Arch     string
	Source         bool
	RedirectedFrom string

	Stop Stop // StopNone unless the answer is a message

	// Selected is set when the selection ran (steps 3 to 8 always run
	// then, so only the hosts they placed are recorded).
	Selected bool
	// Steps are the steps that ran, in order, each with the hosts it
	// placed in answer order and those it would have placed but for the
	// client's country.
	Steps []StepTrace
	// CountryOnly is set when step 5 found mirrors: no later step ran.
	CountryOnly bool
	// Usable is what step 8 counted of the hosts placed before it, up to
	// the minimum (when it got that far: not for a country-only request).
	Usable int
	// Chosen are all the placed hosts in order. Those without a URL after
	// protocol= filtering (Filtered says it applied) are not in the
	// answer.
	Chosen   []snapshot.HostRef
	Filtered bool

	starts []int                     // Steps[i] placed Chosen[starts[i]:starts[i+1]]
	picks  map[snapshot.HostRef]Pick // why each placed host was placed
	label  string                    // the country whose list the current step offers
}

// StepTrace is one step that ran.
type StepTrace struct {
	Step    Step
	Hosts   []Pick // placed, in answer order
	Trimmed []Pick // carriers offered but not placed: they do not serve the client's country
}

// Pick is a host a step offered, and what offered it.
type Pick struct {
	Host snapshot.HostRef
	// Bits is, for StepNetblocks, the length of the longest host netblock
	// listing the host that contains the client.
	Bits int
	// Country is, for the country steps, the list the host came from: a
	// country code (as the header shows it) or "global".
	Country string
}

// begin starts step s, whose hosts will be placed from index start of
// the order.
func (t *Trace) begin(s Step, start int) {
	t.Steps = append(t.Steps, StepTrace{Step: s})
	t.starts = append(t.starts, start)
	t.label = ""
}

// offered records an add of hosts that placed order[start:]: those are
// picked from the current list, and every carrier of hosts left unplaced
// was trimmed (add skips only placed hosts, non-carriers and trimmed
// ones).
func (t *Trace) offered(r *resolver, hosts []snapshot.HostRef, start int) {
	for _, h := range r.sc.order[start:] {
		t.pick(Pick{Host: h, Country: t.label})
	}
	step := &t.Steps[len(t.Steps)-1]
	for _, h := range hosts {
		if r.carries(h) && !hasBit(r.sc.seen, h) {
			step.Trimmed = append(step.Trimmed, Pick{Host: h, Country: t.label})
		}
	}
}

// netblockHits records the netblock group: each host's longest prefix is
// its first hit, the hits being sorted longest first.
func (t *Trace) netblockHits(hits []netblockHit) {
	for _, hit := range hits {
		if _, ok := t.picks[hit.host]; !ok {
			t.pick(Pick{Host: hit.host, Bits: hit.bits})
		}
	}
}

func (t *Trace) pick(p Pick) {
	if t.picks == nil {
		t.picks = make(map[snapshot.HostRef]Pick)
	}
	t.picks[p.Host] = p
}

// chose ends the selection: it copies the order and cuts it into the
// steps' groups.
func (t *Trace) chose(order []snapshot.HostRef, countryOnly bool) {
	t.Selected, t.CountryOnly = true, countryOnly
	t.Chosen = slices.Clone(order)
	for i := range t.Steps {
		end := len(order)
		if i+1 < len(t.starts) {
			end = t.starts[i+1]
		}
		for _, h := range order[t.starts[i]:end] {
			t.Steps[i].Hosts = append(t.Steps[i].Hosts, t.picks[h])
		}
	}
}

// The hooks the resolver calls; each costs a nil check without a trace.

func (r *resolver) begin(s Step) {
	if r.t != nil {
		r.t.begin(s, len(r.sc.order))
	}
}

// traceRepo records where a repository request led: repo and arch are
// as asked (with version=).
func (t *Trace) traceRepo(repo, arch string, loc RepoLocation) {
	t.Rule, t.Repo, t.Arch, t.Source = RuleRepoArch, loc.Repo, loc.Arch, loc.Arch != arch
	if loc.Repo != repo {
		t.RedirectedFrom = repo
	}
}

// tracePath records where path= led.
func (t *Trace) tracePath(loc PathLocation) {
	t.Rule, t.Path, t.File = RulePath, loc.Path, loc.File
	if loc.Dir != nil {
		t.Dir = loc.Dir.Name
	}
	if loc.File != "" {
		t.Rule = RulePathFile
	}
}
