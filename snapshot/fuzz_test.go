package snapshot_test

import (
	"context"
	"testing"

	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// FuzzBuildMirrors feeds mutated snapshots to the protobuf loader: it must
// return an error or a usable index, never panic or allocate without
// bound.
func FuzzBuildMirrors(f *testing.F) {
	good := marshal(f, minimalList())
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{0x82, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f}) // field 16, huge length
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := snapshot.BuildMirrors(context.Background(), data)
		if err != nil {
			return
		}
		for _, key := range m.RepoArchKeys() {
			_ = key
		}
		if m.Stats().Directories == 0 {
			t.Fatal("a snapshot without directories was accepted")
		}
	})
}

// FuzzParseRoutes checks the netblocks parser on arbitrary text.
func FuzzParseRoutes(f *testing.F) {
	f.Add([]byte("134.108.0.0/16 553\n2001:07c0::/29 553\n0.0.0.0/0 1\njunk\n"))
	f.Add([]byte("10.0.0.1\t64500\n::ffff:10.0.0.0/104 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := snapshot.ParseRoutes(context.Background(), data)
		if err == nil && r.Len() == 0 {
			t.Fatal("accepted a file without routes")
		}
	})
}

// FuzzParseContinents checks the CSV parser on arbitrary text.
func FuzzParseContinents(f *testing.F) {
	f.Add([]byte("\"iso 3166 country\",\"continent code\"\nDE,EU\nA1,--\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = snapshot.ParseContinents(data)
	})
}
