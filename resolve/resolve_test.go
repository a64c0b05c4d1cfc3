package resolve

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	mm "github.com/mirrorlist-go/mirrorlist-server/proto"
)

// Client addresses of the tiny fixture, as ip= parameters.
const (
	ipDE        = "&ip=" + fixtures.TinyAddrDE
	ipDEMapped  = "&ip=" + fixtures.TinyAddrDEMapped
	ipDENet     = "&ip=" + fixtures.TinyAddrDENetblock
	ipDEPrivate = "&ip=" + fixtures.TinyAddrDEPrivate
	ipDE6Net    = "&ip=" + fixtures.TinyAddrDE6Netblock
	ipFR        = "&ip=" + fixtures.TinyAddrFR
	ipUS        = "&ip=" + fixtures.TinyAddrUS
	ipUSASN     = "&ip=" + fixtures.TinyAddrUSASN
	ipUSASN6    = "&ip=" + fixtures.TinyAddrUSASN6
	ipCA        = "&ip=" + fixtures.TinyAddrCA
	ipCAOver    = "&ip=" + fixtures.TinyAddrCAOverride
	ipTR        = "&ip=" + fixtures.TinyAddrTR
	ipTRBare    = "&ip=" + fixtures.TinyAddrTRBare
	ipUnknown   = "&ip=" + fixtures.TinyAddrUnknown

	fedora41 = "repo=fedora-41&arch=x86_64"
	hFedora  = "# repo = fedora-41 arch = x86_64 "
)

// seeds is how many seeds every randomised expectation is checked with.
const seeds = 12

type mirrorlistCase struct {
	name    string
	query   string
	minimum int // 0 means the default of 5; use -1 for a real 0
	edit    func(*mm.MirrorList)
	want    expect
}

// TestMirrorlist checks whole mirrorlist answers for the selection steps of
// docs/protocol.md section 5 and the URL rules of section 6. Where an answer has
// groups in random order, every seed must put the group's lines together,
// and the groups in the expected order.
func TestMirrorlist(t *testing.T) {
	updH := "# repo = updates-released-f41 arch = x86_64 "
	upd := func(base string) string { return base + updSub + "/" }
	epel := func(base string) string { return base + epelSub + "/" }
	src := func(base string) string { return base + srcSub + "/" }
	file := func(base string) string { return base + osSub + "/repodata/repomd.xml" }

	cases := []mirrorlistCase{
		// GeoIP country, then its continent, then the global list.
		{name: "geoip FR", query: fedora41 + ipFR,
			want: exactly(hFedora+"country = FR country = DE country = global ", osd(frS)).
				then(osd(de1S), osd(de2H)).
				then(osd(usS), osd(asnS), osd(caS))},
		{name: "geoip DE", query: fedora41 + ipDE,
			want: expect{head: hFedora + "country = DE country = FR country = global "}.
				then(osd(de1S), osd(de2H)).then(osd(frS)).
				then(osd(usS), osd(asnS), osd(caS))},
		{name: "IPv4-mapped address is its IPv4 address", query: fedora41 + ipDEMapped,
			want: expect{head: hFedora + "country = DE country = FR country = global "}.
				then(osd(de1S), osd(de2H)).then(osd(frS)).
				then(osd(usS), osd(asnS), osd(caS))},
		{name: "geoip US", query: fedora41 + ipUS,
			want: expect{head: hFedora + "country = US country = CA country = global "}.
				then(osd(usS), osd(asnS), osd(allS)).then(osd(caS)).
				then(osd(de1S), osd(de2H), osd(frS))},
		{name: "geoip CA", query: fedora41 + ipCA,
			want: exactly(hFedora+"country = CA country = US country = global ", osd(caS)).
				then(osd(usS), osd(asnS), osd(allS)).
				then(osd(de1S), osd(de2H), osd(frS))},
		{name: "NetblockCountryCache overrides GeoIP", query: fedora41 + ipCAOver,
			want: expect{head: hFedora + "country = US country = CA country = global "}.
				then(osd(usS), osd(asnS), osd(allS)).then(osd(caS)).
				then(osd(de1S), osd(de2H), osd(frS))},
		{name: "continent redirect: TR is in EU", query: fedora41 + ipTR,
			want: expect{head: hFedora + "country = DE country = FR country = global "}.
				then(osd(de1S), osd(de2H), osd(frS)).
				then(osd(usS), osd(asnS), osd(caS))},
		{name: "unknown client country: global only", query: fedora41 + ipUnknown,
			want: expect{head: hFedora + "country = global "}.
				then(osd(de1S), osd(de2H), osd(frS), osd(usS), osd(asnS), osd(caS))},

		// Netblocks and ASN.
		{name: "netblocks: longest prefix first, private host included", query: fedora41 + ipDENet,
			want: exactly(hFedora+"Using preferred netblock country = DE country = FR country = global ",
				osd(de2H), osd(privS), osd(de1S), osd(frS)).
				then(osd(usS), osd(asnS), osd(caS))},
		{name: "netblock=1 is the default", query: fedora41 + ipDENet + "&netblock=1",
			want: exactly(hFedora+"Using preferred netblock country = DE country = FR country = global ",
				osd(de2H), osd(privS), osd(de1S), osd(frS)).
				then(osd(usS), osd(asnS), osd(caS))},
		{name: "netblock=0 turns netblocks off", query: fedora41 + ipDENet + "&netblock=0",
			want: expect{head: hFedora + "country = DE country = FR country = global "}.
				then(osd(de1S), osd(de2H)).then(osd(frS)).
				then(osd(usS), osd(asnS), osd(caS))},
		{name: "netblock host must carry the directory", query: "repo=updates-released-f41&arch=x86_64" + ipDENet,
			want: exactly(updH+"Using preferred netblock country = DE country = FR country = global ",
				upd(privS), upd(de1S), upd(frS)).
				then(upd(usS), upd(asnS), upd(caS))},
		{name: "IPv6 netblock", query: fedora41 + ipDE6Net,
			want: exactly(hFedora+"Using preferred netblock country = DE country = FR country = global ", osd(privS)).
				then(osd(de1S), osd(de2H)).then(osd(frS)).
				then(osd(usS), osd(asnS), osd(caS))},
		{name: "bare-address netblock", query: fedora41 + ipTRBare,
			want: exactly(hFedora+"Using preferred netblock country = DE country = FR country = global ", osd(caS)).
				then(osd(de1S), osd(de2H), osd(frS)).
				then(osd(usS), osd(asnS))},
		{name: "ASN", query: fedora41 + ipUSASN,
			want: exactly(hFedora+"Using ASN 7018 country = US country = CA country = global ", osd(asnS)).
				then(osd(usS), osd(allS)).then(osd(caS)).
				then(osd(de1S), osd(de2H), osd(frS))},
		{name: "ASN IPv6", query: fedora41 + ipUSASN6,
			want: exactly(hFedora+"Using ASN 7018 country = US country = CA country = global ", osd(asnS)).
				then(osd(usS), osd(allS)).then(osd(caS)).
				then(osd(de1S), osd(de2H), osd(frS))},
		{name: "netblock and ASN hosts are not trimmed by client country", query: fedora41 + ipUSASN + "&netblock=1",
			edit: allowOnly(fixtures.TinyHostASN, "FR"),
			want: exactly(hFedora+"Using ASN 7018 country = US country = CA country = global ", osd(asnS)).
				then(osd(usS), osd(allS)).then(osd(caS)).
				then(osd(de1S), osd(de2H), osd(frS))},
		{name: "netblock host not trimmed by client country", query: fedora41 + ipDEPrivate, minimum: -1,
			edit: allowOnly(fixtures.TinyHostPrivate, "FR"),
			want: exactly(hFedora+"Using preferred netblock country = DE country = FR ", osd(privS)).
				then(osd(de1S), osd(de2H)).then(osd(frS))},

		// Requested countries.
		{name: "country=FR", query: fedora41 + ipUS + "&country=FR",
			want: exactly(hFedora+"country = FR ", osd(frS))},
		{name: "country=fr: header as written", query: fedora41 + ipUS + "&country=fr",
			want: exactly(hFedora+"country = fr ", osd(frS))},
		{name: "cc= when country= is absent", query: fedora41 + ipUS + "&cc=FR",
			want: exactly(hFedora+"country = FR ", osd(frS))},
		{name: "country=FR,DE: sorted, one group", query: fedora41 + ipUS + "&country=FR,DE",
			want: expect{head: hFedora + "country = DE country = FR "}.then(osd(de1S), osd(de2H), osd(frS))},
		{name: "country=FR,FR: duplicates removed", query: fedora41 + ipUS + "&country=FR,FR",
			want: exactly(hFedora+"country = FR ", osd(frS))},
		{name: "country=global, trimmed for DE", query: fedora41 + ipDE + "&country=global",
			want: expect{head: hFedora + "country = global "}.
				then(osd(de1S), osd(de2H), osd(frS), osd(usS), osd(asnS), osd(caS))},
		{name: "country=global from US", query: fedora41 + ipUS + "&country=global",
			want: expect{head: hFedora + "country = global "}.
				then(osd(de1S), osd(de2H), osd(frS), osd(usS), osd(asnS), osd(allS), osd(caS))},
		{name: "country=GLOBAL,FR", query: fedora41 + ipUS + "&country=GLOBAL,FR",
			want: expect{head: hFedora + "country = FR country = global "}.
				then(osd(de1S), osd(de2H), osd(frS), osd(usS), osd(asnS), osd(allS), osd(caS))},
		{name: "country without mirrors: its continent, country-only", query: fedora41 + ipUS + "&country=AT",
			want: expect{head: hFedora + "country = DE country = FR "}.then(osd(de1S), osd(de2H), osd(frS))},
		{name: "country without mirrors, redirected continent", query: fedora41 + ipUS + "&country=tr",
			want: expect{head: hFedora + "country = DE country = FR "}.then(osd(de1S), osd(de2H), osd(frS))},
		{name: "country and continent without mirrors: normal selection", query: fedora41 + ipUS + "&country=JP",
			want: expect{head: hFedora + "country = US country = CA country = global "}.
				then(osd(usS), osd(asnS), osd(allS)).then(osd(caS)).
				then(osd(de1S), osd(de2H), osd(frS))},
		{name: "unknown country: normal selection without netblocks", query: fedora41 + ipUSASN + "&country=XX",
			want: expect{head: hFedora + "country = US country = CA country = global "}.
				then(osd(usS), osd(asnS), osd(allS)).then(osd(caS)).
				then(osd(de1S), osd(de2H), osd(frS))},
		{name: "country= empty is no request", query: fedora41 + ipDENet + "&country=",
			want: exactly(hFedora+"Using preferred netblock country = DE country = FR country = global ",
				osd(de2H), osd(privS), osd(de1S), osd(frS)).
				then(osd(usS), osd(asnS), osd(caS))},
		{name: "requested country trimmed by client country", query: fedora41 + ipDE + "&country=US",
			want: expect{head: hFedora + "country = US "}.then(osd(usS), osd(asnS))},
		{name: "requested country turns netblocks off", query: fedora41 + ipDENet + "&country=FR",
			want: exactly(hFedora+"country = FR ", osd(frS))},

		// Trimming of the geoip and continent groups (deviation D13).
		{name: "geoip group trimmed by client country", query: fedora41 + ipUS,
			edit: allowOnly(fixtures.TinyHostAllowed, "CA"),
			want: expect{head: hFedora + "country = US country = CA country = global "}.
				then(osd(usS), osd(asnS)).then(osd(caS)).
				then(osd(de1S), osd(de2H), osd(frS))},
		{name: "continent group trimmed by client country", query: fedora41 + ipCA,
			edit: allowOnly(fixtures.TinyHostAllowed, "US"),
			want: exactly(hFedora+"country = CA country = US country = global ", osd(caS)).
				then(osd(usS), osd(asnS)).
				then(osd(de1S), osd(de2H), osd(frS))},

		// The minimum.
		{name: "minimum reached: no global", query: fedora41 + ipFR, minimum: 3,
			want: exactly(hFedora+"country = FR country = DE ", osd(frS)).then(osd(de1S), osd(de2H))},
		{name: "minimum 0: nothing", query: fedora41 + ipUnknown, minimum: -1,
			want: exactly(hFedora)},
		{name: "country-only: no global below the minimum", query: fedora41 + ipFR + "&country=FR", minimum: 50,
			want: exactly(hFedora+"country = FR ", osd(frS))},

		// Repositories and paths.
		{name: "source arch rewrite", query: "repo=fedora-source-41&arch=x86_64" + ipFR,
			want: exactly("# repo = fedora-source-41 arch = source country = DE country = global ",
				src(de1S), src(usS))},
		{name: "repo redirect", query: "repo=epel-10&arch=x86_64" + ipFR,
			want: exactly("# repo = epel-10.1 arch = x86_64 country = FR country = DE country = global ",
				epel(epelFRS), epel(epelDE1S)).then(epel(epelUSS), epel(epelCAS))},
		{name: "version", query: "repo=fedora&version=41&arch=x86_64" + ipFR + "&country=FR",
			want: exactly(hFedora+"country = FR ", osd(frS))},
		{name: "path: directory", query: "path=" + osDir + ipFR,
			want: exactly("# path = "+osDir+" country = FR country = DE country = global ", osd(frS)).
				then(osd(de1S), osd(de2H)).
				then(osd(usS), osd(asnS), osd(caS))},
		{name: "path: slashes trimmed and collapsed",
			query: "path=//pub//fedora/linux///releases/41/Everything/x86_64/os//" + ipFR + "&country=FR",
			want:  exactly("# path = "+osDir+" country = FR ", osd(frS))},
		{name: "path: file", query: "path=" + osRepodata + "/repomd.xml" + ipFR,
			want: exactly("# path = "+osRepodata+"/repomd.xml country = FR country = DE country = global ", file(frS)).
				then(file(de1S), file(de2H)).
				then(file(usS), file(asnS), file(caS))},
		{name: "path: category top, URL with trailing slash", query: "path=pub/fedora/linux" + ipUS + "&country=US",
			want: expect{head: "# path = pub/fedora/linux country = US "}.then(
				"https://mirror.us.example.com/fedora/",
				"https://asn-mirror.us.example.com/pub/fedora/linux//",
				"https://allowed.us.example.com/linux/")},
		{name: "path: file in category top", query: "path=pub/fedora/linux/README" + ipUS + "&country=US",
			want: expect{head: "# path = pub/fedora/linux/README country = US "}.then(
				"https://mirror.us.example.com/fedora/README",
				"https://asn-mirror.us.example.com/pub/fedora/linux/README",
				"https://allowed.us.example.com/linux/README")},
		{name: "path and repo: path wins", query: "path=" + osDir + "&" + fedora41 + ipFR + "&country=FR",
			want: exactly("# path = "+osDir+" country = FR ", osd(frS))},

		// protocol= and scheme preference.
		{name: "protocol=rsync", query: fedora41 + ipFR + "&protocol=rsync",
			want: exactly(hFedora+"country = FR country = DE country = global protocol = rsync",
				frR+osSub+"/", de1R+osSub+"/")},
		{name: "protocol=https,ftp", query: fedora41 + ipFR + "&protocol=https,ftp",
			want: exactly(hFedora+"country = FR country = DE country = global protocol = https,ftp", osd(frS)).
				then(osd(de1S), osd(de2F)).
				then(osd(usS), osd(asnS), osd(caS))},
		{name: "protocol=http", query: fedora41 + ipDE + "&protocol=http",
			want: expect{head: hFedora + "country = DE country = FR country = global protocol = http"}.
				then(osd(de1H), osd(de2H)).then(osd(usH), osd(caH))},
		// As in production: the count before the global step is of the
		// unfiltered hosts, and each host lists every URL (issue 14 items 6, 7).
		{name: "protocol matching nothing: unfiltered, every URL, counted", query: fedora41 + ipFR + "&protocol=gopher", minimum: 3,
			want: exactly(hFedora+"country = FR country = DE protocol = gopher", osd(frS), frR+osSub+"/").
				then(osd(de1S), osd(de1H), de1R+osSub+"/", osd(de2H), osd(de2F))},
		{name: "protocol=https,http: up to two URLs a host, https first", query: fedora41 + ipFR + "&protocol=https,http",
			want: exactly(hFedora+"country = FR country = DE country = global protocol = https,http", osd(frS)).
				then(osd(de1S), osd(de1H), osd(de2H)).
				then(osd(usS), osd(usH), osd(asnS), osd(caS), osd(caH))},

		// time.
		{name: "time", query: fedora41 + ipFR + "&country=FR&time",
			want: exactly(hFedora+"country = FR \n# database creation time: 1732480000", osd(frS))},
		{name: "time after protocol", query: fedora41 + ipFR + "&country=FR&protocol=https&time=1",
			want: exactly(hFedora+"country = FR protocol = https\n# database creation time: 1732480000", osd(frS))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := tinySnapshot(t, c.edit)
			minimum := c.minimum
			switch minimum {
			case 0:
				minimum = 5
			case -1:
				minimum = 0
			}
			for seed := range uint64(seeds) {
				a := resolveQuery(s, Mirrorlist, c.query, minimum, seed)
				if a.Form != Text || a.Status != 200 {
					t.Fatalf("form %d status %d, want text 200: %s", a.Form, a.Status, render(s, a))
				}
				if err := c.want.check(render(s, a)); err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
			}
		})
	}
}

// allowOnly returns an edit that sets host's HostCountryAllowedCache entry.
func allowOnly(host int64, countries ...string) func(*mm.MirrorList) {
	return func(ml *mm.MirrorList) {
		for _, e := range ml.HostCountryAllowedCache {
			if e.GetKey() == host {
				e.Value = countries
				return
			}
		}
		ml.HostCountryAllowedCache = append(ml.HostCountryAllowedCache,
			&mm.IntRepeatedStringMap{Key: proto.Int64(host), Value: countries})
	}
}

// TestAnswerLiterals pins a few URLs written out in full, so that the
// building blocks of the tables above are checked against plain text too.
func TestAnswerLiterals(t *testing.T) {
	s := tinySnapshot(t, nil)
	got := render(s, resolveQuery(s, Mirrorlist, "path="+osRepodata+"/repomd.xml&country=US&ip=20.64.1.1&protocol=https", 5, 7))
	for _, want := range []string{
		"https://asn-mirror.us.example.com/pub/fedora/linux//releases/41/Everything/x86_64/os/repodata/repomd.xml\n",
		"https://mirror.us.example.com/fedora/releases/41/Everything/x86_64/os/repodata/repomd.xml\n",
		"https://allowed.us.example.com/linux/releases/41/Everything/x86_64/os/repodata/repomd.xml\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("answer lacks %q:\n%s", want, got)
		}
	}
	got = render(s, resolveQuery(s, Mirrorlist, fedora41+"&country=US&ip=20.1.2.3", 5, 7))
	if !strings.Contains(got, "https://asn-mirror.us.example.com/pub/fedora/linux//releases/41/Everything/x86_64/os/\n") {
		t.Errorf("directory URL of a base with a trailing slash:\n%s", got)
	}
}

// TestSeeded pins whole randomised answers for seed 1, byte for byte, and
// checks that a seed reproduces its answer while different seeds vary it.
// The group constraints these answers satisfy for any seed are checked in
// TestMirrorlist; a change of how Resolve draws from its rng changes these
// strings and nothing else.
func TestSeeded(t *testing.T) {
	const (
		osTail  = "/releases/41/Everything/x86_64/os/"
		repomd  = "/releases/41/Everything/x86_64/os/repodata/repomd.xml"
		asnBase = "https://asn-mirror.us.example.com/pub/fedora/linux/"
	)
	cases := []struct {
		kind  Kind
		query string
		want  string
	}{
		{Mirrorlist, fedora41 + ipFR, hFedora + "country = FR country = DE country = global \n" +
			"https://miroir.fr.example.org/fedora/linux" + osTail + "\n" +
			"https://mirror1.de.example.org/pub/fedora/linux" + osTail + "\n" +
			"http://ftp.de2.example.net/fedora/linux" + osTail + "\n" +
			"https://mirror.us.example.com/fedora" + osTail + "\n" +
			"https://mirror.ca.example.org/fedora/linux" + osTail + "\n" +
			asnBase + osTail + "\n"},
		{Metalink, fedora41 + ipUSASN, "200 repomd.xml 1\n" +
			"100 US " + asnBase + repomd + "\n" +
			"99 US https://mirror.us.example.com/fedora" + repomd + "\n" +
			"99 US http://mirror.us.example.com/fedora" + repomd + "\n" +
			"98 US https://allowed.us.example.com/linux" + repomd + "\n" +
			"98 US http://allowed.us.example.com/linux" + repomd + "\n" +
			"97 CA http://mirror.ca.example.org/fedora/linux" + repomd + "\n" +
			"97 CA https://mirror.ca.example.org/fedora/linux" + repomd + "\n" +
			"96 DE https://mirror1.de.example.org/pub/fedora/linux" + repomd + "\n" +
			"96 DE http://mirror1.de.example.org/pub/fedora/linux" + repomd + "\n" +
			"96 DE rsync://mirror1.de.example.org/pub/fedora/linux" + repomd + "\n" +
			"95 FR https://miroir.fr.example.org/fedora/linux" + repomd + "\n" +
			"95 FR rsync://miroir.fr.example.org/fedora/linux" + repomd + "\n" +
			"94 DE http://ftp.de2.example.net/fedora/linux" + repomd + "\n" +
			"94 DE ftp://ftp.de2.example.net/fedora/linux" + repomd + "\n"},
		{Mirrorlist, fedora41 + ipUnknown + "&protocol=https,http", hFedora + "country = global protocol = https,http\n" +
			"https://mirror1.de.example.org/pub/fedora/linux" + osTail + "\n" +
			"http://mirror1.de.example.org/pub/fedora/linux" + osTail + "\n" +
			"https://mirror.us.example.com/fedora" + osTail + "\n" +
			"http://mirror.us.example.com/fedora" + osTail + "\n" +
			"https://miroir.fr.example.org/fedora/linux" + osTail + "\n" +
			"https://mirror.ca.example.org/fedora/linux" + osTail + "\n" +
			"http://mirror.ca.example.org/fedora/linux" + osTail + "\n" +
			"http://ftp.de2.example.net/fedora/linux" + osTail + "\n" +
			asnBase + osTail + "\n"},
	}
	s := tinySnapshot(t, nil)
	for _, c := range cases {
		if got := render(s, resolveQuery(s, c.kind, c.query, 5, 1)); got != c.want {
			t.Errorf("%s, seed 1:\ngot\n%s\nwant\n%s", c.query, got, c.want)
		}
		if a, b := render(s, resolveQuery(s, c.kind, c.query, 5, 9)), render(s, resolveQuery(s, c.kind, c.query, 5, 9)); a != b {
			t.Errorf("%s: seed 9 gave two answers", c.query)
		}
		answers := map[string]bool{}
		for seed := range uint64(20) {
			answers[render(s, resolveQuery(s, c.kind, c.query, 5, seed))] = true
		}
		if len(answers) < 2 {
			t.Errorf("%s: 20 seeds gave one answer", c.query)
		}
	}
}
