package httpapi

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	mm "github.com/mirrorlist-go/mirrorlist-server/proto"
	"github.com/mirrorlist-go/mirrorlist-server/resolve"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// repodata is the directory of the writer tests' snapshot.
const repodata = "pub/fedora/linux/updates/41/Everything/x86_64/repodata"

// writerSnapshot builds a small snapshot by hand for the writer tests:
// host 1 (DE, public) with an https and an rsync URL, host 2 (SE, private:
// not in Global) whose URL ends in "/", and host 3 (US, public) whose URL
// needs XML escaping. repomd.xml has a full current version and two
// alternates, one with a single hash and one with no timestamp or size.
func writerSnapshot(t testing.TB) *snapshot.Snapshot {
	t.Helper()
	str := proto.String
	i64 := proto.Int64
	u64 := proto.Uint64
	ml := &mm.MirrorList{
		Time: u64(1732480000),
		HCUrlCache: []*mm.IntStringMap{
			{Key: i64(10), Value: str("https://mirror.one.example/fedora/linux")},
			{Key: i64(11), Value: str("rsync://mirror.one.example/fedora/linux")},
			{Key: i64(20), Value: str("http://private.two.example/pub/fedora/linux/")},
			{Key: i64(30), Value: str(`https://three.example/f?a=1&b="<2>"`)},
		},
		HostCountryCache: []*mm.IntStringMap{
			{Key: i64(1), Value: str("de")},
			{Key: i64(2), Value: str("SE")},
			{Key: i64(3), Value: str("US")},
		},
		RepoArchToDirectoryName: []*mm.StringStringMap{
			{Key: str("updates-released-f41+x86_64"), Value: str("pub/fedora/linux/updates/41/Everything/x86_64")},
		},
		FileDetailsCache: []*mm.FileDetailsCacheDirectoryType{{
			Directory: str(repodata),
			FileDetailsCacheFiles: []*mm.FileDetailsCacheFilesType{{
				Filename: str("repomd.xml"),
				FileDetails: []*mm.FileDetailsType{
					{TimeStamp: u64(1732480000), Size: u64(4611), MD5: str("md5sum"), SHA1: str("sha1sum"), SHA256: str("sha256sum"), SHA512: str("sha512sum")},
					{TimeStamp: u64(1732470000), Size: u64(4600), SHA256: str("oldsha256")},
					{TimeStamp: u64(0), Size: u64(0), SHA512: str("oldestsha512")},
				},
			}},
		}},
		MirrorListCache: []*mm.MirrorListCacheType{
			{
				Directory: str(repodata),
				Subpath:   str("updates/41/Everything/x86_64/repodata"),
				Global:    []int64{1, 3},
				ByHostId: []*mm.IntRepeatedIntMap{
					{Key: i64(1), Value: []int64{10, 11}},
					{Key: i64(2), Value: []int64{20}},
					{Key: i64(3), Value: []int64{30}},
				},
			},
			{
				Directory: str("pub/fedora/linux/updates/41/Everything/x86_64"),
				Subpath:   str("updates/41/Everything/x86_64"),
				Global:    []int64{1, 3},
				ByHostId: []*mm.IntRepeatedIntMap{
					{Key: i64(1), Value: []int64{10, 11}},
					{Key: i64(2), Value: []int64{20}},
					{Key: i64(3), Value: []int64{30}},
				},
			},
		},
	}
	data, err := proto.Marshal(ml)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m, err := snapshot.BuildMirrors(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	r, err := snapshot.ParseRoutes(ctx, []byte("192.0.2.0/24 64500\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := snapshot.ParseContinents([]byte("code,continent\nDE,EU\nSE,EU\nUS,NA\n"))
	if err != nil {
		t.Fatal(err)
	}
	// The writers never look up countries, so no GeoIP part is needed;
	// tests that go through resolve use the fixtures' tiny set instead.
	return snapshot.Assemble(m, nil, r, c)
}

// hostRef finds the HostRef of a MirrorManager host id.
func hostRef(t testing.TB, s *snapshot.Snapshot, id int64) snapshot.HostRef {
	t.Helper()
	m := s.Mirrors()
	for h := range m.HostCount() {
		if m.Host(snapshot.HostRef(h)).ID == id {
			return snapshot.HostRef(h)
		}
	}
	t.Fatalf("host %d not in the snapshot", id)
	return 0
}

// mirrorOf builds the resolve.Mirror of host id in dir, as resolve would.
func mirrorOf(t testing.TB, s *snapshot.Snapshot, dir *snapshot.Directory, id int64, pref int) resolve.Mirror {
	t.Helper()
	h := hostRef(t, s, id)
	urls, ok := dir.URLs(h)
	if !ok {
		t.Fatalf("host %d does not carry %s", id, dir.Name)
	}
	return resolve.Mirror{
		Host:       h,
		URLs:       urls,
		Preference: pref,
		Private:    !dir.InGlobal(h),
		Location:   s.Mirrors().Host(h).Country,
	}
}

// readGolden returns the contents of testdata/name.
func readGolden(name string) (string, error) {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	return string(b), err
}

// golden compares got with testdata/name, or rewrites the file with
// -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}
