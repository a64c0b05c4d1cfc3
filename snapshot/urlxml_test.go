package snapshot_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	mm "github.com/mirrorlist-go/mirrorlist-server/proto"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// TestURLForXML checks that every hcurl's URL is escaped once at load, and
// that a URL without special characters is kept as it is.
func TestURLForXML(t *testing.T) {
	list := minimalList()
	list.HCUrlCache[1].Value = proto.String(`http://b.example.org/p?a=1&b="<2>"`)
	m := buildMirrors(t, list)
	want := map[string]string{
		"https://a.example.org/pub":          "https://a.example.org/pub",
		`http://b.example.org/p?a=1&b="<2>"`: "http://b.example.org/p?a=1&amp;b=&quot;&lt;2&gt;&quot;",
	}
	d := m.Directory("pub/fedora/41/x86_64")
	hosts, urls := d.Carriers()
	for i := range hosts {
		for _, u := range urls[i] {
			if got := m.URLForXML(u); got != want[m.URL(u)] {
				t.Errorf("URLForXML(%q) = %q, want %q", m.URL(u), got, want[m.URL(u)])
			}
		}
	}
}

func TestSchemeOf(t *testing.T) {
	for url, want := range map[string]snapshot.Scheme{
		"https://a.example.org/pub": snapshot.HTTPS,
		"http://a.example.org/pub":  snapshot.HTTP,
		"ftp://a.example.org/pub":   snapshot.FTP,
		"rsync://a.example.org/pub": snapshot.Rsync,
		"httpx://a.example.org/pub": snapshot.OtherScheme,
		"HTTPS://a.example.org/pub": snapshot.OtherScheme,
		"https":                     snapshot.OtherScheme,
		"":                          snapshot.OtherScheme,
	} {
		if got := snapshot.SchemeOf(url); got != want {
			t.Errorf("SchemeOf(%q) = %v, want %v", url, got, want)
		}
	}
}

// TestPlainHashes checks that loading marks the details whose hashes XML
// would escape, and only those.
func TestPlainHashes(t *testing.T) {
	list := minimalList()
	list.FileDetailsCache = []*mm.FileDetailsCacheDirectoryType{{
		Directory: proto.String("pub/fedora/41/x86_64"),
		FileDetailsCacheFiles: []*mm.FileDetailsCacheFilesType{{
			Filename: proto.String("repomd.xml"),
			FileDetails: []*mm.FileDetailsType{
				{TimeStamp: proto.Uint64(1), Size: proto.Uint64(2), SHA256: proto.String("0123abcdef")},
				{TimeStamp: proto.Uint64(1), Size: proto.Uint64(2), MD5: proto.String("01"), SHA512: proto.String(`ab"cd`)},
			},
		}},
	}}
	m := buildMirrors(t, list)
	f := m.Directory("pub/fedora/41/x86_64").File("repomd.xml")
	if f == nil {
		t.Fatal("no details for repomd.xml")
	}
	for i, want := range []bool{true, false} {
		if got := f.Versions[i].PlainHashes(); got != want {
			t.Errorf("version %d: PlainHashes() = %v, want %v", i, got, want)
		}
	}
	if (&snapshot.FileDetails{MD5: "01"}).PlainHashes() {
		t.Error("PlainHashes() of details made by hand = true, want false")
	}
}
