package httpapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mirrorlist-go/mirrorlist-server/resolve"
)

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
		{"version=\x01", "version", 1}, // raw: net/http refuses it, parseQuery too
		{"netblock=%00", "netblock", 0},
	}
	for _, tt := range tests {
		var req resolve.Request
		_, err := parseQuery(tt.query, &req)
		var qe *QueryError
		var ce ControlError
		if !errors.As(err, &qe) || qe.Key != tt.key || !errors.As(err, &ce) || byte(ce) != tt.c {
			t.Errorf("parseQuery(%q) = %v, want a *QueryError for %s= with ControlError(%#x)", tt.query, err, tt.key, tt.c)
		}
	}
	// Bytes that are not control characters are values like any other.
	var req resolve.Request
	if _, err := parseQuery("path=caf%C3%A9+%ff%20x&protocol=https", &req); err != nil || req.Path != "café+\xff x" {
		t.Errorf("parseQuery: %q, %v", req.Path, err)
	}
}

// TestHostileQueriesAnswers sends the queries of TestQueryControlCharacters
// and others through the handler over the small fixture set and checks
// the answers with FuzzHandler's checker.
func TestHostileQueriesAnswers(t *testing.T) {
	holder := smallHolder(t)
	h := New(Config{Holder: holder, Minimum: 5, MaxQueryBytes: fuzzMaxQuery})
	check := newAnswerChecker(holder.Current(), fuzzMaxQuery)
	const dir = "pub/fedora-secondary/releases/41/Everything/riscv64/os"
	tests := []struct {
		target string
		status int
	}{
		{"/mirrorlist?repo=fedora-41&arch=x86_64&protocol=%0Ahttp://evil.example/&ip=51.158.38.231", 400},
		{"/metalink?path=" + dir + "/%01&ip=51.158.38.231", 400},
		{"/metalink?path=" + dir + "/%ff&ip=51.158.38.231", 404},
		{"/metalink?path=" + dir + "/%ed%a0%80--%3E%3Cx%3E&ip=51.158.38.231", 404},
		{"/metalink?repo=%ff%fe&arch=x86_64&ip=51.158.38.231", 404},
		{"/metalink?repo=%zz%ff&arch=x86_64", 400},
		{"/mirrorlist?path=" + dir + "/..&ip=51.158.38.231", 404},
		{"/mirrorlist?path=" + dir + "/%2e%2e&redirect&ip=51.158.38.231", 404},
		{"/mirrorlist?path=" + dir + "/%2E&ip=51.158.38.231", 404},
		{"/mirrorlist?path=" + dir + "/..%2F..%2F..%2Fetc%2Fpasswd&ip=51.158.38.231", 404},
		{"/mirrorlist?path=..%2F..%2Fetc%2Fpasswd&ip=51.158.38.231", 404},
		{"/mirrorlist?path=//" + dir + "//&ip=51.158.38.231", 200},
	}
	for _, tt := range tests {
		req, err := readRequest(http.MethodGet, tt.target, "")
		if err != nil {
			t.Fatal(err)
		}
		req.RemoteAddr = "127.0.0.1:1"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.status {
			t.Errorf("GET %s: status %d, want %d\n%s", tt.target, rec.Code, tt.status, rec.Body)
		}
		if p := check.problem(req, rec.Code, rec.Header(), rec.Body.Bytes()); p != "" {
			t.Errorf("GET %s: %d %s\n%s", tt.target, rec.Code, p, rec.Body)
		}
	}
}

// TestFailureDocumentCharacters checks that a failure document is
// well-formed whatever its message holds.
func TestFailureDocumentCharacters(t *testing.T) {
	for _, msg := range []string{
		"dir/\xff not found or has not metalink",
		"dir/\x01\x1b not found",
		"dir/\xed\xa0\x80 (a surrogate) not found",
		"a -- b --> <x> ---",
		"trailing -",
		"\uFFFE\uFFFF",
		strings.Repeat("\xc3", 100),
	} {
		doc := appendFailure(nil, msg, answerTime)
		if _, _, err := parseMetalink(doc); err != nil {
			t.Errorf("failure document for %q: %v\n%s", msg, err, doc)
		}
	}
	// Real messages are written unchanged.
	msg := "pub/fedora/linux/x/repomd.xml not found or has not metalink"
	if doc := string(appendFailure(nil, msg, answerTime)); !strings.Contains(doc, "<!-- "+msg+"\n-->") {
		t.Errorf("message changed:\n%s", doc)
	}
}
