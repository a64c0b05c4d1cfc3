package snapshot

import (
	"slices"
	"testing"
)

// checkScan compares scan with decode on one message: both accept it or
// scan refuses what decode refuses at the top level, they agree on the
// name and subpath, and every section that is not split holds exactly
// that field's records, so that decoding its bytes alone gives the
// field's lists.
func checkScan(t *testing.T, b []byte) {
	t.Helper()
	var full, scanned dirMessage
	decodeErr := full.decode(b)
	scanErr := scanned.scan(b)
	if scanErr != nil {
		if decodeErr == nil {
			t.Fatalf("scan refused %x (%v), decode accepted it", b, scanErr)
		}
		return
	}
	if decodeErr != nil {
		return // refused inside a section: left to decode
	}
	if string(scanned.name) != string(full.name) || string(scanned.subpath) != string(full.subpath) {
		t.Errorf("%x: scan read %q, %q; decode %q, %q", b, scanned.name, scanned.subpath, full.name, full.subpath)
	}
	name := []byte{0x0a, 0x00} // an empty name, which decode requires
	for i, sec := range scanned.sections {
		if sec.split {
			continue
		}
		var alone dirMessage
		if err := alone.decode(append(slices.Clip(name), sec.raw...)); err != nil {
			t.Fatalf("%x: section %d alone: %v", b, i, err)
		}
		switch i {
		case globalSection:
			if !slices.Equal(alone.global, full.global) {
				t.Errorf("%x: Global section gives %v, want %v", b, alone.global, full.global)
			}
		case countrySection:
			if !sameSpans(&alone, alone.countries, &full, full.countries) || len(alone.hosts)+len(alone.global) > 0 {
				t.Errorf("%x: ByCountry section differs", b)
			}
		case carrierSection:
			if !sameSpans(&alone, alone.hosts, &full, full.hosts) || len(alone.countries)+len(alone.global) > 0 {
				t.Errorf("%x: ByHostId section differs", b)
			}
		}
	}
}

func sameSpans(a *dirMessage, as []span, b *dirMessage, bs []span) bool {
	if len(as) != len(bs) {
		return false
	}
	for i := range as {
		x, y := as[i], bs[i]
		if string(x.key) != string(y.key) || x.intKey != y.intKey || !slices.Equal(a.ids[x.start:x.end], b.ids[y.start:y.end]) {
			return false
		}
	}
	return true
}

// TestScanMatchesDecode checks scan on every directory of the small set,
// packed and unpacked, and on messages whose fields are out of order.
func TestScanMatchesDecode(t *testing.T) {
	dirs := smallDirectories(t)
	for _, b := range dirs {
		checkScan(t, b)
	}
	global := []byte{0x10, 0x05}
	country := []byte{0x22, 0x06, 0x0a, 0x02, 'd', 'e', 0x10, 0x05}
	carrier := []byte{0x32, 0x04, 0x08, 0x05, 0x10, 0x07}
	name := []byte{0x0a, 0x01, 'a'}
	cat := func(parts ...[]byte) []byte { return slices.Concat(parts...) }
	for _, c := range []struct {
		msg   []byte
		split [numSections]bool
	}{
		{cat(name, global, global, country, carrier, carrier), [numSections]bool{}},
		{cat(global, name, global), [numSections]bool{true, false, false}},
		{cat(name, carrier, country, carrier), [numSections]bool{false, false, true}},
		{cat(name, country, []byte{0x2a, 0x00}, country), [numSections]bool{false, true, false}}, // ByCountryInternet2 between
		{cat(carrier, []byte{0x1a, 0x01, 's'}, carrier, name), [numSections]bool{false, false, true}},
	} {
		checkScan(t, c.msg)
		var d dirMessage
		if err := d.scan(c.msg); err != nil {
			t.Fatalf("%x: %v", c.msg, err)
		}
		for i, sec := range d.sections {
			if sec.split != c.split[i] {
				t.Errorf("%x: section %d split = %v, want %v", c.msg, i, sec.split, c.split[i])
			}
		}
	}
	for _, b := range [][]byte{
		{},                            // no name
		{0x0a, 0x05, 'a'},             // name cut short
		{0x08, 0x01},                  // name as a varint
		{0x0a, 0x01, 'a', 0x15, 1},    // Global as a fixed32, cut short
		{0x0a, 0x01, 'a', 0x20, 1},    // ByCountry as a varint
		{0x0a, 0x01, 'a', 0x30, 1},    // ByHostId as a varint
		{0x0a, 0x01, 'a', 0x10, 0x80}, // Global cut inside a varint
	} {
		checkScan(t, b)
	}
}

// FuzzScanMatchesDecode compares scan with decode on arbitrary bytes.
func FuzzScanMatchesDecode(f *testing.F) {
	for i, b := range smallDirectories(f) {
		if i%50 == 0 {
			f.Add(b)
		}
	}
	f.Add([]byte{0x0a, 0x01, 'a', 0x12, 0x02, 0x01, 0x02, 0x1a, 0x00, 0x10, 0x03})
	f.Fuzz(checkScan)
}
