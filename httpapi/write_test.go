package httpapi

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	mm "github.com/mirrorlist-go/mirrorlist-server/proto"
	"github.com/mirrorlist-go/mirrorlist-server/resolve"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// answerTime is the fixed answer time of the writer tests; its zone is
// not UTC so that the tests check the conversion.
var answerTime = time.Date(2026, 11, 24, 22, 2, 1, 0, time.FixedZone("CET", 3600))

func TestAppendMetalinkHead(t *testing.T) {
	got := string(appendMetalinkHead(nil, answerTime))
	want := `<?xml version="1.0" encoding="utf-8"?>` + "\n" +
		`<metalink version="3.0" xmlns="http://www.metalinker.org/" type="dynamic" pubdate="Tue, 24 Nov 2026 21:02:01 GMT" generator="mirrormanager" xmlns:mm0="http://fedorahosted.org/mirrormanager">` + "\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestAppendMetalink(t *testing.T) {
	s := writerSnapshot(t)
	dir := s.Mirrors().Directory(repodata)
	tests := []struct {
		name    string
		golden  string
		details *snapshot.File
		mirrors []int64
	}{
		{
			name:    "alternates and private host",
			golden:  "metalink_alternates.xml",
			details: dir.File("repomd.xml"),
			mirrors: []int64{1, 2, 3},
		},
		{
			name:   "one version, zero size, some hashes",
			golden: "metalink_single.xml",
			details: &snapshot.File{Versions: []snapshot.FileDetails{
				{Timestamp: 1732480000, SHA1: "abc", SHA512: "def"},
			}},
			mirrors: []int64{3},
		},
		{
			name:    "no mirrors",
			golden:  "metalink_empty.xml",
			details: &snapshot.File{Versions: []snapshot.FileDetails{{Size: 12}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &resolve.Answer{Form: resolve.Document, Status: 200, Dir: dir, File: "repomd.xml", Details: tt.details}
			for i, id := range tt.mirrors {
				a.Mirrors = append(a.Mirrors, mirrorOf(t, s, dir, id, max(100-i, 1)))
			}
			golden(t, tt.golden, appendMetalink(nil, s, a, answerTime))
		})
	}
}

func TestAppendMirrorlist(t *testing.T) {
	s := writerSnapshot(t)
	dir := s.Mirrors().Directory("pub/fedora/linux/updates/41/Everything/x86_64")
	tests := []struct {
		name, golden, file, header string
	}{
		{"directory", "mirrorlist_dir.txt", "", "# repo = updates-released-f41 arch = x86_64 country = DE country = global "},
		{"file", "mirrorlist_file.txt", "Packages/a/a+b-1.0.rpm", "# path = pub/fedora/linux/updates/41/Everything/x86_64 country = global "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &resolve.Answer{Form: resolve.Text, Status: 200, Dir: dir, File: tt.file, Header: []byte(tt.header)}
			for i, id := range []int64{2, 1, 3} {
				m := mirrorOf(t, s, dir, id, 100-i)
				m.URLs = m.URLs[:1] // a mirrorlist keeps one URL per host
				a.Mirrors = append(a.Mirrors, m)
			}
			golden(t, tt.golden, appendMirrorlist(nil, s, a))
		})
	}
}

func TestAppendMirrorlistEmpty(t *testing.T) {
	a := &resolve.Answer{Form: resolve.Text, Header: []byte("# path = x ")}
	if got, want := string(appendMirrorlist(nil, nil, a)), "# path = x \n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestAppendFailure(t *testing.T) {
	golden(t, "failure.xml", appendFailure(nil, "# either path=, or repo= and arch= must be specified", answerTime))
}

func TestAppendCommentText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain message", "plain message"},
		{"a-b", "a-b"},
		{"a--b", "a- -b"},
		{"--><script>", "- -><script>"},
		{"a---b", "a- - -b"},
		{"trailing -", "trailing -"},
	}
	for _, tt := range tests {
		if got := string(appendCommentText(nil, tt.in)); got != tt.want {
			t.Errorf("appendCommentText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAppendEscaped(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"https://example.org/a/b", "https://example.org/a/b"},
		{`a&b<c>d"e`, "a&amp;b&lt;c&gt;d&quot;e"},
		{"&&", "&amp;&amp;"},
		{"'single'", "'single'"},
	}
	for _, tt := range tests {
		if got := string(appendEscaped(nil, tt.in)); got != tt.want {
			t.Errorf("appendEscaped(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestAppendPreference compares appendPreference with strconv, inside
// and outside the preferences' range.
func TestAppendPreference(t *testing.T) {
	for p := -12; p <= 1012; p++ {
		if got, want := string(appendPreference([]byte("x"), p)), "x"+strconv.Itoa(p); got != want {
			t.Errorf("appendPreference(%d) = %q, want %q", p, got, want)
		}
	}
}

func TestSchemeOf(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://a/b", "https"},
		{"rsync://a/b", "rsync"},
		{"ftp://a", "ftp"},
		{"no-scheme", ""},
	}
	for _, tt := range tests {
		if got := schemeOf(tt.in); got != tt.want {
			t.Errorf("schemeOf(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAppendMetalinkAllocs(t *testing.T) {
	s := writerSnapshot(t)
	dir := s.Mirrors().Directory(repodata)
	a := &resolve.Answer{Form: resolve.Document, Dir: dir, File: "repomd.xml", Details: dir.File("repomd.xml")}
	for i, id := range []int64{1, 2, 3} {
		a.Mirrors = append(a.Mirrors, mirrorOf(t, s, dir, id, 100-i))
	}
	buf := make([]byte, 0, 8192)
	// Host 3's URL needs escaping, which costs one string; nothing else
	// may allocate.
	if n := testing.AllocsPerRun(100, func() { buf = appendMetalink(buf[:0], s, a, answerTime) }); n > 1 {
		t.Errorf("appendMetalink allocates %v times per answer, want at most 1", n)
	}
}

// TestAppendResourcesSchemes checks appendResources, which joins the end of
// one <url> line to the start of the next, against lines built one by one,
// for URLs of every scheme, with and without a final slash, in every
// position: first, last, after each other.
func TestAppendResourcesSchemes(t *testing.T) {
	urls := []string{
		"https://a.example/pub", "http://b.example/pub/", "ftp://c.example/pub",
		"rsync://d.example/pub/", "gopher://e.example/pub", "https://f.example/p&q/",
		"weird", "http://g.example/pub",
	}
	ml := &mm.MirrorList{Time: proto.Uint64(1732480000)}
	dirMsg := &mm.MirrorListCacheType{Directory: proto.String(repodata), Subpath: proto.String("updates/41/Everything/x86_64/repodata")}
	for i, u := range urls {
		ml.HCUrlCache = append(ml.HCUrlCache, &mm.IntStringMap{Key: proto.Int64(int64(100 + i)), Value: proto.String(u)})
		dirMsg.ByHostId = append(dirMsg.ByHostId, &mm.IntRepeatedIntMap{Key: proto.Int64(int64(1 + i)), Value: []int64{int64(100 + i)}})
	}
	ml.MirrorListCache = []*mm.MirrorListCacheType{dirMsg}
	data, err := proto.Marshal(ml)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := snapshot.BuildMirrors(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	dir := ms.Directory(repodata)
	_, carried := dir.Carriers()
	var refs []snapshot.URLRef
	for _, u := range carried {
		refs = append(refs, u...)
	}
	for _, file := range []string{"repomd.xml", ""} {
		// Every rotation of the URLs, split over mirrors of one, two and
		// three URLs.
		for shift := range refs {
			rotated := append(slices.Clone(refs[shift:]), refs[:shift]...)
			a := &resolve.Answer{Form: resolve.Document, Dir: dir, File: file}
			for i := 0; i < len(rotated); i += 1 + i%3 {
				a.Mirrors = append(a.Mirrors, resolve.Mirror{URLs: rotated[i:min(i+1+i%3, len(rotated))], Preference: 100 - i, Location: "DE", Private: i%2 == 1})
			}
			var want []byte
			for i := range a.Mirrors {
				m := &a.Mirrors[i]
				for _, ref := range m.URLs {
					u := ms.URLForXML(ref)
					want = appendURLHead(want, ms.URLScheme(ref), u)
					want = appendMirrorAttrs(want, m)
					want = append(want, u...)
					want = urlTail(want, a, strings.HasSuffix(u, "/"))
				}
			}
			if got := appendResources(nil, ms, a); string(got) != string(want) {
				t.Errorf("file %q, rotation %d:\n got %s\nwant %s", file, shift, got, want)
			}
		}
	}
}
