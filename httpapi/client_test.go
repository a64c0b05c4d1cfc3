package httpapi

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestClientAddr(t *testing.T) {
	tests := []struct {
		name   string
		ip     string
		xff    []string // X-Forwarded-For header lines
		remote string
		want   string // "" means the zero (invalid) Addr
	}{
		{name: "remote IPv4 with port", remote: "192.0.2.7:51234", want: "192.0.2.7"},
		{name: "remote IPv6 with port", remote: "[2001:db8::7]:443", want: "2001:db8::7"},
		{name: "remote IPv6 with zone and port", remote: "[fe80::1%eth0]:80", want: "fe80::1"},
		{name: "remote IPv4-mapped", remote: "[::ffff:192.0.2.9]:80", want: "192.0.2.9"},
		{name: "remote without port", remote: "192.0.2.8", want: "192.0.2.8"},
		{name: "remote unparsable", remote: "@", want: ""},
		{name: "ip wins", ip: "198.51.100.1", xff: []string{"203.0.113.1"}, remote: "192.0.2.1:1", want: "198.51.100.1"},
		{name: "ip IPv6", ip: "2001:db8::1", remote: "192.0.2.1:1", want: "2001:db8::1"},
		{name: "ip with zone", ip: "fe80::1%eth0", remote: "192.0.2.1:1", want: "fe80::1"},
		{name: "ip IPv4-mapped", ip: "::ffff:198.51.100.2", want: "198.51.100.2"},
		{name: "ip unparsable", ip: "not-an-address", remote: "192.0.2.1:1", want: ""},
		{name: "ip with port is unparsable", ip: "198.51.100.1:80", remote: "192.0.2.1:1", want: ""},
		{name: "xff one entry", xff: []string{"203.0.113.5"}, remote: "192.0.2.1:1", want: "203.0.113.5"},
		{name: "xff several entries", xff: []string{"10.0.0.1, 10.0.0.2, 203.0.113.6"}, remote: "192.0.2.1:1", want: "203.0.113.6"},
		{name: "xff no spaces", xff: []string{"10.0.0.1,203.0.113.7"}, want: "203.0.113.7"},
		{name: "xff odd spacing", xff: []string{"10.0.0.1 ,  203.0.113.8  "}, want: "203.0.113.8"},
		{name: "xff several header lines", xff: []string{"10.0.0.1", "10.0.0.2, 203.0.113.9"}, want: "203.0.113.9"},
		{name: "xff IPv6", xff: []string{"10.0.0.1, 2001:db8::9"}, want: "2001:db8::9"},
		{name: "xff unparsable last", xff: []string{"203.0.113.1, unknown"}, remote: "192.0.2.1:1", want: ""},
		{name: "xff trailing comma", xff: []string{"203.0.113.1,"}, remote: "192.0.2.1:1", want: ""},
		{name: "xff blank falls back", xff: []string{"  "}, remote: "192.0.2.1:1", want: "192.0.2.1"},
		{name: "empty ip falls back", ip: "", xff: []string{"203.0.113.2"}, want: "203.0.113.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.xff {
				h.Add("X-Forwarded-For", v)
			}
			got := clientAddr(tt.ip, h, tt.remote)
			if tt.want == "" {
				if got.IsValid() {
					t.Errorf("got %v, want an invalid address", got)
				}
				return
			}
			if want := netip.MustParseAddr(tt.want); got != want {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}
