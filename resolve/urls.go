package resolve

import (
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// buildMirrors turns the chosen hosts into the answer's mirrors
// (docs/protocol.md, "URLs and protocols"): each host's URLs for the
// directory, filtered by protocol= unless no host at all would keep one.
// A metalink keeps them in snapshot order. A mirrorlist without protocol=,
// and every redirect, keeps one URL per host; a mirrorlist with protocol=
// keeps what a metalink would, as production does, best scheme first.
// Hosts left without a URL are dropped; the others get the metalink
// preference 100, 99, ... never below 1.
func (r *resolver) buildMirrors() {
	a := r.a
	filter := len(r.sc.protos) > 0 && r.anyMatchesProtocol()
	if r.t != nil {
		r.t.Filtered = filter
	}
	list := r.req.Kind == Mirrorlist
	one := list && (r.req.Redirect || !r.req.HasProto)
	pref := 100
	for _, h := range r.sc.order {
		urls, _ := r.urlsOf(h)
		switch {
		case one:
			urls = r.pickOne(urls, filter)
		case filter:
			urls = r.filterURLs(urls)
		}
		if list && !one && len(urls) > 1 {
			urls = r.ranked(urls)
		}
		if len(urls) == 0 {
			continue
		}
		// Filled in place: a Mirror built on the stack and copied in
		// whole is read back in wider loads than its fields were stored
		// with, which the CPU cannot forward, and stalls on every host.
		a.Mirrors = append(a.Mirrors, Mirror{})
		m := &a.Mirrors[len(a.Mirrors)-1]
		m.Host, m.URLs, m.Preference = h, urls, pref
		m.Private, m.Location = r.private(h), r.m.Host(h).Country
		pref = max(pref-1, 1)
	}
}

// anyMatchesProtocol reports whether some chosen host keeps a URL after
// protocol= filtering; if none does, the answer is not filtered.
func (r *resolver) anyMatchesProtocol() bool {
	for _, h := range r.sc.order {
		if r.matchesProtocol(h) {
			return true
		}
	}
	return false
}

// matchesProtocol reports whether h has a URL for the directory whose
// scheme protocol= names.
func (r *resolver) matchesProtocol(h snapshot.HostRef) bool {
	urls, _ := r.urlsOf(h)
	for _, u := range urls {
		if hasScheme(r.m.URL(u), r.sc.protos) {
			return true
		}
	}
	return false
}

// filterURLs returns the URLs whose scheme protocol= names, in snapshot
// order, at most as many as protocol= names schemes. The result lives in
// sc.urls, which only ever grows during a call, so earlier results stay
// intact.
func (r *resolver) filterURLs(urls []snapshot.URLRef) []snapshot.URLRef {
	start, limit := len(r.sc.urls), len(r.sc.protos)
	for _, u := range urls {
		if len(r.sc.urls)-start == limit {
			break
		}
		if hasScheme(r.m.URL(u), r.sc.protos) {
			r.sc.urls = append(r.sc.urls, u)
		}
	}
	end := len(r.sc.urls)
	return r.sc.urls[start:end:end]
}

// pickOne returns the one URL a mirrorlist lists for a host, as a
// one-element slice of urls: the best by scheme preference (https, http,
// ftp, anything else), the first in snapshot order among equals. With
// filter it chooses among the URLs protocol= keeps.
//
// A redirect prefers https, then http; since a redirect then only takes a
// URL starting with "http", ranking ftp above the rest changes nothing for
// it, and one ranking serves both.
func (r *resolver) pickOne(urls []snapshot.URLRef, filter bool) []snapshot.URLRef {
	best, bestRank, kept := -1, 0, 0
	for i, u := range urls {
		if filter {
			if kept == len(r.sc.protos) {
				break
			}
			if !hasScheme(r.m.URL(u), r.sc.protos) {
				continue
			}
			kept++
		}
		if rank := schemeRank(r.m.URLScheme(u)); best < 0 || rank < bestRank {
			best, bestRank = i, rank
		}
	}
	if best < 0 {
		return nil
	}
	return urls[best : best+1 : best+1]
}

// ranked returns urls ordered by scheme preference (schemeRank), in
// snapshot order among equals. The result lives in sc.urls, as
// filterURLs's does.
func (r *resolver) ranked(urls []snapshot.URLRef) []snapshot.URLRef {
	start := len(r.sc.urls)
	for rank := range schemeRanks {
		for _, u := range urls {
			if schemeRank(r.m.URLScheme(u)) == rank {
				r.sc.urls = append(r.sc.urls, u)
			}
		}
	}
	end := len(r.sc.urls)
	return r.sc.urls[start:end:end]
}

// schemeRanks is the number of ranks schemeRank gives.
const schemeRanks = 4

// schemeRank orders URLs by scheme for a mirrorlist: lower is better.
func schemeRank(s snapshot.Scheme) int {
	switch s {
	case snapshot.HTTPS:
		return 0
	case snapshot.HTTP:
		return 1
	case snapshot.FTP:
		return 2
	}
	return 3
}

// hasScheme reports whether url starts with one of schemes followed by a
// colon.
func hasScheme(url string, schemes []string) bool {
	for _, s := range schemes {
		if len(url) > len(s) && url[len(s)] == ':' && url[:len(s)] == s {
			return true
		}
	}
	return false
}
