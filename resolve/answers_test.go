package resolve

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	mm "github.com/mirrorlist-go/mirrorlist-server/proto"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// addRepos is an edit that adds repositories whose directories are
// missing (broken-1), have no repodata entry (top-1), or already end in
// /repodata (rd-1).
func addRepos(ml *mm.MirrorList) {
	for key, dir := range map[string]string{
		"broken-1+x86_64": "no/such/dir",
		"top-1+x86_64":    fixtures.TinyDirTop,
		"rd-1+x86_64":     fixtures.TinyDirOSRepodata,
	} {
		ml.RepoArchToDirectoryName = append(ml.RepoArchToDirectoryName,
			&mm.StringStringMap{Key: proto.String(key), Value: proto.String(dir)})
	}
}

// repoList is the invalid-repo listing of the tiny set with addRepos.
const repoList = "error: invalid repo or arch\n# following repositories are available:\n" +
	"# repo=broken-1&arch=x86_64\n" +
	"# repo=epel-10.1&arch=x86_64\n" +
	"# repo=fedora-41&arch=x86_64\n" +
	"# repo=fedora-source-41&arch=source\n" +
	"# repo=rd-1&arch=x86_64\n" +
	"# repo=top-1&arch=x86_64\n" +
	"# repo=updates-released-f41&arch=x86_64\n"

// TestMessages checks every error answer of docs/protocol.md section 3 and the
// metalink 404, for both kinds of request: status, text, and whether it is
// plain text even for a metalink ("plain") or a failure document there
// ("doc"). It also checks that the client address is checked only after
// the request's validation.
func TestMessages(t *testing.T) {
	missing := "200 doc\n# either path=, or repo= and arch= must be specified"
	badClient := "500 doc\nCannot parse client IP address. Aborting."
	broken := "500 plain\nmirrorlist cache index out of range, you broke it!"
	cases := []struct {
		name     string
		query    string
		kinds    []Kind
		want     string
		wantHead string
	}{
		{name: "no parameters", query: "", want: missing},
		{name: "repo without arch", query: "repo=fedora-41" + ipFR, want: missing},
		{name: "arch without repo", query: "arch=x86_64" + ipFR, want: missing},
		{name: "only other parameters", query: "country=DE&protocol=https" + ipFR, want: missing},
		{name: "missing parameters before client address", query: "", want: missing},
		{name: "invalid path", query: "path=no/such/dir/file" + ipFR,
			want: "404 doc\nerror: invalid path", wantHead: "# path = no/such/dir/file "},
		{name: "invalid path, single component", query: "path=/nothing/" + ipFR,
			want: "404 doc\nerror: invalid path", wantHead: "# path = nothing "},
		{name: "empty path", query: "path=" + ipFR, want: "404 doc\nerror: invalid path", wantHead: "# path =  "},
		{name: "invalid path before client address", query: "path=no/such/dir/file",
			want: "404 doc\nerror: invalid path"},
		{name: "repo disabled", query: "repo=updates-testing-f41&arch=x86_64" + ipFR,
			want: "200 doc\nrepo disabled", wantHead: "# repo = updates-testing-f41 arch = x86_64 "},
		{name: "repo disabled before client address", query: "repo=updates-testing-f41&arch=x86_64",
			want: "200 doc\nrepo disabled"},
		{name: "invalid repo", query: "repo=nope&arch=x86_64" + ipFR,
			want: "404 doc\n# repo = nope arch = x86_64 " + repoList},
		{name: "invalid arch", query: "repo=fedora-41&arch=ppc64" + ipFR,
			want: "404 doc\n# repo = fedora-41 arch = ppc64 " + repoList},
		{name: "invalid repo after source rewrite", query: "repo=fedora-source-42&arch=x86_64",
			want: "404 doc\n# repo = fedora-source-42 arch = source " + repoList},
		{name: "broken index", query: "repo=broken-1&arch=x86_64" + ipFR, want: broken},
		{name: "broken index before client address", query: "repo=broken-1&arch=x86_64", want: broken},
		{name: "metalink directory missing", query: "repo=top-1&arch=x86_64" + ipFR,
			kinds: []Kind{Metalink}, want: broken},
		{name: "client address", query: fedora41, want: badClient},
		{name: "client address, path", query: "path=" + osDir, want: badClient},
		{name: "metalink of a directory", query: "path=" + osDir + ipFR, kinds: []Kind{Metalink},
			want: "404 doc\n" + osDir + "/ not found or has not metalink"},
		{name: "metalink of a file without details", query: "path=" + osRepodata + "/nope.xml" + ipFR,
			kinds: []Kind{Metalink}, want: "404 doc\n" + osRepodata + "/nope.xml not found or has not metalink"},
		{name: "metalink of a directory without file details", query: "repo=top-1&arch=x86_64" + ipFR,
			kinds: []Kind{Metalink}, want: broken},
	}
	s := tinySnapshot(t, addRepos)
	for _, c := range cases {
		kinds := c.kinds
		if kinds == nil {
			kinds = []Kind{Mirrorlist, Metalink}
		}
		for _, kind := range kinds {
			a := resolveQuery(s, kind, c.query, 5, 1)
			if got := render(s, a); got != c.want {
				t.Errorf("%s (kind %d):\ngot  %q\nwant %q", c.name, kind, got, c.want)
			}
			if c.wantHead != "" && string(a.Header) != c.wantHead {
				t.Errorf("%s (kind %d): header %q, want %q", c.name, kind, a.Header, c.wantHead)
			}
		}
	}
}

// TestMirrorlistOnlyRepos checks the repositories that only a mirrorlist
// can answer, or that a metalink answers from the directory itself.
func TestMirrorlistOnlyRepos(t *testing.T) {
	s := tinySnapshot(t, addRepos)
	a := resolveQuery(s, Mirrorlist, "repo=top-1&arch=x86_64&country=FR"+ipFR, 5, 1)
	if got, want := render(s, a), "# repo = top-1 arch = x86_64 country = FR \n"+frS+"/\n"; got != want {
		t.Errorf("mirrorlist of a category top:\ngot  %q\nwant %q", got, want)
	}
	a = resolveQuery(s, Metalink, "repo=rd-1&arch=x86_64&country=FR"+ipFR, 5, 1)
	if a.Dir == nil || a.Dir.Name != osRepodata || a.File != "repomd.xml" {
		t.Errorf("metalink of a repo ending in /repodata: dir %v file %q", a.Dir, a.File)
	}
}

// TestMetalink checks whole metalink answers: every URL of a host, the
// preference, the location and the private flag of each, and the file's
// details.
func TestMetalink(t *testing.T) {
	repomd := func(base string) string { return base + osSub + "/repodata/repomd.xml" }
	cases := []struct {
		name, query string
		minimum     int
		want        string
	}{
		{name: "every URL of a host", query: fedora41 + ipFR + "&country=FR", minimum: 5,
			want: "200 repomd.xml 1\n100 FR " + repomd(frS) + "\n100 FR " + repomd(frR) + "\n"},
		{name: "preferences, private host", query: fedora41 + ipDENet, minimum: 4,
			want: "200 repomd.xml 1\n" +
				"100 DE " + repomd(de2H) + "\n100 DE " + repomd(de2F) + "\n" +
				"99 DE private " + repomd(privS) + "\n" +
				"98 DE " + repomd(de1S) + "\n98 DE " + repomd(de1H) + "\n98 DE " + repomd(de1R) + "\n" +
				"97 FR " + repomd(frS) + "\n97 FR " + repomd(frR) + "\n"},
		{name: "location upper-cased, snapshot URL order", query: fedora41 + ipCA + "&country=CA", minimum: 5,
			want: "200 repomd.xml 1\n100 CA " + repomd(caH) + "\n100 CA " + repomd(caS) + "\n"},
		{name: "protocol=https,rsync", query: fedora41 + ipDE + "&country=DE&protocol=https,rsync", minimum: 5,
			want: "200 repomd.xml 1\n100 DE " + repomd(de1S) + "\n100 DE " + repomd(de1R) + "\n"},
		{name: "protocol=rsync,http", query: "repo=fedora-source-41&arch=source&country=DE&protocol=rsync,http" + ipDE, minimum: 5,
			want: "200 repomd.xml 1\n" +
				"100 DE " + de1H + srcSub + "/repodata/repomd.xml\n" +
				"100 DE " + de1R + srcSub + "/repodata/repomd.xml\n"},
		{name: "alternates", query: "repo=updates-released-f41&arch=x86_64&country=FR" + ipFR, minimum: 5,
			want: "200 repomd.xml 3\n100 FR " + frS + updSub + "/repodata/repomd.xml\n100 FR " + frR + updSub + "/repodata/repomd.xml\n"},
		{name: "source", query: "repo=fedora-source-41&arch=source&country=DE" + ipDE, minimum: 5,
			want: "200 repomd.xml 1\n" +
				"100 DE " + de1S + srcSub + "/repodata/repomd.xml\n" +
				"100 DE " + de1H + srcSub + "/repodata/repomd.xml\n" +
				"100 DE " + de1R + srcSub + "/repodata/repomd.xml\n"},
		{name: "file listed without details", minimum: 5,
			query: "path=" + fixtures.TinyDirEPELRepodata + "/" + fixtures.TinyFileNoDetails + "&country=FR" + ipFR,
			want: "200 repomd.xml.asc 0\n" +
				"100 FR " + epelFRS + epelSub + "/repodata/repomd.xml.asc\n" +
				"100 FR rsync://miroir.fr.example.org/epel" + epelSub + "/repodata/repomd.xml.asc\n"},
	}
	s := tinySnapshot(t, nil)
	for _, c := range cases {
		a := resolveQuery(s, Metalink, c.query, c.minimum, 1)
		if got := render(s, a); got != c.want {
			t.Errorf("%s:\ngot\n%s\nwant\n%s", c.name, got, c.want)
		}
	}

	a := resolveQuery(s, Metalink, fedora41+ipFR, 5, 1)
	if a.Details != s.Mirrors().Directory(osRepodata).File("repomd.xml") {
		t.Fatalf("Details %p is not the directory's repomd.xml", a.Details)
	}
	if v := a.Details.Versions[0]; v.Timestamp != 1729000000 || v.Size != 4611 {
		t.Errorf("details %+v, want timestamp 1729000000 and size 4611", v)
	}
}

// TestMetalinkInvariants checks, for many requests and seeds, what holds
// whatever the order: preferences count down by one per host from 100, the
// private flag is "not in Global", the location is the host's country.
func TestMetalinkInvariants(t *testing.T) {
	s := tinySnapshot(t, nil)
	queries := []string{fedora41 + ipFR, fedora41 + ipDENet, fedora41 + ipUS, fedora41 + ipUnknown,
		"repo=epel-10&arch=x86_64" + ipDE, fedora41 + ipTR + "&protocol=https"}
	for _, q := range queries {
		for seed := range uint64(seeds) {
			a := resolveQuery(s, Metalink, q, 5, seed)
			if a.Form != Document {
				t.Fatalf("%s: %s", q, render(s, a))
			}
			checkMirrors(t, s, a, q)
		}
	}
}

func checkMirrors(t *testing.T, s *snapshot.Snapshot, a *Answer, q string) {
	t.Helper()
	for i, m := range a.Mirrors {
		if want := max(100-i, 1); m.Preference != want {
			t.Errorf("%s: mirror %d preference %d, want %d", q, i, m.Preference, want)
		}
		if m.Private == a.Dir.InGlobal(m.Host) {
			t.Errorf("%s: mirror %d private %v", q, i, m.Private)
		}
		if want := strings.ToUpper(s.Mirrors().Host(m.Host).Country); m.Location != want {
			t.Errorf("%s: mirror %d location %q, want %q", q, i, m.Location, want)
		}
		if len(m.URLs) == 0 {
			t.Errorf("%s: mirror %d without URLs", q, i)
		}
	}
}

// TestPreferenceFloor checks that preferences stop at 1 after 100 hosts.
func TestPreferenceFloor(t *testing.T) {
	s := synthetic(t, 130, 0)
	a := resolveQuery(s, Metalink, "repo=synth-1&arch=x86_64&country=global"+ipFR, 5, 1)
	if len(a.Mirrors) != 130 {
		t.Fatalf("%d mirrors, want 130", len(a.Mirrors))
	}
	checkMirrors(t, s, a, "synthetic")
	if p := a.Mirrors[129].Preference; p != 1 {
		t.Errorf("last preference %d, want 1", p)
	}
}

// TestRedirect checks redirect answers: the first http(s) URL, by scheme
// preference, or 404.
func TestRedirect(t *testing.T) {
	cases := []struct {
		name, query string
		minimum     int
		want        []string // any of these
	}{
		{name: "first mirror", query: fedora41 + ipFR + "&redirect", minimum: 5,
			want: []string{"302 " + osd(frS)}},
		{name: "https preferred", query: fedora41 + ipCA + "&country=CA&redirect", minimum: 5,
			want: []string{"302 " + osd(caS)}},
		{name: "file", query: "path=" + osRepodata + "/repomd.xml&country=FR&redirect" + ipFR, minimum: 5,
			want: []string{"302 " + frS + osSub + "/repodata/repomd.xml"}},
		{name: "random first of a group", query: fedora41 + ipFR + "&country=DE,FR&redirect", minimum: 5,
			want: []string{"302 " + osd(de1S), "302 " + osd(de2H), "302 " + osd(frS)}},
		{name: "no http URL", query: fedora41 + ipFR + "&protocol=rsync&redirect", minimum: 5,
			want: []string{"404"}},
		{name: "ftp only", query: fedora41 + ipDE + "&country=DE&protocol=ftp&redirect", minimum: 5,
			want: []string{"404"}},
		{name: "no mirror", query: fedora41 + ipUnknown + "&redirect", minimum: 0,
			want: []string{"404"}},
	}
	s := tinySnapshot(t, nil)
	for _, c := range cases {
		for seed := range uint64(seeds) {
			a := resolveQuery(s, Mirrorlist, c.query, c.minimum, seed)
			got := render(s, a)
			if a.Form != Redirect || !contains(c.want, got) {
				t.Errorf("%s, seed %d: got %q, want one of %q", c.name, seed, got, c.want)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestLogAndFoundVia checks the access-log fields, the client country and
// the found-via value.
func TestLogAndFoundVia(t *testing.T) {
	type want struct {
		log            bool
		repo, arch, cc string
		foundVia       string
	}
	cases := []struct {
		name, query string
		minimum     int
		want        want
	}{
		{"geoip", fedora41 + ipFR, 5, want{log: true, repo: "fedora-41", arch: "x86_64", cc: "FR", foundVia: "geoip"}},
		{"netblocks", fedora41 + ipDENet, 5, want{log: true, repo: "fedora-41", arch: "x86_64", cc: "DE", foundVia: "netblocks"}},
		{"asn", fedora41 + ipUSASN, 5, want{log: true, repo: "fedora-41", arch: "x86_64", cc: "US", foundVia: "asn"}},
		{"country", fedora41 + ipUS + "&country=FR", 5, want{log: true, repo: "fedora-41", arch: "x86_64", cc: "US", foundVia: "country"}},
		{"continent", fedora41 + ipTR, 5, want{log: true, repo: "fedora-41", arch: "x86_64", cc: "TR", foundVia: "continent"}},
		{"global", fedora41 + ipUnknown, 5, want{log: true, repo: "fedora-41", arch: "x86_64", cc: "N/A", foundVia: "global"}},
		{"protocol= matching nothing: unfiltered hosts count", fedora41 + ipFR + "&protocol=gopher", 3, want{log: true, repo: "fedora-41", arch: "x86_64", cc: "FR", foundVia: "geoip"}},
		{"protocol= matching nothing, below the minimum", fedora41 + ipFR + "&protocol=gopher", 5, want{log: true, repo: "fedora-41", arch: "x86_64", cc: "FR", foundVia: "geoip"}},
		{"nothing", fedora41 + ipUnknown, 0, want{log: true, repo: "fedora-41", arch: "x86_64", cc: "N/A", foundVia: "none"}},
		{"repo before redirect", "repo=epel-10&arch=x86_64" + ipFR, 5, want{log: true, repo: "epel-10", arch: "x86_64", cc: "FR", foundVia: "geoip"}},
		{"arch after source rewrite", "repo=fedora-source-41&arch=x86_64" + ipFR, 5, want{log: true, repo: "fedora-source-41", arch: "source", cc: "FR", foundVia: "continent"}},
		{"version", "repo=fedora&version=41&arch=x86_64" + ipFR, 5, want{log: true, repo: "fedora-41", arch: "x86_64", cc: "FR", foundVia: "geoip"}},
		{"version, as sent", "repo=fedor%61&version=4%31&arch=x86_64" + ipFR, 5, want{log: true, repo: "fedor%61-4%31", arch: "x86_64", cc: "FR", foundVia: "geoip"}},
		{"repo and arch as sent", "repo=fedora%2D41&arch=x86%5F64" + ipFR, 5, want{log: true, repo: "fedora%2D41", arch: "x86%5F64", cc: "FR", foundVia: "geoip"}},
		{"path: no log", "path=" + osDir + ipFR, 5, want{cc: "FR", foundVia: "geoip"}},
		{"path with repo and arch: logged as given", "path=" + osDir + "&repo=fedora-source-41&arch=x86_64" + ipFR, 5,
			want{log: true, repo: "fedora-source-41", arch: "x86_64", cc: "FR", foundVia: "geoip"}},
		{"path with raw ';' and escapes: as sent", "path=" + osDir + "&repo=a;b%3Bc&arch=x%2086" + ipFR, 5,
			want{log: true, repo: "a;b%3Bc", arch: "x%2086", cc: "FR", foundVia: "geoip"}},
		{"netblock country override", fedora41 + ipCAOver, 5, want{log: true, repo: "fedora-41", arch: "x86_64", cc: "US", foundVia: "geoip"}},
		{"error: no log", "repo=updates-testing-f41&arch=x86_64" + ipFR, 5, want{foundVia: "none"}},
		{"bad client: no log", fedora41, 5, want{foundVia: "none"}},
	}
	s := tinySnapshot(t, nil)
	for _, c := range cases {
		a := resolveQuery(s, Mirrorlist, c.query, c.minimum, 1)
		got := want{log: a.Log, repo: a.LogRepo, arch: a.LogArch, cc: a.ClientCountry, foundVia: a.FoundVia.String()}
		if got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

// TestAnswerReuse checks that an Answer reused for other requests gives the
// same answers as a fresh one, and that a reused Answer makes a typical
// request almost allocation-free.
func TestAnswerReuse(t *testing.T) {
	s := tinySnapshot(t, addRepos)
	queries := []struct {
		kind  Kind
		query string
	}{
		{Metalink, fedora41 + ipDENet},
		{Mirrorlist, fedora41 + ipFR + "&protocol=https,ftp"},
		{Metalink, fedora41 + ipFR + "&protocol=https,rsync"},
		{Mirrorlist, "repo=nope&arch=x86_64" + ipFR},
		{Mirrorlist, fedora41 + ipUSASN + "&redirect&time"},
		{Metalink, "repo=updates-released-f41&arch=x86_64" + ipTR},
		{Mirrorlist, "path=" + osDir + ipCA},
	}
	var reused Answer
	for round := range 3 {
		for i, q := range queries {
			seed := uint64(round*100 + i)
			req := request(q.kind, q.query)
			Resolve(s, req, Options{Minimum: 5}, rand.New(rand.NewPCG(seed, 1)), &reused)
			fresh := resolveQuery(s, q.kind, q.query, 5, seed)
			if got, want := render(s, &reused), render(s, fresh); got != want {
				t.Errorf("round %d, %s: reused answer\n%s\nfresh answer\n%s", round, q.query, got, want)
			}
		}
	}

	req := request(Metalink, fedora41+ipFR)
	rng := rand.New(rand.NewPCG(1, 2))
	allocs := testing.AllocsPerRun(100, func() { Resolve(s, req, Options{Minimum: 5}, rng, &reused) })
	if allocs > 2 {
		t.Errorf("%.1f allocations per metalink request with a reused Answer, want at most 2", allocs)
	}
}

// TestProtocolLimit checks that protocol= keeps at most as many URLs per
// host as it names schemes, in snapshot order, when a host has two URLs of
// one scheme (here host 10 gets a second https URL).
func TestProtocolLimit(t *testing.T) {
	const second = "https://mirror1-b.de.example.org/pub/fedora/linux"
	s := tinySnapshot(t, secondURL(second, func(urls []int64) []int64 { return append(urls, 109) }))
	src := func(base string) string { return base + srcSub + "/repodata/repomd.xml" }
	query := "repo=fedora-source-41&arch=source&country=DE" + ipDE
	cases := []struct{ protocol, want string }{
		{"", "100 DE " + src(de1S) + "\n100 DE " + src(de1H) + "\n100 DE " + src(de1R) + "\n100 DE " + src(second) + "\n"},
		{"&protocol=https", "100 DE " + src(de1S) + "\n"},
		{"&protocol=https,https", "100 DE " + src(de1S) + "\n"},
		{"&protocol=https,ftp", "100 DE " + src(de1S) + "\n100 DE " + src(second) + "\n"},
	}
	for _, c := range cases {
		a := resolveQuery(s, Metalink, query+c.protocol, 5, 1)
		if got, want := render(s, a), "200 repomd.xml 1\n"+c.want; got != want {
			t.Errorf("%q:\ngot\n%s\nwant\n%s", c.protocol, got, want)
		}
	}
}

// secondURL returns an edit of the tiny set that adds hcurl 109, whose URL
// is second, and gives host 10 (TinyHostDE1), in every Fedora directory,
// the hcurls that urls makes of the ones it has.
func secondURL(second string, urls func([]int64) []int64) func(*mm.MirrorList) {
	return func(ml *mm.MirrorList) {
		ml.HCUrlCache = append(ml.HCUrlCache, &mm.IntStringMap{Key: proto.Int64(109), Value: proto.String(second)})
		for _, d := range ml.MirrorListCache {
			for _, e := range d.ByHostId {
				if e.GetKey() == fixtures.TinyHostDE1 && strings.HasPrefix(d.GetDirectory(), "pub/fedora") {
					e.Value = urls(e.Value)
				}
			}
		}
	}
}

// TestProtocolLimitMirrorlist checks that a mirrorlist with protocol=
// lists the URLs protocol= keeps, as production does, best scheme first:
// with host 10's URLs reordered to rsync, rsync, https, protocol=https,rsync
// keeps the two rsync URLs (the first two that match), and the https URL
// after them is not listed; with three schemes named all three are, https
// first.
func TestProtocolLimitMirrorlist(t *testing.T) {
	const second = "rsync://mirror1-b.de.example.org/pub/fedora/linux"
	s := tinySnapshot(t, secondURL(second, func([]int64) []int64 { return []int64{102, 109, 100} }))
	query := "repo=fedora-source-41&arch=source&country=DE" + ipDE
	head := "# repo = fedora-source-41 arch = source country = DE "
	cases := []struct{ protocol, want string }{
		{"", head + "\n" + de1S + srcSub + "/\n"},
		{"&protocol=https,rsync", head + "protocol = https,rsync\n" + de1R + srcSub + "/\n" + second + srcSub + "/\n"},
		{"&protocol=https,https,rsync,ftp", head + "protocol = https,https,rsync,ftp\n" +
			de1S + srcSub + "/\n" + de1R + srcSub + "/\n" + second + srcSub + "/\n"},
	}
	for _, c := range cases {
		a := resolveQuery(s, Mirrorlist, query+c.protocol, 5, 1)
		if got := render(s, a); got != c.want {
			t.Errorf("%q:\ngot\n%s\nwant\n%s", c.protocol, got, c.want)
		}
	}
}

// TestResetReleasesSnapshot checks that Reset leaves nothing in an Answer
// that points into the snapshot, so that a pooled Answer does not keep a
// replaced snapshot alive.
func TestResetReleasesSnapshot(t *testing.T) {
	s := tinySnapshot(t, nil)
	var a Answer
	Resolve(s, request(Metalink, fedora41+ipDENet+"&country=global"), Options{Minimum: 5}, rand.New(rand.NewPCG(1, 1)), &a)
	if len(a.Mirrors) == 0 {
		t.Fatal("no mirrors")
	}
	a.Reset()
	if a.Dir != nil || a.Details != nil || len(a.Mirrors) != 0 || len(a.Header) != 0 {
		t.Errorf("Reset left answer fields: %+v", a)
	}
	for i, m := range a.Mirrors[:cap(a.Mirrors)] {
		if m.URLs != nil || m.Location != "" {
			t.Errorf("mirror %d kept after Reset: %+v", i, m)
		}
	}
	sc := &a.scratch
	if sc.dir != nil {
		t.Error("Reset kept the directory")
	}
	for _, s := range slices.Concat(sc.countries[:cap(sc.countries)], sc.protos[:cap(sc.protos)]) {
		if s != "" {
			t.Errorf("Reset kept request string %q", s)
		}
	}
}

// TestNetblockFirstHost checks that a host preferred by a netblock joins
// the netblock group even when it is the first host of the directory's
// ByHostId list, as in production 3.1.1. Production 3.0.7 tested that
// list's index with "> 0" and so never preferred that host
// (docs/protocol.md section 11, after the table).
func TestNetblockFirstHost(t *testing.T) {
	s := tinySnapshot(t, func(ml *mm.MirrorList) {
		ml.HostNetblockCache = append(ml.HostNetblockCache,
			&mm.StringRepeatedIntMap{Key: proto.String("80.1.2.0/24"), Value: []int64{fixtures.TinyHostDE1}})
	})
	// Host 10 is the first of every directory's ByHostId (fixtures/tiny.go).
	a := resolveQuery(s, Mirrorlist, fedora41+ipDE, 5, 1)
	if a.FoundVia != ViaNetblocks || len(a.Mirrors) == 0 || s.Mirrors().Host(a.Mirrors[0].Host).ID != fixtures.TinyHostDE1 {
		t.Errorf("found via %v, mirrors %v: want host %d first, found via netblocks", a.FoundVia, a.Mirrors, fixtures.TinyHostDE1)
	}
	if !strings.Contains(string(a.Header), "Using preferred netblock ") {
		t.Errorf("header %q: no netblock", a.Header)
	}
}
