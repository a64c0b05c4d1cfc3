package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	"github.com/mirrorlist-go/mirrorlist-server/httpapi/accesslog"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
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
		{name: "ip with zone is refused", ip: "fe80::1%eth0", remote: "192.0.2.1:1", want: ""},
		{name: "ip IPv4-mapped", ip: "::ffff:198.51.100.2", want: "198.51.100.2"},
		{name: "ip unparsable", ip: "not-an-address", remote: "192.0.2.1:1", want: ""},
		{name: "ip with port is unparsable", ip: "198.51.100.1:80", remote: "192.0.2.1:1", want: ""},
		{name: "xff one entry", xff: []string{"203.0.113.5"}, remote: "192.0.2.1:1", want: "203.0.113.5"},
		{name: "xff several entries", xff: []string{"10.0.0.1, 10.0.0.2, 203.0.113.6"}, remote: "192.0.2.1:1", want: "203.0.113.6"},
		{name: "xff no spaces", xff: []string{"10.0.0.1,203.0.113.7"}, want: "203.0.113.7"},
		{name: "xff odd spacing", xff: []string{"10.0.0.1 ,  203.0.113.8  "}, want: "203.0.113.8"},
		{name: "xff several header lines: the last", xff: []string{"10.0.0.1", "10.0.0.2, 203.0.113.9"}, want: "203.0.113.9"},
		{name: "xff IPv6", xff: []string{"10.0.0.1, 2001:db8::9"}, want: "2001:db8::9"},
		{name: "xff unparsable last", xff: []string{"203.0.113.1, unknown"}, remote: "192.0.2.1:1", want: ""},
		{name: "xff trailing comma", xff: []string{"203.0.113.1,"}, remote: "192.0.2.1:1", want: ""},
		{name: "xff blank is unparsable", xff: []string{"  "}, remote: "192.0.2.1:1", want: ""},
		{name: "xff empty is unparsable", xff: []string{""}, remote: "192.0.2.1:1", want: ""},
		{name: "xff with zone is refused", xff: []string{"fe80::1%eth0"}, remote: "192.0.2.1:1", want: ""},
		{name: "empty ip falls back", ip: "", xff: []string{"203.0.113.2"}, want: "203.0.113.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.xff {
				h.Add("X-Forwarded-For", v)
			}
			checkAddr(t, clientAddr(tt.ip, h, tt.remote, nil), tt.want)
		})
	}
}

// checkAddr fails unless got is want, or invalid when want is "".
func checkAddr(t *testing.T, got netip.Addr, want string) {
	t.Helper()
	if want == "" {
		if got.IsValid() {
			t.Errorf("got %v, want an invalid address", got)
		}
		return
	}
	if w := netip.MustParseAddr(want); got != w {
		t.Errorf("got %v, want %v", got, w)
	}
}

func TestClientAddrTrustedProxies(t *testing.T) {
	proxies := trustedProxies{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:1::/48")}
	tests := []struct {
		name    string
		proxies trustedProxies
		ip      string
		remote  string
		want    string
	}{
		{"trusted IPv4 proxy", proxies, "", "10.1.2.3:4000", "203.0.113.5"},
		{"trusted IPv6 proxy", proxies, "", "[2001:db8:1::7]:4000", "203.0.113.5"},
		{"trusted IPv4-mapped proxy", proxies, "", "[::ffff:10.9.9.9]:4000", "203.0.113.5"},
		{"untrusted peer", proxies, "", "192.0.2.1:4000", "192.0.2.1"},
		{"untrusted IPv6 peer", proxies, "", "[2001:db8:2::1]:4000", "2001:db8:2::1"},
		{"untrusted unparsable peer", proxies, "", "@", ""},
		{"none trusted", trustedProxies{}, "", "10.1.2.3:4000", "10.1.2.3"},
		{"all trusted (default)", nil, "", "192.0.2.1:4000", "203.0.113.5"},
		{"ip= still wins", proxies, "198.51.100.1", "192.0.2.1:4000", "198.51.100.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"X-Forwarded-For": {"198.18.0.1, 203.0.113.5"}}
			checkAddr(t, clientAddr(tt.ip, h, tt.remote, tt.proxies), tt.want)
		})
	}
}

func TestParseTrustedProxies(t *testing.T) {
	tests := []struct {
		in   []string
		want []string // nil: an error
	}{
		{[]string{}, []string{}},
		{[]string{""}, []string{}},
		{[]string{"10.0.0.0/8", " 192.0.2.1 ", "2001:db8::/32", "2001:db8::1"},
			[]string{"10.0.0.0/8", "192.0.2.1/32", "2001:db8::/32", "2001:db8::1/128"}},
		{[]string{"10.1.2.3/8"}, []string{"10.0.0.0/8"}},
		{[]string{"::ffff:10.0.0.0/104", "::ffff:192.0.2.1"}, []string{"10.0.0.0/8", "192.0.2.1/32"}},
		{[]string{"fe80::1%eth0"}, []string{"fe80::1/128"}},
		{[]string{"10.0.0.0/33"}, nil},
		{[]string{"proxy.example.org"}, nil},
		{[]string{"10.0.0.0/8", "10.0.0.0/x"}, nil},
	}
	for _, tt := range tests {
		got, err := ParseTrustedProxies(tt.in)
		if tt.want == nil {
			if err == nil {
				t.Errorf("ParseTrustedProxies(%q) = %v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got == nil || len(got) != len(tt.want) {
			t.Errorf("ParseTrustedProxies(%q) = %v, %v; want %q", tt.in, got, err, tt.want)
			continue
		}
		for i, p := range got {
			if p.String() != tt.want[i] {
				t.Errorf("ParseTrustedProxies(%q)[%d] = %v, want %s", tt.in, i, p, tt.want[i])
			}
		}
	}
}

// TestHandlerTrustedProxies checks that the handler passes its list on:
// the access log shows whose address was taken.
func TestHandlerTrustedProxies(t *testing.T) {
	s := fixtures.TinySnapshot()
	for _, tt := range []struct {
		name    string
		proxies []netip.Prefix
		remote  string
		want    string
	}{
		{"from a trusted proxy", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, "10.0.0.5:999", "IP: " + fixtures.TinyAddrDE + ";"},
		{"from elsewhere", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, "192.0.2.9:999", "IP: 192.0.2.9;"},
		{"default trusts all", nil, "192.0.2.9:999", "IP: " + fixtures.TinyAddrDE + ";"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var lines strings.Builder
			log, err := accesslog.Open(accesslog.Config{Path: "mem", Open: func(string) (io.WriteCloser, error) { return nopCloser{&lines}, nil }})
			if err != nil {
				t.Fatal(err)
			}
			holder := new(snapshot.Holder)
			holder.Store(s)
			h := New(Config{Holder: holder, AccessLog: log, TrustedProxies: tt.proxies})
			req := httptest.NewRequest("GET", "/mirrorlist?repo=fedora-41&arch=x86_64", nil)
			req.RemoteAddr = tt.remote
			req.Header.Set("X-Forwarded-For", fixtures.TinyAddrDE)
			h.ServeHTTP(httptest.NewRecorder(), req)
			log.Close()
			if !strings.HasPrefix(lines.String(), tt.want) {
				t.Errorf("access log %q, want it to start %q", lines.String(), tt.want)
			}
		})
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
