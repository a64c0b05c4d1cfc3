package resolve

import (
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// TestTraceAccountsForAnswer resolves the tiny set's request mix with and
// without a trace. The answers must be the same (a trace only watches),
// and the trace must account for the answer: the steps' hosts, in order,
// are the chosen hosts; the answer's mirrors are those of them left with a
// URL, in order; no host is both placed and trimmed.
func TestTraceAccountsForAnswer(t *testing.T) {
	s := fixtures.TinySnapshot()
	targets, err := fixtures.Mix(fixtures.Config{Scale: fixtures.ScaleTiny}, 500)
	if err != nil {
		t.Fatal(err)
	}
	// A few that the mix lacks: the early answers, protocol= and country=.
	targets = append(targets,
		"/mirrorlist?path="+fixtures.TinyDirOS+"/..&ip="+fixtures.TinyAddrDE,
		"/mirrorlist?repo="+fixtures.TinyRepoDisabled+"&arch=x86_64&ip="+fixtures.TinyAddrDE,
		"/mirrorlist?repo=fedora-41&arch=x86_64",
		"/metalink?path="+fixtures.TinyDirOS+"&protocol=ftp&ip="+fixtures.TinyAddrDENetblock,
		"/mirrorlist?repo=fedora-41&arch=x86_64&country=AT,global&ip="+fixtures.TinyAddrCA,
	)
	for i, target := range targets {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			t.Fatal(err)
		}
		kind := Mirrorlist
		if strings.HasSuffix(u.Path, "/metalink") {
			kind = Metalink
		}
		plain, traced := new(Answer), new(Answer)
		var tr Trace
		Resolve(s, request(kind, u.RawQuery), Options{Minimum: 5}, rand.New(rand.NewPCG(uint64(i), 1)), plain)
		ResolveTraced(s, request(kind, u.RawQuery), Options{Minimum: 5}, rand.New(rand.NewPCG(uint64(i), 1)), traced, &tr)
		if got, want := render(s, traced), render(s, plain); got != want {
			t.Fatalf("%s: traced answer\n%s\nuntraced\n%s", target, got, want)
		}
		if err := checkTrace(traced, &tr); err != "" {
			t.Fatalf("%s: %s\nanswer:\n%s", target, err, render(s, traced))
		}
	}
}

// checkTrace returns what of a's making tr fails to account for.
func checkTrace(a *Answer, tr *Trace) string {
	if (a.Form == Message) != (tr.Stop != StopNone) {
		return "the trace's stop does not match the answer's form"
	}
	if !tr.Selected {
		if len(a.Mirrors) > 0 || len(tr.Steps) > 0 {
			return "mirrors or steps without a selection"
		}
		return ""
	}
	var placed []snapshot.HostRef
	trimmed := map[snapshot.HostRef]bool{}
	for _, st := range tr.Steps {
		for _, p := range st.Hosts {
			placed = append(placed, p.Host)
		}
		for _, p := range st.Trimmed {
			trimmed[p.Host] = true
		}
	}
	if !slices.Equal(placed, tr.Chosen) {
		return "the steps' hosts are not the chosen hosts"
	}
	var mirrors []snapshot.HostRef
	for _, m := range a.Mirrors {
		mirrors = append(mirrors, m.Host)
	}
	if a.Form == Message {
		return ""
	}
	// The mirrors are the chosen hosts in order, less some: without
	// protocol= filtering, only those without a URL for the directory.
	rest := mirrors
	for _, h := range tr.Chosen {
		if len(rest) > 0 && rest[0] == h {
			rest = rest[1:]
			continue
		}
		if urls, _ := a.Dir.URLs(h); !tr.Filtered && len(urls) > 0 {
			return "a chosen host with URLs is not in the unfiltered answer"
		}
	}
	if len(rest) > 0 {
		return "the answer's mirrors are not the chosen hosts in order"
	}
	for _, h := range tr.Chosen {
		if trimmed[h] {
			return "a host both placed and trimmed"
		}
	}
	return ""
}
