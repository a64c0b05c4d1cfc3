package snapshot

import (
	"os"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	mm "github.com/mirrorlist-go/mirrorlist-server/proto"
)

// compareWithUnmarshal decodes a MirrorListCacheType with the hand decoder
// and with proto.Unmarshal, and fails t if they disagree. The hand decoder
// may reject what proto.Unmarshal accepts (a known field with the wrong
// wire type, which proto keeps as an unknown field); it skips
// ByCountryInternet2 (field 5) unread, which proto.Unmarshal parses and
// may reject. Otherwise both accept the same messages and read the same
// lists.
func compareWithUnmarshal(t *testing.T, b []byte) {
	t.Helper()
	var d dirMessage
	handErr := d.decode(b)
	var want mm.MirrorListCacheType
	protoErr := proto.Unmarshal(b, &want)
	if protoErr != nil && handErr == nil {
		want.Reset()
		protoErr = proto.Unmarshal(withoutField(b, 5), &want)
	}
	switch {
	case handErr != nil:
		return
	case protoErr != nil:
		t.Fatalf("hand decoder accepted %x, proto.Unmarshal: %v", b, protoErr)
	}
	if string(d.name) != want.GetDirectory() || string(d.subpath) != want.GetSubpath() {
		t.Errorf("name, subpath = %q, %q; want %q, %q", d.name, d.subpath, want.GetDirectory(), want.GetSubpath())
	}
	if !slices.Equal(d.global, want.GetGlobal()) && len(d.global)+len(want.GetGlobal()) > 0 {
		t.Errorf("Global = %v, want %v", d.global, want.GetGlobal())
	}
	if len(d.countries) != len(want.GetByCountry()) {
		t.Fatalf("%d ByCountry entries, want %d", len(d.countries), len(want.GetByCountry()))
	}
	for i, e := range want.GetByCountry() {
		got := d.countries[i]
		if string(got.key) != e.GetKey() || !sameInts(d.ids[got.start:got.end], e.GetValue()) {
			t.Errorf("ByCountry[%d] = %q %v, want %q %v", i, got.key, d.ids[got.start:got.end], e.GetKey(), e.GetValue())
		}
	}
	if len(d.hosts) != len(want.GetByHostId()) {
		t.Fatalf("%d ByHostId entries, want %d", len(d.hosts), len(want.GetByHostId()))
	}
	for i, e := range want.GetByHostId() {
		got := d.hosts[i]
		if got.intKey != e.GetKey() || !sameInts(d.ids[got.start:got.end], e.GetValue()) {
			t.Errorf("ByHostId[%d] = %d %v, want %d %v", i, got.intKey, d.ids[got.start:got.end], e.GetKey(), e.GetValue())
		}
	}
}

func sameInts(a, b []int64) bool { return len(a)+len(b) == 0 || slices.Equal(a, b) }

// withoutField returns b without its top-level records of field num; b
// is returned unchanged if it does not parse.
func withoutField(b []byte, num protowire.Number) []byte {
	var out []byte
	for rest := b; len(rest) > 0; {
		n, typ, tn := protowire.ConsumeTag(rest)
		if tn < 0 {
			return b
		}
		vn := protowire.ConsumeFieldValue(n, typ, rest[tn:])
		if vn < 0 {
			return b
		}
		if n != num {
			out = append(out, rest[:tn+vn]...)
		}
		rest = rest[tn+vn:]
	}
	return out
}

// smallDirectories returns the directory messages of the committed small
// set, as they are in the file.
func smallDirectories(tb testing.TB) [][]byte {
	tb.Helper()
	// The file itself: package fixtures imports this one.
	data, err := os.ReadFile("../fixtures/small/mirrorlist_cache.proto")
	if err != nil {
		tb.Fatal(err)
	}
	var dirs [][]byte
	for b := data; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			tb.Fatal("small snapshot does not parse")
		}
		b = b[n:]
		if num == 16 && typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b)
			dirs = append(dirs, v)
			b = b[m:]
			continue
		}
		b = b[protowire.ConsumeFieldValue(num, typ, b):]
	}
	return dirs
}

// TestDecodeMatchesUnmarshal compares the two decoders on every directory
// of the small set, on the same messages with Global and the ids packed
// (as a proto3 writer would), and on hand-made edge cases.
func TestDecodeMatchesUnmarshal(t *testing.T) {
	dirs := smallDirectories(t)
	if len(dirs) < 100 {
		t.Fatalf("only %d directories in the small set", len(dirs))
	}
	for _, b := range dirs {
		compareWithUnmarshal(t, b)
		var m mm.MirrorListCacheType
		if err := proto.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		compareWithUnmarshal(t, packed(&m))
	}
	for _, b := range [][]byte{
		{},                                 // no name: both reject
		{0x0a, 0x01, 'a'},                  // name only
		{0x0a, 0x01, 'a', 0x0a, 0x01, 'b'}, // name twice: the last wins
		{0x0a, 0x01, 'a', 0x2a, 0x02, 0x10, 0x01}, // ByCountryInternet2 without its key
		{0x0a, 0x01, 'a', 0x32, 0x02, 0x10, 0x01}, // ByHostId without its key
		{0x0a, 0x01, 'a', 0x10, 0x80},             // Global cut inside a varint
	} {
		compareWithUnmarshal(t, b)
	}
}

// packed re-encodes m with every repeated int64 packed.
func packed(m *mm.MirrorListCacheType) []byte {
	b := protowire.AppendTag(nil, 1, protowire.BytesType)
	b = protowire.AppendString(b, m.GetDirectory())
	b = appendPacked(b, 2, m.GetGlobal())
	if m.Subpath != nil {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendString(b, m.GetSubpath())
	}
	for _, e := range m.GetByCountry() {
		v := protowire.AppendTag(nil, 1, protowire.BytesType)
		v = appendPacked(protowire.AppendString(v, e.GetKey()), 2, e.GetValue())
		b = protowire.AppendBytes(protowire.AppendTag(b, 4, protowire.BytesType), v)
	}
	for _, e := range m.GetByHostId() {
		v := protowire.AppendTag(nil, 1, protowire.VarintType)
		v = appendPacked(protowire.AppendVarint(v, uint64(e.GetKey())), 2, e.GetValue())
		b = protowire.AppendBytes(protowire.AppendTag(b, 6, protowire.BytesType), v)
	}
	return b
}

func appendPacked(b []byte, num protowire.Number, ids []int64) []byte {
	if len(ids) == 0 {
		return b
	}
	var run []byte
	for _, id := range ids {
		run = protowire.AppendVarint(run, uint64(id))
	}
	return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), run)
}

// FuzzDecodeMatchesUnmarshal compares the two decoders on arbitrary
// bytes, seeded with directories of the small set.
func FuzzDecodeMatchesUnmarshal(f *testing.F) {
	for i, b := range smallDirectories(f) {
		if i%50 == 0 {
			f.Add(b)
		}
	}
	f.Add([]byte{0x0a, 0x01, 'a', 0x12, 0x02, 0x01, 0x02})
	f.Fuzz(compareWithUnmarshal)
}
