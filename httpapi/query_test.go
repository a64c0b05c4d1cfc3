package httpapi

import (
	"errors"
	"net/url"
	"testing"

	"github.com/mirrorlist-go/mirrorlist-server/resolve"
)

func TestParseQuery(t *testing.T) {
	tests := []struct {
		name   string
		query  string
		want   resolve.Request
		wantIP string
	}{
		{name: "empty", query: ""},
		{
			name:  "repo and arch",
			query: "repo=updates-released-f41&arch=x86_64",
			want:  resolve.Request{Repo: "updates-released-f41", Arch: "x86_64", HasRepo: true, HasArch: true},
		},
		{
			name:  "percent-decoded path",
			query: "path=pub%2Ffedora%2Flinux%2Freleases",
			want:  resolve.Request{Path: "pub/fedora/linux/releases", HasPath: true},
		},
		{
			name:  "plus stays plus",
			query: "repo=a+b&arch=x%2By",
			want:  resolve.Request{Repo: "a+b", Arch: "x+y", HasRepo: true, HasArch: true},
		},
		{
			name:  "encoded space",
			query: "repo=a%20b",
			want:  resolve.Request{Repo: "a b", HasRepo: true},
		},
		{
			name:  "UTF-8 escapes",
			query: "path=caf%C3%A9",
			want:  resolve.Request{Path: "café", HasPath: true},
		},
		{
			name:  "last one wins",
			query: "repo=first&arch=a&repo=second&repo=third",
			want:  resolve.Request{Repo: "third", Arch: "a", HasRepo: true, HasArch: true},
		},
		{
			name:  "key without equals",
			query: "repo&arch=x86_64",
			want:  resolve.Request{Arch: "x86_64", HasRepo: true, HasArch: true},
		},
		{
			name:  "empty value",
			query: "repo=&arch=",
			want:  resolve.Request{HasRepo: true, HasArch: true},
		},
		{
			name:  "value with equals",
			query: "repo=a=b",
			want:  resolve.Request{Repo: "a=b", HasRepo: true},
		},
		{
			name:  "empty pairs",
			query: "&&repo=r&&",
			want:  resolve.Request{Repo: "r", HasRepo: true},
		},
		{
			name:  "country",
			query: "country=de,SE",
			want:  resolve.Request{Country: "de,SE"},
		},
		{
			name:  "cc when country is absent",
			query: "cc=US",
			want:  resolve.Request{Country: "US"},
		},
		{
			name:  "country wins over cc",
			query: "cc=US&country=DE",
			want:  resolve.Request{Country: "DE"},
		},
		{
			name:  "empty country still wins over cc",
			query: "country=&cc=US",
			want:  resolve.Request{},
		},
		{
			name:  "version",
			query: "repo=centos-baseos&version=9-stream&arch=aarch64",
			want:  resolve.Request{Repo: "centos-baseos", Version: "9-stream", Arch: "aarch64", HasRepo: true, HasArch: true},
		},
		{
			name:  "protocol",
			query: "protocol=https,http",
			want:  resolve.Request{Protocol: "https,http", HasProto: true},
		},
		{
			name:  "empty protocol",
			query: "protocol",
			want:  resolve.Request{HasProto: true},
		},
		{name: "netblock 0", query: "netblock=0", want: resolve.Request{NoNetblock: true}},
		{name: "netblock encoded 0", query: "netblock=%30", want: resolve.Request{NoNetblock: true}},
		{name: "netblock 1", query: "netblock=1"},
		{name: "netblock empty", query: "netblock"},
		{name: "netblock last wins", query: "netblock=0&netblock=1"},
		{
			name:  "flags by presence",
			query: "redirect&time=0",
			want:  resolve.Request{Redirect: true, Time: true},
		},
		{
			name:   "ip",
			query:  "ip=2001%3Adb8%3A%3A1&repo=r",
			want:   resolve.Request{Repo: "r", HasRepo: true},
			wantIP: "2001:db8::1",
		},
		{
			name:  "unknown keys ignored",
			query: "countme=3&infra=stock&content=centos&repo=r&REPO=x&re%70o=y",
			want:  resolve.Request{Repo: "r", HasRepo: true},
		},
		{
			name:  "bad escape in an unknown key is ignored",
			query: "countme=%zz&repo=r",
			want:  resolve.Request{Repo: "r", HasRepo: true},
		},
		{
			name:  "bad escape in a losing value is ignored",
			query: "repo=%zz&repo=r",
			want:  resolve.Request{Repo: "r", HasRepo: true},
		},
		{
			name:  "bad escape in cc ignored when country is present",
			query: "cc=%&country=DE",
			want:  resolve.Request{Country: "DE"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got resolve.Request
			ip, err := parseQuery(tt.query, &got)
			if err != nil {
				t.Fatalf("parseQuery(%q): %v", tt.query, err)
			}
			if got != tt.want {
				t.Errorf("parseQuery(%q)\n got %+v\nwant %+v", tt.query, got, tt.want)
			}
			if ip != tt.wantIP {
				t.Errorf("parseQuery(%q) ip = %q, want %q", tt.query, ip, tt.wantIP)
			}
		})
	}
}

func TestParseQueryInvalidEscape(t *testing.T) {
	tests := []struct{ query, key string }{
		{"repo=%zz", "repo"},
		{"repo=r&arch=x86%", "arch"},
		{"path=a%2", "path"},
		{"country=%G1", "country"},
		{"cc=%", "cc"},
		{"protocol=%%", "protocol"},
		{"ip=1.2.3.4%", "ip"},
		{"version=%x", "version"},
		{"netblock=%", "netblock"},
	}
	for _, tt := range tests {
		var req resolve.Request
		_, err := parseQuery(tt.query, &req)
		var qe *QueryError
		if !errors.As(err, &qe) {
			t.Errorf("parseQuery(%q) error = %v, want a *QueryError", tt.query, err)
			continue
		}
		if qe.Key != tt.key {
			t.Errorf("parseQuery(%q) blames %q, want %q", tt.query, qe.Key, tt.key)
		}
		var ee url.EscapeError
		if !errors.As(err, &ee) {
			t.Errorf("parseQuery(%q) error %v does not wrap url.EscapeError", tt.query, err)
		}
	}
}

func TestParseQueryAllocs(t *testing.T) {
	const q = "repo=updates-released-f41&arch=x86_64&countme=2&country=DE&protocol=https"
	var req resolve.Request
	if n := testing.AllocsPerRun(100, func() { _, _ = parseQuery(q, &req) }); n != 0 {
		t.Errorf("parseQuery of a query without escapes allocates %v times, want 0", n)
	}
}
