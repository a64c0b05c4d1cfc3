package resolve

import (
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
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

// TestMirrorlist checks whole mirrorlist answers, for the selection steps
// of docs/protocol.md section 5 and the URL rules of section 6, against the
// files testdata/mirrorlist/*.txtar. A file holds, after a comment naming
// the case:
//
//	-- request --  the query, then optional lines "minimum: N" (--minimum,
//	               5 if absent) and "allow: HOST CC..." (the snapshot edited
//	               so that host HOST serves only those client countries)
//	-- answer --   the mirrorlist, in paragraphs (see checkGrouped): the
//	               header, then the groups of mirrors in order, the lines
//	               of a group in any order
//
// Every answer is checked with several seeds.
func TestMirrorlist(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "mirrorlist", "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			query, minimum, edit := mirrorlistRequest(t, section(t, ar, "request"))
			want := string(section(t, ar, "answer"))
			s := tinySnapshot(t, edit)
			for seed := range uint64(seeds) {
				a := resolveQuery(s, Mirrorlist, query, minimum, seed)
				if a.Form != Text || a.Status != 200 {
					t.Fatalf("form %d status %d, want text 200: %s", a.Form, a.Status, render(s, a))
				}
				if err := checkGrouped(want, render(s, a)); err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
			}
		})
	}
}

// mirrorlistRequest reads the request section of a TestMirrorlist file.
func mirrorlistRequest(t *testing.T, text []byte) (query string, minimum int, edit func(*mm.MirrorList)) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
	query, minimum = lines[0], 5
	for _, l := range lines[1:] {
		key, value, _ := strings.Cut(l, ": ")
		fields := strings.Fields(value)
		var err error
		switch {
		case key == "minimum" && len(fields) == 1:
			minimum, err = strconv.Atoi(fields[0])
		case key == "allow" && len(fields) >= 2:
			var host int64
			host, err = strconv.ParseInt(fields[0], 10, 64)
			edit = allowOnly(host, fields[1:]...)
		default:
			err = errors.New("want minimum: N or allow: HOST CC...")
		}
		if err != nil {
			t.Fatalf("request line %q: %v", l, err)
		}
	}
	return query, minimum, edit
}

// section returns the named file of ar.
func section(t *testing.T, ar *txtar.Archive, name string) []byte {
	t.Helper()
	for _, f := range ar.Files {
		if f.Name == name {
			return f.Data
		}
	}
	t.Fatalf("no %s section", name)
	return nil
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

// TestAnswerLiterals pins a few URLs of file answers and of a base URL
// with a trailing slash.
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
