package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

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
