package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/tools/txtar"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	pb "github.com/mirrorlist-go/mirrorlist-server/proto"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ with what the command prints")

// The data sets of the tests, written once per test binary under one
// directory, which the golden files call $ROOT:
//
//	tiny/       the fixtures' hand-written tiny set
//	tiny-next/  the tiny set with the cache file changed by nextTiny
//	tiny-cut/   the tiny set with its cache file cut 7 bytes short
//	small/      the committed small set (seed 1)
//	small2/     the small set of seed 2
//	small-half/ the small set with its cache file cut after its 300th
//	            directory, at a message boundary: it decodes cleanly
var dataRoot = sync.OnceValues(func() (string, error) {
	root, err := os.MkdirTemp("", "mirrorlist-snapshot-test-")
	if err != nil {
		return "", err
	}
	small, err := fixtures.ReadFS(fixtures.Small, "small")
	if err != nil {
		return "", err
	}
	small2, err := fixtures.Generate(fixtures.Config{Scale: fixtures.ScaleSmall, Seed: 2})
	if err != nil {
		return "", err
	}
	next := fixtures.Tiny()
	if next.Snapshot, err = nextTiny(next.Snapshot); err != nil {
		return "", err
	}
	cut := fixtures.Tiny()
	cut.Snapshot = cut.Snapshot[:len(cut.Snapshot)-7]
	half := *small
	if half.Snapshot, err = cutAfterDirectory(small.Snapshot, 300); err != nil {
		return "", err
	}
	for name, set := range map[string]*fixtures.Set{
		"tiny": fixtures.Tiny(), "tiny-next": next, "tiny-cut": cut,
		"small": small, "small2": small2, "small-half": &half,
	} {
		if err := set.WriteDir(filepath.Join(root, name)); err != nil {
			return "", err
		}
	}
	return root, nil
})

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if root, err := dataRoot(); err == nil {
		os.RemoveAll(root)
	}
	os.Exit(code)
}

// nextTiny returns the tiny cache file with one change of every kind
// diff reports (testdata/diff-tiny.txt lists them).
func nextTiny(data []byte) ([]byte, error) {
	var ml pb.MirrorList
	if err := proto.Unmarshal(data, &ml); err != nil {
		return nil, err
	}
	for _, e := range ml.HostBandwidthCache {
		if e.GetKey() == fixtures.TinyHostUS {
			e.Value = proto.Int64(5000)
		}
	}
	for _, e := range ml.HostCountryCache {
		if e.GetKey() == fixtures.TinyHostFR {
			e.Value = proto.String("BE")
		}
	}
	ml.HostAsnCache[0].Key = proto.Int64(3356)
	ml.HostNetblockCache = slices.DeleteFunc(ml.HostNetblockCache, func(e *pb.StringRepeatedIntMap) bool { return e.GetKey() == "2a01:10::/32" })
	ml.HostCountryAllowedCache[0].Value = []string{"US"}

	// Host 60 goes, host 70 comes and carries the updates tree.
	const gone, added = fixtures.TinyHostInactive, 70
	ml.HostCountryCache = slices.DeleteFunc(ml.HostCountryCache, func(e *pb.IntStringMap) bool { return e.GetKey() == gone })
	ml.HostBandwidthCache = slices.DeleteFunc(ml.HostBandwidthCache, func(e *pb.IntIntMap) bool { return e.GetKey() == gone })
	ml.HostMaxConnectionCache = slices.DeleteFunc(ml.HostMaxConnectionCache, func(e *pb.IntIntMap) bool { return e.GetKey() == gone })
	ml.HCUrlCache = slices.DeleteFunc(ml.HCUrlCache, func(e *pb.IntStringMap) bool { return e.GetKey() == gone*10 })
	ml.HostCountryCache = append(ml.HostCountryCache, &pb.IntStringMap{Key: proto.Int64(added), Value: proto.String("NL")})
	ml.HostBandwidthCache = append(ml.HostBandwidthCache, &pb.IntIntMap{Key: proto.Int64(added), Value: proto.Int64(700)})
	ml.HCUrlCache = append(ml.HCUrlCache, &pb.IntStringMap{Key: proto.Int64(added * 10), Value: proto.String("https://mirror.nl.example.org/fedora/linux")})

	var dirs []*pb.MirrorListCacheType
	for _, d := range ml.MirrorListCache {
		switch d.GetDirectory() {
		case fixtures.TinyDirSourceRepodata:
			continue // removed
		case fixtures.TinyDirUpdates, fixtures.TinyDirUpdatesRepodata:
			d.Global = append(d.Global, added)
			d.ByCountry = append(d.ByCountry, &pb.StringRepeatedIntMap{Key: proto.String("NL"), Value: []int64{added}})
			d.ByHostId = append(d.ByHostId, &pb.IntRepeatedIntMap{Key: proto.Int64(added), Value: []int64{added * 10}})
		}
		dropHost(d, fixtures.TinyHostDE2) // host 11 falls out of sync
		dirs = append(dirs, d)
		if d.GetDirectory() == fixtures.TinyDirOS {
			d42 := proto.Clone(d).(*pb.MirrorListCacheType)
			d42.Directory = proto.String(strings.ReplaceAll(d.GetDirectory(), "/41/", "/42/"))
			d42.Subpath = proto.String(strings.ReplaceAll(d.GetSubpath(), "/41/", "/42/"))
			dirs = append(dirs, d42)
		}
	}
	ml.MirrorListCache = dirs

	var repos []*pb.StringStringMap
	for _, e := range ml.RepoArchToDirectoryName {
		switch e.GetKey() {
		case "fedora-source-41+source":
			continue
		case "updates-released-f41+x86_64":
			e.Value = proto.String(fixtures.TinyDirOS)
		}
		repos = append(repos, e)
	}
	ml.RepoArchToDirectoryName = append(repos, &pb.StringStringMap{Key: proto.String("fedora-42+x86_64"), Value: proto.String(strings.ReplaceAll(fixtures.TinyDirOS, "/41/", "/42/"))})

	for _, fd := range ml.FileDetailsCache {
		if fd.GetDirectory() == fixtures.TinyDirUpdatesRepodata {
			files := fd.FileDetailsCacheFiles[0]
			newest := proto.Clone(files.FileDetails[0]).(*pb.FileDetailsType)
			newest.TimeStamp, newest.Size = proto.Uint64(fixtures.TinyTime), proto.Uint64(5200)
			newest.SHA256 = proto.String(strings.Repeat("ab", 32))
			files.FileDetails = append([]*pb.FileDetailsType{newest}, files.FileDetails...)
		}
	}
	ml.FileDetailsCache = slices.DeleteFunc(ml.FileDetailsCache, func(e *pb.FileDetailsCacheDirectoryType) bool {
		return e.GetDirectory() == fixtures.TinyDirSourceRepodata
	})
	return proto.MarshalOptions{Deterministic: true}.Marshal(&ml)
}

// dropHost removes a host from every list of a directory.
func dropHost(d *pb.MirrorListCacheType, id int64) {
	d.Global = slices.DeleteFunc(d.Global, func(h int64) bool { return h == id })
	for _, c := range d.ByCountry {
		c.Value = slices.DeleteFunc(c.Value, func(h int64) bool { return h == id })
	}
	d.ByHostId = slices.DeleteFunc(d.ByHostId, func(e *pb.IntRepeatedIntMap) bool { return e.GetKey() == id })
}

// cutAfterDirectory returns data up to the end of its n-th MirrorListCache
// record: what a copy cut short at a message boundary leaves.
func cutAfterDirectory(data []byte, n int) ([]byte, error) {
	off := 0
	for seen := 0; off < len(data); {
		num, typ, tagLen := protowire.ConsumeTag(data[off:])
		if tagLen < 0 {
			return nil, protowire.ParseError(tagLen)
		}
		valLen := protowire.ConsumeFieldValue(num, typ, data[off+tagLen:])
		if valLen < 0 {
			return nil, protowire.ParseError(valLen)
		}
		off += tagLen + valLen
		if num == 16 {
			if seen++; seen == n {
				return data[:off], nil
			}
		}
	}
	return nil, os.ErrNotExist
}

// A goldenCase runs the command with args ($ROOT replaced by the data
// sets' directory) and compares its exit status, standard output and
// standard error with testdata/NAME.txt.
type goldenCase struct {
	name string
	args string
	exit int
}

func TestGolden(t *testing.T) {
	root, err := dataRoot()
	if err != nil {
		t.Fatal(err)
	}
	tiny := "-c $ROOT/tiny/mirrorlist_cache.proto -g $ROOT/tiny/global_netblocks.txt --cccsv $ROOT/tiny/country_continent.csv --geoip $ROOT/tiny/GeoLite2-Country.mmdb"
	small := strings.ReplaceAll(tiny, "/tiny/", "/small/")
	cases := []goldenCase{
		{"usage-none", "", 2},
		{"usage-unknown-verb", "explain", 2},
		{"usage-help", "--help", 0},
		{"check-help", "check --help", 0},
		{"check-tiny", "check " + tiny, 0},
		{"check-small-against-tiny", "check " + small + " --against $ROOT/tiny/mirrorlist_cache.proto", 0},
		{"check-tiny-against-small", "check " + tiny + " --against $ROOT/small/mirrorlist_cache.proto", 1},
		{"check-cut", "check " + strings.Replace(tiny, "/tiny/mirrorlist", "/tiny-cut/mirrorlist", 1), 1},
		{"check-half", "check " + strings.Replace(small, "/small/mirrorlist", "/small-half/mirrorlist", 1), 0},
		{"check-half-against-small", "check " + strings.Replace(small, "/small/mirrorlist", "/small-half/mirrorlist", 1) + " --against $ROOT/small/mirrorlist_cache.proto", 1},
		{"check-against-missing", "check " + small + " --against $ROOT/none/mirrorlist_cache.proto", 0},
		{"check-against-unreadable", "check " + small + " --against $ROOT/tiny-cut/mirrorlist_cache.proto", 1},
		{"check-tiny-against-small-all", "check " + tiny + " --against $ROOT/tiny/mirrorlist_cache.proto --against-geoip $ROOT/small/GeoLite2-Country.mmdb --against-global_netblocks $ROOT/small/global_netblocks.txt --against-cccsv $ROOT/small/country_continent.csv", 1},
		{"check-missing-input", "check " + strings.Replace(tiny, "/tiny/global", "/none/global", 1), 1},
		{"check-extra-argument", "check " + tiny + " extra", 2},
		{"check-unknown-flag", "check --cache-file x", 2},
		{"inspect-tiny", "inspect $ROOT/tiny/mirrorlist_cache.proto", 0},
		{"inspect-tiny-json", "inspect --json $ROOT/tiny/mirrorlist_cache.proto", 0},
		{"inspect-repo", "inspect $ROOT/tiny/mirrorlist_cache.proto --repo fedora-41 --arch x86_64", 0},
		{"inspect-repo-json", "inspect $ROOT/tiny/mirrorlist_cache.proto --repo fedora-41 --arch x86_64 --json", 0},
		{"inspect-repo-redirected", "inspect $ROOT/tiny/mirrorlist_cache.proto --repo epel-10 --arch x86_64", 0},
		{"inspect-repo-source", "inspect $ROOT/tiny/mirrorlist_cache.proto --repo fedora-source-41 --arch x86_64", 0},
		{"inspect-repo-updates", "inspect $ROOT/tiny/mirrorlist_cache.proto --repo updates-released-f41 --arch x86_64", 0},
		{"inspect-repo-disabled", "inspect $ROOT/tiny/mirrorlist_cache.proto --repo updates-testing-f41 --arch x86_64", 1},
		{"inspect-repo-unknown", "inspect $ROOT/tiny/mirrorlist_cache.proto --repo fedora-41 --arch aarch64", 1},
		{"inspect-repo-dangling", "inspect $ROOT/small/mirrorlist_cache.proto --repo rawhide --arch loongarch64", 1},
		{"inspect-path-dir", "inspect $ROOT/tiny/mirrorlist_cache.proto --path /pub/epel/10.1/Everything/x86_64/repodata/", 0},
		{"inspect-path-file", "inspect $ROOT/tiny/mirrorlist_cache.proto --path pub/fedora/linux/releases/41/Everything/source/tree/repodata/repomd.xml", 0},
		{"inspect-path-unlisted-file", "inspect $ROOT/tiny/mirrorlist_cache.proto --path pub/fedora/linux/releases/41/Everything/x86_64/os/Packages", 0},
		{"inspect-path-json", "inspect $ROOT/tiny/mirrorlist_cache.proto --path pub/epel/10.1/Everything/x86_64/repodata --json", 0},
		{"inspect-path-invalid", "inspect $ROOT/tiny/mirrorlist_cache.proto --path pub/fedora/linux/releases/41/..", 1},
		{"inspect-cut", "inspect $ROOT/tiny-cut/mirrorlist_cache.proto", 1},
		{"inspect-repo-without-arch", "inspect $ROOT/tiny/mirrorlist_cache.proto --repo fedora-41", 2},
		{"inspect-repo-and-path", "inspect $ROOT/tiny/mirrorlist_cache.proto --repo fedora-41 --arch x86_64 --path pub", 2},
		{"inspect-no-file", "inspect --repo fedora-41 --arch x86_64", 2},
		{"diff-tiny", "diff $ROOT/tiny/mirrorlist_cache.proto $ROOT/tiny-next/mirrorlist_cache.proto", 0},
		{"diff-tiny-json", "diff --json $ROOT/tiny/mirrorlist_cache.proto $ROOT/tiny-next/mirrorlist_cache.proto", 0},
		{"diff-same", "diff $ROOT/tiny/mirrorlist_cache.proto $ROOT/tiny/mirrorlist_cache.proto", 0},
		{"diff-small-seeds", "diff --limit 5 $ROOT/small/mirrorlist_cache.proto $ROOT/small2/mirrorlist_cache.proto", 0},
		{"diff-cut", "diff $ROOT/tiny/mirrorlist_cache.proto $ROOT/tiny-cut/mirrorlist_cache.proto", 1},
		{"diff-one-file", "diff $ROOT/tiny/mirrorlist_cache.proto", 2},
		{"diff-negative-limit", "diff --limit -1 $ROOT/tiny/mirrorlist_cache.proto $ROOT/tiny/mirrorlist_cache.proto", 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), strings.Fields(strings.ReplaceAll(tc.args, "$ROOT", root)), &stdout, &stderr)
			if code != tc.exit {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, tc.exit, stderr.String())
			}
			got := &txtar.Archive{
				Comment: []byte("mirrorlist-snapshot " + tc.args + "\nexit " + strconv.Itoa(code) + "\n"),
				Files: []txtar.File{
					{Name: "stdout", Data: []byte(strings.ReplaceAll(stdout.String(), root, "$ROOT"))},
					{Name: "stderr", Data: []byte(strings.ReplaceAll(stderr.String(), root, "$ROOT"))},
				},
			}
			compareGolden(t, filepath.Join("testdata", tc.name+".txt"), txtar.Format(got))
		})
	}
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n%s", path, got)
	}
}
