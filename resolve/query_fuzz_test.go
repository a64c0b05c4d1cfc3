package resolve

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// The seed corpus of FuzzParseQuery is committed under
// testdata/fuzz/FuzzParseQuery/ and runs with every go test; a longer
// search is, for example:
//
//	go test -run XXX -fuzz '^FuzzParseQuery$' -fuzztime 10m ./resolve

// FuzzParseQuery checks the query parser against a plain reference: split
// on '&', a value ends at the next '=', the last occurrence of a key wins,
// values percent-decoded with '+' kept. It must never panic, must blame a key the server reads when it
// fails, and must never hand on a value with a control character.
func FuzzParseQuery(f *testing.F) {
	for _, q := range []string{
		"repo=fedora-41&arch=x86_64&countme=1",
		"path=pub/fedora/linux/releases/41/Everything/x86_64/os&ip=192.0.2.1",
		"repo=a&repo=b&arch=%78%38%36_64&netblock=0&redirect&time",
		"cc=de&country=&protocol=https,http",
		"repo=%zz&arch=%",
		"path=%2e%2e%2f%2e%2e&ip=fe80::1%25eth0",
		"repo=a%00b&arch=x",
		"&&=&==&repo",
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		var req Request
		ip, err := ParseQuery(q, &req)
		if err != nil {
			var qe *QueryError
			if !errors.As(err, &qe) || !slices.Contains(knownKeys, qe.Key) {
				t.Fatalf("ParseQuery(%q) = %v: not a *QueryError about a known key", q, err)
			}
			return
		}
		want := referenceQuery(q)
		got := map[string]string{
			"repo": req.Repo, "arch": req.Arch, "path": req.Path, "version": req.Version,
			"protocol": req.Protocol, "ip": ip,
		}
		for key, v := range got {
			if w := want[key]; v != w.value {
				t.Errorf("ParseQuery(%q): %s = %q, want %q", q, key, v, w.value)
			}
			if hasControl(v) {
				t.Errorf("ParseQuery(%q): %s = %q holds a control character", q, key, v)
			}
		}
		checkQueryFlags(t, q, &req, want)
	})
}

// knownKeys are the query keys the server reads.
var knownKeys = []string{"repo", "arch", "path", "version", "country", "cc", "protocol", "netblock", "redirect", "time", "ip"}

// refValue is a key's winning value in referenceQuery.
type refValue struct {
	value string
	set   bool
}

// referenceQuery parses q the slow, obvious way.
func referenceQuery(q string) map[string]refValue {
	out := make(map[string]refValue)
	for _, pair := range strings.Split(q, "&") {
		key, raw, _ := strings.Cut(pair, "=")
		raw, _, _ = strings.Cut(raw, "=")
		v, err := url.PathUnescape(raw)
		if err != nil {
			v = "<invalid>"
		}
		out[key] = refValue{value: v, set: true}
	}
	return out
}

// checkQueryFlags compares the presence flags and the country choice.
func checkQueryFlags(t *testing.T, q string, req *Request, want map[string]refValue) {
	t.Helper()
	country := want["country"]
	if !country.set {
		country = want["cc"]
	}
	if req.Country != country.value {
		t.Errorf("ParseQuery(%q): country = %q, want %q", q, req.Country, country.value)
	}
	flags := []struct {
		name      string
		got, want bool
	}{
		{"HasRepo", req.HasRepo, want["repo"].set},
		{"HasArch", req.HasArch, want["arch"].set},
		{"HasPath", req.HasPath, want["path"].set},
		{"HasProto", req.HasProto, want["protocol"].set},
		{"Redirect", req.Redirect, want["redirect"].set},
		{"Time", req.Time, want["time"].set},
		{"NoNetblock", req.NoNetblock, want["netblock"].set && want["netblock"].value != "1"},
	}
	for _, fl := range flags {
		if fl.got != fl.want {
			t.Errorf("ParseQuery(%q): %s = %v, want %v", q, fl.name, fl.got, fl.want)
		}
	}
}

// hasControl reports whether s holds an ASCII control character.
func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// TestQueryControlCharacters checks that a value holding a control
// character is refused with a *QueryError naming the key. FuzzHandler
// found that protocol=%0A<url> put a URL line of the client's choosing in
// front of the mirrors of a 200 mirrorlist (the header echoes protocol=),
// and that path=<dir>/%01 broke the XML of the metalink failure document.
func TestQueryControlCharacters(t *testing.T) {
	tests := []struct {
		query string
		key   string
		c     byte
	}{
		{"repo=fedora-41&arch=x86_64&protocol=%0Ahttp://evil.example/", "protocol", '\n'},
		{"path=pub/fedora/x%0D%0Ay", "path", '\r'},
		{"repo=a%00b&arch=x86_64", "repo", 0},
		{"repo=a&arch=x86%7F64", "arch", 0x7f},
		{"country=D%09E", "country", '\t'},
		{"cc=%1b[31m", "cc", 0x1b},
		{"ip=192.0.2.1%0A", "ip", '\n'},
		{"version=\x01", "version", 1}, // raw: net/http refuses it, ParseQuery too
		{"netblock=%00", "netblock", 0},
	}
	for _, tt := range tests {
		var req Request
		_, err := ParseQuery(tt.query, &req)
		var qe *QueryError
		var ce ControlError
		if !errors.As(err, &qe) || qe.Key != tt.key || !errors.As(err, &ce) || byte(ce) != tt.c {
			t.Errorf("ParseQuery(%q) = %v, want a *QueryError for %s= with ControlError(%#x)", tt.query, err, tt.key, tt.c)
		}
	}
	// Bytes that are not control characters are values like any other.
	var req Request
	if _, err := ParseQuery("path=caf%C3%A9+%ff%20x&protocol=https", &req); err != nil || req.Path != "café+\xff x" {
		t.Errorf("ParseQuery: %q, %v", req.Path, err)
	}
}
