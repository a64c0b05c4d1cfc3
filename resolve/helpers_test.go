package resolve

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	mm "github.com/mirrorlist-go/mirrorlist-server/proto"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// tinySnapshot returns the tiny fixture's snapshot or, when edit is not
// nil, a snapshot of the tiny set whose cache file edit has changed.
func tinySnapshot(t testing.TB, edit func(*mm.MirrorList)) *snapshot.Snapshot {
	t.Helper()
	if edit == nil {
		return fixtures.TinySnapshot()
	}
	var ml mm.MirrorList
	if err := proto.Unmarshal(fixtures.Tiny().Snapshot, &ml); err != nil {
		t.Fatal(err)
	}
	edit(&ml)
	data, err := proto.Marshal(&ml)
	if err != nil {
		t.Fatal(err)
	}
	return withCache(t, data)
}

// withCache builds a snapshot of the cache file data and the tiny set's
// other three parts, as a reload of the cache file alone does.
func withCache(t testing.TB, data []byte) *snapshot.Snapshot {
	t.Helper()
	m, err := snapshot.BuildMirrors(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	_, g, r, c := fixtures.TinySnapshot().Parts()
	return snapshot.Assemble(m, g, r, c)
}

// request parses a raw query with ParseQuery, the server's parser, and
// takes ip= as the client address ("" or an unparsable one leaves it
// invalid). The queries are the tests' own literals, so a malformed one is
// a bug in the test.
func request(kind Kind, query string) *Request {
	req := &Request{Kind: kind}
	ip, err := ParseQuery(query, req)
	if err != nil {
		panic(fmt.Sprintf("test query %q: %v", query, err))
	}
	req.Client, _ = netip.ParseAddr(ip)
	return req
}

// resolveQuery resolves one query with a fresh Answer and a seeded rng.
func resolveQuery(s *snapshot.Snapshot, kind Kind, query string, minimum int, seed uint64) *Answer {
	a := new(Answer)
	Resolve(s, request(kind, query), Options{Minimum: minimum}, rand.New(rand.NewPCG(seed, 1)), a)
	return a
}

// render writes an answer the way a client sees it, so that tests compare
// whole answers byte for byte:
//   - Text: the mirrorlist body (header, newline, one URL a line);
//   - Redirect: "302 <location>" or "404";
//   - Message: "<status> <plain|doc>\n<message>";
//   - Document: "200 <file> <versions>\n" then one line per URL:
//     "<preference> <location> [private] <url>".
func render(s *snapshot.Snapshot, a *Answer) string {
	var b []byte
	switch a.Form {
	case Text:
		b = append(b, a.Header...)
		b = append(b, '\n')
		for i := range a.Mirrors {
			m := &a.Mirrors[i]
			for j := range m.URLs {
				b = a.AppendURL(b, s, m, j)
				b = append(b, '\n')
			}
		}
	case Redirect:
		b = fmt.Appendf(b, "%d", a.Status)
		if a.Location != "" {
			b = fmt.Appendf(b, " %s", a.Location)
		}
	case Message:
		kind := "doc"
		if a.Plain {
			kind = "plain"
		}
		b = fmt.Appendf(b, "%d %s\n%s", a.Status, kind, a.Message)
	case Document:
		b = fmt.Appendf(b, "%d %s %d\n", a.Status, a.File, len(a.Details.Versions))
		for i := range a.Mirrors {
			m := &a.Mirrors[i]
			for j := range m.URLs {
				b = fmt.Appendf(b, "%d %s ", m.Preference, m.Location)
				if m.Private {
					b = append(b, "private "...)
				}
				b = a.AppendURL(b, s, m, j)
				b = append(b, '\n')
			}
		}
	}
	return string(b)
}

// checkGrouped compares a rendered mirrorlist with want, written in
// paragraphs separated by blank lines: the first paragraph is the header,
// exact; each further one is a group of mirror lines that must come next,
// together, in any order (the order inside a group is random). A group of
// one line is thus a line at a fixed place.
func checkGrouped(want, got string) error {
	paragraphs := strings.Split(strings.TrimSuffix(want, "\n"), "\n\n")
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	head := strings.Split(paragraphs[0], "\n")
	if len(lines) < len(head) || !slices.Equal(lines[:len(head)], head) {
		return fmt.Errorf("header %q, want %q (answer\n%s)", lines[:min(len(head), len(lines))], head, got)
	}
	rest := lines[len(head):]
	for i, p := range paragraphs[1:] {
		group := strings.Split(p, "\n")
		if len(rest) < len(group) {
			return fmt.Errorf("group %d: answer too short\n%s", i+1, got)
		}
		block := slices.Clone(rest[:len(group)])
		slices.Sort(block)
		slices.Sort(group)
		if !slices.Equal(block, group) {
			return fmt.Errorf("group %d: got %q, want (any order) %q; answer\n%s", i+1, block, group, got)
		}
		rest = rest[len(group):]
	}
	if len(rest) > 0 {
		return fmt.Errorf("unexpected lines %q; answer\n%s", rest, got)
	}
	return nil
}

// Host ids and directories of the tiny fixture, shortened for the tables.
const (
	osDir      = fixtures.TinyDirOS
	osRepodata = fixtures.TinyDirOSRepodata
	osSub      = "/releases/41/Everything/x86_64/os"
	updSub     = "/updates/41/Everything/x86_64"
	epelSub    = "/10.1/Everything/x86_64"
	srcSub     = "/releases/41/Everything/source/tree"
)

// The tiny hosts' Fedora Linux and EPEL URLs, without the subpath.
const (
	de1S  = "https://mirror1.de.example.org/pub/fedora/linux"
	de1H  = "http://mirror1.de.example.org/pub/fedora/linux"
	de1R  = "rsync://mirror1.de.example.org/pub/fedora/linux"
	de2H  = "http://ftp.de2.example.net/fedora/linux"
	de2F  = "ftp://ftp.de2.example.net/fedora/linux"
	frS   = "https://miroir.fr.example.org/fedora/linux"
	frR   = "rsync://miroir.fr.example.org/fedora/linux"
	usS   = "https://mirror.us.example.com/fedora"
	usH   = "http://mirror.us.example.com/fedora"
	asnS  = "https://asn-mirror.us.example.com/pub/fedora/linux/" // sic: trailing slash
	allS  = "https://allowed.us.example.com/linux"
	allH  = "http://allowed.us.example.com/linux"
	caH   = "http://mirror.ca.example.org/fedora/linux"
	caS   = "https://mirror.ca.example.org/fedora/linux"
	privS = "https://private.de.example.net/fedora/linux"

	epelDE1S = "https://mirror1.de.example.org/pub/epel"
	epelFRS  = "https://miroir.fr.example.org/epel"
	epelUSS  = "https://mirror.us.example.com/epel"
	epelCAS  = "https://mirror.ca.example.org/epel"
	epelPriv = "https://private.de.example.net/epel"
)

// osd is a host's URL for the OS directory, as a directory answer lists it.
func osd(base string) string { return base + osSub + "/" }

// synthetic builds a snapshot of one repository, synth-1 for x86_64
// (directory pub/synth, metalink in pub/synth/repodata), carried by public
// hosts spread over DE, FR, US and CA and by private ones, each with an
// https, an http and an rsync URL and a bandwidth from 1 to 10,000. A /16
// netblock in DE (80.1.0.0/16) prefers four hosts and the DE ASN 3320 pins
// four. It is sized like a current Fedora directory with
// synthetic(t, 400, 200), and uses the tiny set's GeoIP, routes and
// continents.
func synthetic(t testing.TB, public, private int) *snapshot.Snapshot {
	t.Helper()
	countries := []string{"DE", "FR", "US", "CA"}
	ml := &mm.MirrorList{Time: proto.Uint64(fixtures.TinyTime)}
	var global []int64
	byCountry := map[string][]int64{}
	var byHost []*mm.IntRepeatedIntMap
	for i := range public + private {
		id := int64(1000 + i)
		cc := countries[i%len(countries)]
		var urls []int64
		for j, scheme := range []string{"https", "http", "rsync"} {
			u := id*10 + int64(j)
			urls = append(urls, u)
			ml.HCUrlCache = append(ml.HCUrlCache, &mm.IntStringMap{
				Key: proto.Int64(u), Value: proto.String(fmt.Sprintf("%s://m%d.example.org/pub", scheme, id))})
		}
		ml.HostCountryCache = append(ml.HostCountryCache, &mm.IntStringMap{Key: proto.Int64(id), Value: proto.String(cc)})
		ml.HostBandwidthCache = append(ml.HostBandwidthCache, &mm.IntIntMap{Key: proto.Int64(id), Value: proto.Int64(int64(1 + i*397%10000))})
		byHost = append(byHost, &mm.IntRepeatedIntMap{Key: proto.Int64(id), Value: urls})
		if i < public {
			global = append(global, id)
			byCountry[cc] = append(byCountry[cc], id)
		}
	}
	var bc []*mm.StringRepeatedIntMap
	for _, cc := range countries {
		bc = append(bc, &mm.StringRepeatedIntMap{Key: proto.String(cc), Value: byCountry[cc]})
	}
	for _, dir := range []string{"pub/synth", "pub/synth/repodata"} {
		ml.MirrorListCache = append(ml.MirrorListCache, &mm.MirrorListCacheType{
			Directory: proto.String(dir), Subpath: proto.String(strings.TrimPrefix(dir, "pub/")),
			Global: global, ByCountry: bc, ByHostId: byHost,
		})
	}
	ml.RepoArchToDirectoryName = []*mm.StringStringMap{{Key: proto.String("synth-1+x86_64"), Value: proto.String("pub/synth")}}
	ml.FileDetailsCache = []*mm.FileDetailsCacheDirectoryType{{
		Directory: proto.String("pub/synth/repodata"),
		FileDetailsCacheFiles: []*mm.FileDetailsCacheFilesType{{
			Filename: proto.String("repomd.xml"),
			FileDetails: []*mm.FileDetailsType{
				{TimeStamp: proto.Uint64(2), Size: proto.Uint64(3), SHA256: proto.String("ab")},
			},
		}},
	}}
	ml.HostNetblockCache = []*mm.StringRepeatedIntMap{{Key: proto.String("80.1.0.0/16"), Value: []int64{1000, 1004, 1008, 1012}}}
	ml.HostAsnCache = []*mm.IntRepeatedIntMap{{Key: proto.Int64(3320), Value: []int64{1016, 1020, 1024, 1028}}}
	data, err := proto.Marshal(ml)
	if err != nil {
		t.Fatal(err)
	}
	return withCache(t, data)
}
