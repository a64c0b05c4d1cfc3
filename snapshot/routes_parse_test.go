package snapshot

import (
	"strconv"
	"testing"
)

// checkIPv4Prefix compares parseIPv4Prefix with ParsePrefix, its
// reference: whatever the fast parser accepts, ParsePrefix accepts as the
// same prefix.
func checkIPv4Prefix(t *testing.T, s string) {
	t.Helper()
	got, ok := parseIPv4Prefix([]byte(s))
	if !ok {
		return
	}
	want, err := ParsePrefix(s)
	if err != nil || got != want {
		t.Errorf("parseIPv4Prefix(%q) = %v; ParsePrefix: %v, %v", s, got, want, err)
	}
}

func TestParseIPv4Prefix(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"10.0.0.0/8", true},
		{"10.1.2.3/16", true}, // host bits masked
		{"0.0.0.0/0", true},
		{"255.255.255.255/32", true},
		{"1.2.3.4/33", false},
		{"1.2.3.4/08", false},
		{"01.2.3.4/8", false},
		{"1.2.3.256/8", false},
		{"1.2.3/8", false},
		{"1.2.3.4.5/8", false},
		{"1.2.3.4", false}, // bare: ParsePrefix's
		{"1.2.3.4/", false},
		{"1.2.3.4/+8", false},
		{"1.2.3.4/8x", false},
		{"1..3.4/8", false},
		{"1234.2.3.4/8", false},
		{"::/0", false},
	} {
		_, ok := parseIPv4Prefix([]byte(c.in))
		if ok != c.ok {
			t.Errorf("parseIPv4Prefix(%q) ok = %v, want %v", c.in, ok, c.ok)
		}
		checkIPv4Prefix(t, c.in)
	}
	for _, s := range []string{"0", "7", "4294967295", "0004294967295"} {
		want, _ := strconv.ParseUint(s, 10, 32)
		if got, ok := parseASN([]byte(s)); !ok || uint64(got) != want {
			t.Errorf("parseASN(%q) = %d, %v; want %d", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "4294967296", "99999999999999999999", "+1", "-1", "1 ", "1_0", "0x10"} {
		if got, ok := parseASN([]byte(s)); ok {
			t.Errorf("parseASN(%q) = %d, want a refusal", s, got)
		}
	}
}

// FuzzParseIPv4Prefix compares the fast prefix and ASN parsers with
// ParsePrefix and strconv.ParseUint on arbitrary text.
func FuzzParseIPv4Prefix(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "192.0.2.1/32", "1.2.3.4/0", "01.2.3.4/8", "4294967295"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkIPv4Prefix(t, s)
		got, ok := parseASN([]byte(s))
		want, err := strconv.ParseUint(s, 10, 32)
		if ok != (err == nil) || (ok && uint64(got) != want) {
			t.Errorf("parseASN(%q) = %d, %v; ParseUint: %d, %v", s, got, ok, want, err)
		}
	})
}
