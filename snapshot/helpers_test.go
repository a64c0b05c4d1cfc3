package snapshot_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"google.golang.org/protobuf/proto"

	mm "github.com/mirrorlist-go/mirrorlist-server/proto"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// minimalList is the smallest snapshot the loader accepts: one directory
// carried by two hosts.
func minimalList() *mm.MirrorList {
	return &mm.MirrorList{
		Time: proto.Uint64(1732480000),
		HCUrlCache: []*mm.IntStringMap{
			{Key: proto.Int64(10), Value: proto.String("https://a.example.org/pub")},
			{Key: proto.Int64(20), Value: proto.String("http://b.example.org/pub")},
		},
		RepoArchToDirectoryName: []*mm.StringStringMap{
			{Key: proto.String("fedora-41+x86_64"), Value: proto.String("pub/fedora/41/x86_64")},
		},
		MirrorListCache: []*mm.MirrorListCacheType{{
			Directory: proto.String("pub/fedora/41/x86_64"),
			Subpath:   proto.String("fedora/41/x86_64"),
			Global:    []int64{2, 1},
			ByCountry: []*mm.StringRepeatedIntMap{{Key: proto.String("de"), Value: []int64{1}}},
			ByHostId: []*mm.IntRepeatedIntMap{
				{Key: proto.Int64(1), Value: []int64{10}},
				{Key: proto.Int64(2), Value: []int64{20}},
			},
		}},
	}
}

func marshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// buildMirrors indexes list's cache file, failing the test if it is
// refused.
func buildMirrors(t testing.TB, list *mm.MirrorList) *snapshot.Mirrors {
	t.Helper()
	m, err := snapshot.BuildMirrors(context.Background(), marshal(t, list))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// mmdb writes a one-network database of the given type mapping 81.0.0.0/8
// to DE.
func mmdb(t testing.TB, dbType string) []byte {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, RecordSize: 24})
	if err != nil {
		t.Fatal(err)
	}
	_, network, _ := net.ParseCIDR("81.0.0.0/8")
	rec := mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String("DE")}}
	if err := tree.Insert(network, rec); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// inputs holds the four files' contents for writeInputs.
type inputs struct {
	cache, geoip, netblocks, continents []byte
}

func goodInputs(t testing.TB) inputs {
	return inputs{
		cache:      marshal(t, minimalList()),
		geoip:      mmdb(t, "GeoLite2-Country"),
		netblocks:  []byte("81.0.0.0/8 3320\n2001:07c0::/29 553\n"),
		continents: []byte("\"iso 3166 country\",\"continent code\"\nDE,EU\nFR,EU\nA1,--\n"),
	}
}

// write puts the inputs in a temporary directory and returns their paths.
func (in inputs) write(t testing.TB) snapshot.Paths {
	t.Helper()
	dir := t.TempDir()
	p := snapshot.PathsIn(dir)
	for path, data := range map[string][]byte{p.Cache: in.cache, p.GeoIP: in.geoip, p.Routes: in.netblocks, p.Continents: in.continents} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return p
}
