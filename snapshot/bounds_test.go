package snapshot_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// The loaders' memory must stay proportional to their input, whatever the
// input claims: a corrupt length or count must never make them allocate
// ahead of the bytes that are really there. These tests measure what a
// load allocates for hostile inputs and for the committed fuzz corpus.

// allocBudget is what a protobuf load may allocate for n bytes of input:
// a fixed part (the read buffers of the two streaming passes, up to 1 MB
// each, and the builder's tables) and a part proportional to the input,
// with room above the worst inputs below, a packed list of distinct host
// ids (three bytes that each create a host), garbage of the tables'
// growth included. TestBuildMirrorsAllocationBound logs the most it sees
// allocated per input byte; real snapshots allocate far less.
func allocBudget(n int) uint64 { return 8<<20 + 256*uint64(n) }

// allocated returns the bytes f allocates, counted over the whole process
// (nothing else runs in this package's tests meanwhile).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestBuildMirrorsAllocationBound loads hostile snapshots and checks what
// each load allocates against allocBudget.
func TestBuildMirrorsAllocationBound(t *testing.T) {
	cases := hostileSnapshots(t)
	for name, data := range fuzzCorpus(t, "FuzzBuildMirrors") {
		cases["corpus/"+name] = data
	}
	worst, worstName := 0.0, ""
	for name, data := range cases {
		var err error
		n := allocated(func() { _, err = snapshot.BuildMirrors(context.Background(), data) })
		if n > allocBudget(len(data)) {
			t.Errorf("%s: %d bytes allocated for %d bytes of input (budget %d); err %v", name, n, len(data), allocBudget(len(data)), err)
		}
		// Below 64 KB of input the fixed part decides the ratio.
		if r := float64(n) / float64(len(data)); len(data) >= 64<<10 && r > worst {
			worst, worstName = r, name
		}
	}
	t.Logf("most allocated per input byte (inputs of 64 KB or more): %.0f, %s", worst, worstName)
}

// hostileSnapshots returns snapshots built to make a loader allocate: huge
// declared lengths, and many tiny messages that each create something.
func hostileSnapshots(t *testing.T) map[string][]byte {
	t.Helper()
	good := marshal(t, minimalList())
	timeField := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 1732480000)
	out := map[string][]byte{
		"length 2^62 at the top":   append(protowire.AppendVarint(protowire.AppendTag(append([]byte(nil), good...), 16, protowire.BytesType), 1<<62), 0),
		"length 2^31 in a hcurl":   append(protowire.AppendVarint(protowire.AppendTag(append([]byte(nil), good...), 4, protowire.BytesType), 1<<31), 1, 2, 3),
		"varint of ten 0xff bytes": append(append([]byte(nil), good...), 0x80, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
		"many hosts by bandwidth":  manyRecords(timeField, 13, 100_000, func(i int) []byte { return intPair(int64(i), 5) }),
		"many hosts in one packed": append(append([]byte(nil), good...), directory("pub/many", packedIDs(100_000))...),
		"many empty directories":   manyRecords(good, 16, 50_000, func(i int) []byte { return dirName(strconv.Itoa(i)) }),
		"many ByHostId entries":    append(append([]byte(nil), good...), directory("pub/carriers", manyCarriers(50_000))...),
		"many netblock prefixes": manyRecords(good, 15, 20_000, func(i int) []byte {
			return stringIntsPair("10."+strconv.Itoa(i/256%256)+"."+strconv.Itoa(i%256)+".0/24", int64(i))
		}),
		"nested length past its end": append(append([]byte(nil), good...), directory("pub/x", []byte{0x32, 0xff, 0xff, 0x03, 0x08})...),
	}
	return out
}

// manyRecords appends n top-level records of field num to base.
func manyRecords(base []byte, num protowire.Number, n int, rec func(i int) []byte) []byte {
	out := append([]byte(nil), base...)
	for i := range n {
		out = protowire.AppendBytes(protowire.AppendTag(out, num, protowire.BytesType), rec(i))
	}
	return out
}

func intPair(k, v int64) []byte {
	b := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), uint64(k))
	return protowire.AppendVarint(protowire.AppendTag(b, 2, protowire.VarintType), uint64(v))
}

func stringIntsPair(k string, v int64) []byte {
	b := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), k)
	return protowire.AppendVarint(protowire.AppendTag(b, 2, protowire.VarintType), uint64(v))
}

func dirName(name string) []byte {
	return protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), name)
}

// directory returns a top-level MirrorListCache record named name with
// the extra fields rest.
func directory(name string, rest []byte) []byte {
	body := append(dirName(name), rest...)
	return protowire.AppendBytes(protowire.AppendTag(nil, 16, protowire.BytesType), body)
}

// packedIDs is a packed Global list of n distinct host ids.
func packedIDs(n int) []byte {
	var ids []byte
	for i := range n {
		ids = protowire.AppendVarint(ids, uint64(i+1000))
	}
	return protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), ids)
}

// manyCarriers is n ByHostId entries of distinct hosts without hcurls.
func manyCarriers(n int) []byte {
	var out []byte
	for i := range n {
		e := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), uint64(i+1000))
		out = protowire.AppendBytes(protowire.AppendTag(out, 6, protowire.BytesType), e)
	}
	return out
}

// fuzzCorpus reads the committed seed corpus of a fuzz target whose one
// argument is a []byte.
func fuzzCorpus(t *testing.T, target string) map[string][]byte {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string][]byte)
	for _, e := range entries {
		text, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(text)), "\n")
		if len(lines) != 2 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "[]byte(") {
			t.Fatalf("%s: not a one-[]byte corpus file", e.Name())
		}
		v, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		out[e.Name()] = []byte(v)
	}
	return out
}

// TestBuildMirrorsCorpusOutcomes pins what the loader makes of the named
// seeds of the committed corpus: the real data and its cut at a message
// boundary load, every damaged one is refused.
func TestBuildMirrorsCorpusOutcomes(t *testing.T) {
	corpus := fuzzCorpus(t, "FuzzBuildMirrors")
	accept := map[string]bool{
		"tiny-fixture":                   true,
		"small-subset":                   true,
		"small-subset-cut-at-boundary":   true,
		"packed-ids-and-second-time":     true,
		"small-subset-cut-mid-directory": false,
		"small-subset-huge-length":       false,
		"nested-length-overrun":          false,
		"wrong-wire-types":               false,
		"group-wire-type":                false,
		"zero-field-number":              false,
	}
	for name, want := range accept {
		data, ok := corpus[name]
		if !ok {
			t.Errorf("corpus file %s is missing", name)
			continue
		}
		m, err := snapshot.BuildMirrors(context.Background(), data)
		if (err == nil) != want {
			t.Errorf("%s: error %v, want accepted = %v", name, err, want)
		}
		if name == "packed-ids-and-second-time" && err == nil && m.Time() != 1732490000 {
			t.Errorf("%s: Time %d, want the last one, 1732490000", name, m.Time())
		}
	}
}

// TestParseContinentsManyDuplicates checks that a CSV of one line
// repeated (a generator stuck in a loop) loads with a bounded list of
// warnings: they are logged with every reload.
func TestParseContinentsManyDuplicates(t *testing.T) {
	data := bytes.Repeat([]byte("DE,EU\n"), 100_000)
	c, err := snapshot.ParseContinents(data)
	if err != nil {
		t.Fatal(err)
	}
	s := snapshot.Assemble(buildMirrors(t, minimalList()),
		must(snapshot.ParseGeoIP(context.Background(), mmdb(t, "GeoLite2-Country"))),
		must(snapshot.ParseRoutes(context.Background(), []byte("81.0.0.0/8 3320\n"))), c)
	st := s.Stats()
	if len(st.Warnings) > 60 || !slices.ContainsFunc(st.Warnings, func(w string) bool { return strings.Contains(w, "99999 duplicate") }) {
		t.Errorf("warnings for 99,999 duplicate lines: %d of them, want the first few and a count:\n%.500q", len(st.Warnings), st.Warnings)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestBuildMirrorsFieldNumberBeyondRange: a top-level tag whose field
// number does not fit in 29 bits is refused, as proto.Unmarshal refuses
// it, rather than cut to 32 bits, which here would make it field 1
// (Time) and overwrite the snapshot's time.
func TestBuildMirrorsFieldNumberBeyondRange(t *testing.T) {
	data, ok := fuzzCorpus(t, "FuzzBuildMirrors")["tiny-fixture"]
	if !ok {
		t.Fatal("corpus file tiny-fixture is missing")
	}
	if _, err := snapshot.BuildMirrors(context.Background(), data); err != nil {
		t.Fatalf("the fixture itself: %v", err)
	}
	data = protowire.AppendVarint(slices.Clone(data), (1<<32+1)<<3|uint64(protowire.VarintType))
	data = protowire.AppendVarint(data, 42)
	_, err := snapshot.BuildMirrors(context.Background(), data)
	if err == nil || !strings.Contains(err.Error(), "invalid field number") {
		t.Errorf("error %v, want an invalid field number", err)
	}
}
