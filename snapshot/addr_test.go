package snapshot_test

import (
	"net/netip"
	"testing"

	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

func TestParsePrefix(t *testing.T) {
	tests := []struct {
		in, want string // want "" for an error
	}{
		{"10.1.2.3", "10.1.2.3/32"},
		{" 10.1.2.0/24 ", "10.1.2.0/24"},
		{"10.1.2.3/16", "10.1.0.0/16"},
		{"2001:db8::1", "2001:db8::1/128"},
		{"2001:db8::1/32", "2001:db8::/32"},
		{"fe80::1%eth0", "fe80::1/128"},
		{"::ffff:192.0.2.1", "192.0.2.1/32"},
		{"::ffff:192.0.2.0/120", "192.0.2.0/24"},
		{"::ffff:0:0/95", "::fffe:0:0/95"},
		{"", ""},
		{"10.1.2.3/33", ""},
		{"example.org", ""},
	}
	for _, tt := range tests {
		got, err := snapshot.ParsePrefix(tt.in)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("ParsePrefix(%q) = %v, want an error", tt.in, got)
		case tt.want != "" && (err != nil || got != netip.MustParsePrefix(tt.want)):
			t.Errorf("ParsePrefix(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	if got := snapshot.NormalizeAddr(netip.MustParseAddr("::ffff:10.0.0.1")); got != netip.MustParseAddr("10.0.0.1") {
		t.Errorf("NormalizeAddr(::ffff:10.0.0.1) = %v", got)
	}
}
