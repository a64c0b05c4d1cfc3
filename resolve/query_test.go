package resolve

import (
	"errors"
	"net/url"
	"testing"
)

func TestParseQuery(t *testing.T) {
	tests := []struct {
		name   string
		query  string
		want   Request
		wantIP string
	}{
		{name: "empty", query: ""},
		{
			name:  "repo and arch",
			query: "repo=updates-released-f41&arch=x86_64",
			want:  Request{Repo: "updates-released-f41", Arch: "x86_64", HasRepo: true, HasArch: true, RawRepo: "updates-released-f41", RawArch: "x86_64"},
		},
		{
			name:  "percent-decoded path",
			query: "path=pub%2Ffedora%2Flinux%2Freleases",
			want:  Request{Path: "pub/fedora/linux/releases", HasPath: true},
		},
		{
			name:  "plus stays plus",
			query: "repo=a+b&arch=x%2By",
			want:  Request{Repo: "a+b", Arch: "x+y", HasRepo: true, HasArch: true, RawRepo: "a+b", RawArch: "x%2By"},
		},
		{
			name:  "encoded space",
			query: "repo=a%20b",
			want:  Request{Repo: "a b", HasRepo: true, RawRepo: "a%20b"},
		},
		{
			name:  "UTF-8 escapes",
			query: "path=caf%C3%A9",
			want:  Request{Path: "café", HasPath: true},
		},
		{
			name:  "last one wins",
			query: "repo=first&arch=a&repo=second&repo=third",
			want:  Request{Repo: "third", Arch: "a", HasRepo: true, HasArch: true, RawRepo: "third", RawArch: "a"},
		},
		{
			name:  "key without equals",
			query: "repo&arch=x86_64",
			want:  Request{Arch: "x86_64", HasRepo: true, HasArch: true, RawArch: "x86_64"},
		},
		{
			name:  "empty value",
			query: "repo=&arch=",
			want:  Request{HasRepo: true, HasArch: true},
		},
		{
			name:  "a value ends at the next equals",
			query: "repo=updates-released-f42=x&arch==x86_64",
			want:  Request{Repo: "updates-released-f42", HasRepo: true, HasArch: true, RawRepo: "updates-released-f42"},
		},
		{
			name:  "an encoded equals is part of the value",
			query: "repo=a%3Db",
			want:  Request{Repo: "a=b", HasRepo: true, RawRepo: "a%3Db"},
		},
		{
			name:  "empty pairs",
			query: "&&repo=r&&",
			want:  Request{Repo: "r", HasRepo: true, RawRepo: "r"},
		},
		{
			name:  "country",
			query: "country=de,SE",
			want:  Request{Country: "de,SE"},
		},
		{
			name:  "cc when country is absent",
			query: "cc=US",
			want:  Request{Country: "US"},
		},
		{
			name:  "country wins over cc",
			query: "cc=US&country=DE",
			want:  Request{Country: "DE"},
		},
		{
			name:  "empty country still wins over cc",
			query: "country=&cc=US",
			want:  Request{},
		},
		{
			name:  "version",
			query: "repo=centos-baseos&version=9-stream&arch=aarch64",
			want: Request{Repo: "centos-baseos", Version: "9-stream", Arch: "aarch64", HasRepo: true, HasArch: true,
				RawRepo: "centos-baseos", RawVersion: "9-stream", RawArch: "aarch64"},
		},
		{
			name:  "protocol",
			query: "protocol=https,http",
			want:  Request{Protocol: "https,http", HasProto: true},
		},
		{
			name:  "empty protocol",
			query: "protocol",
			want:  Request{HasProto: true},
		},
		{name: "netblock 0", query: "netblock=0", want: Request{NoNetblock: true}},
		{name: "netblock encoded 0", query: "netblock=%30", want: Request{NoNetblock: true}},
		{name: "netblock 1", query: "netblock=1"},
		{name: "netblock encoded 1", query: "netblock=%31"},
		{name: "netblock bare", query: "netblock", want: Request{NoNetblock: true}},
		{name: "netblock empty", query: "netblock=", want: Request{NoNetblock: true}},
		{name: "netblock yes", query: "netblock=yes", want: Request{NoNetblock: true}},
		{name: "netblock 2", query: "netblock=2", want: Request{NoNetblock: true}},
		{name: "netblock last wins", query: "netblock=0&netblock=1"},
		{name: "netblock last wins off", query: "netblock=1&netblock=yes", want: Request{NoNetblock: true}},
		{
			name:  "flags by presence",
			query: "redirect&time=0",
			want:  Request{Redirect: true, Time: true},
		},
		{
			name:   "ip",
			query:  "ip=2001%3Adb8%3A%3A1&repo=r",
			want:   Request{Repo: "r", HasRepo: true, RawRepo: "r"},
			wantIP: "2001:db8::1",
		},
		{
			name:  "unknown keys ignored",
			query: "countme=3&infra=stock&content=centos&repo=r&REPO=x&re%70o=y",
			want:  Request{Repo: "r", HasRepo: true, RawRepo: "r"},
		},
		{
			name:  "bad escape in an unknown key is ignored",
			query: "countme=%zz&repo=r",
			want:  Request{Repo: "r", HasRepo: true, RawRepo: "r"},
		},
		{
			name:  "bad escape in a losing value is ignored",
			query: "repo=%zz&repo=r",
			want:  Request{Repo: "r", HasRepo: true, RawRepo: "r"},
		},
		{
			name:  "bad escape in cc ignored when country is present",
			query: "cc=%&country=DE",
			want:  Request{Country: "DE"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Request
			ip, err := ParseQuery(tt.query, &got)
			if err != nil {
				t.Fatalf("ParseQuery(%q): %v", tt.query, err)
			}
			if got != tt.want {
				t.Errorf("ParseQuery(%q)\n got %+v\nwant %+v", tt.query, got, tt.want)
			}
			if ip != tt.wantIP {
				t.Errorf("ParseQuery(%q) ip = %q, want %q", tt.query, ip, tt.wantIP)
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
		var req Request
		_, err := ParseQuery(tt.query, &req)
		var qe *QueryError
		if !errors.As(err, &qe) {
			t.Errorf("ParseQuery(%q) error = %v, want a *QueryError", tt.query, err)
			continue
		}
		if qe.Key != tt.key {
			t.Errorf("ParseQuery(%q) blames %q, want %q", tt.query, qe.Key, tt.key)
		}
		var ee url.EscapeError
		if !errors.As(err, &ee) {
			t.Errorf("ParseQuery(%q) error %v does not wrap url.EscapeError", tt.query, err)
		}
	}
}

func TestParseQueryAllocs(t *testing.T) {
	const q = "repo=updates-released-f41&arch=x86_64&countme=2&country=DE&protocol=https"
	var req Request
	if n := testing.AllocsPerRun(100, func() { _, _ = ParseQuery(q, &req) }); n != 0 {
		t.Errorf("parseQuery of a query without escapes allocates %v times, want 0", n)
	}
}
