package cachegen

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/mirrorlist-go/mirrorlist-server/proto"
)

// randomEntry draws a directory entry with lists of up to n elements,
// ids from one byte to ten bytes long, and strings long enough to need a
// two-byte length.
func randomEntry(rng *rand.Rand, n int) *directoryEntry {
	id := func() int64 {
		switch rng.IntN(4) {
		case 0:
			return rng.Int64N(128)
		case 1:
			return rng.Int64N(1 << 20)
		case 2:
			return rng.Int64()
		}
		return -rng.Int64N(1000) - 1 // negative: ten bytes
	}
	ids := func() []int64 {
		out := make([]int64, rng.IntN(n+1))
		for i := range out {
			out[i] = id()
		}
		return out
	}
	e := &directoryEntry{
		directory: strings.Repeat("pub/fedora/", rng.IntN(20)) + "x",
		subpath:   strings.Repeat("s/", rng.IntN(80)),
		global:    ids(),
	}
	for range rng.IntN(n + 1) {
		e.byCountry = append(e.byCountry, countryHosts{"C" + string(rune('A'+rng.IntN(26))), ids()})
	}
	for range rng.IntN(3) {
		e.byInternet2 = append(e.byInternet2, countryHosts{"US", ids()})
	}
	for range rng.IntN(n + 1) {
		e.byHost = append(e.byHost, hostURLs{id(), ids()})
	}
	return e
}

// TestEncoderMatchesProtoMarshal checks the hand-rolled encoder against
// the generated one, byte for byte.
func TestEncoderMatchesProtoMarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	enc := &dirEncoder{}
	entries := []*directoryEntry{{}, {directory: "a", subpath: ""}}
	for range 500 {
		entries = append(entries, randomEntry(rng, 1+rng.IntN(60)))
	}
	for i, e := range entries {
		want, err := proto.MarshalOptions{Deterministic: true, AllowPartial: true}.Marshal(&pb.MirrorList{MirrorListCache: []*pb.MirrorListCacheType{toProto(e)}})
		if err != nil {
			t.Fatal(err)
		}
		if have := enc.appendField(e); !bytes.Equal(have, want) {
			t.Fatalf("entry %d: hand-rolled encoding differs from proto.Marshal:\nhave %x\nwant %x", i, have, want)
		}
	}
}

func BenchmarkEncoder(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 7))
	e := randomEntry(rng, 600)
	enc := &dirEncoder{}
	b.ReportAllocs()
	for b.Loop() {
		enc.appendField(e)
	}
}
