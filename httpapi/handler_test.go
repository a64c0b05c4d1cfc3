package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	"github.com/mirrorlist-go/mirrorlist-server/resolve"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// newTestHandler returns a handler serving s (nil: no snapshot yet) at a
// fixed time.
func newTestHandler(t testing.TB, s *snapshot.Snapshot) *Handler {
	t.Helper()
	holder := new(snapshot.Holder)
	if s != nil {
		holder.Store(s)
	}
	return New(Config{Holder: holder, Minimum: 5, Now: func() time.Time { return answerTime }})
}

// serve runs one request through h and returns the recorded response.
func serve(h http.Handler, method, target string) *http.Response {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec.Result()
}

func body(t testing.TB, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRouting(t *testing.T) {
	const maxQuery = 512
	h := newTestHandler(t, fixtures.TinySnapshot())
	h.maxQuery = maxQuery
	metalinkBadEscape := string(appendFailure(nil, `invalid percent-encoding in the value of repo=: invalid URL escape "%zz"`, answerTime))
	tests := []struct {
		name        string
		method      string
		target      string
		status      int
		contentType string
		body        string // "" means: do not check
	}{
		{"root", "GET", "/", 404, "text/plain", "We don't serve their kind here!"},
		{"other path", "GET", "/mirrorlist/x?repo=a&arch=b", 404, "text/plain", "We don't serve their kind here!"},
		{"suffix without slash", "GET", "/foomirrorlist", 404, "text/plain", "We don't serve their kind here!"},
		{"POST to an unknown path", "POST", "/nothing", 404, "text/plain", "We don't serve their kind here!"},
		{"POST", "POST", "/mirrorlist", 405, "text/plain", methodBody},
		{"PUT metalink", "PUT", "/metalink", 405, "text/plain", methodBody},
		{"DELETE with prefix", "DELETE", "/foo/mirrorlist", 405, "text/plain", methodBody},
		{"bad escape, mirrorlist", "GET", "/mirrorlist?repo=%zz&arch=x", 400, "text/plain",
			`invalid percent-encoding in the value of repo=: invalid URL escape "%zz"`},
		{"bad escape, metalink", "GET", "/pub/metalink?repo=%zz&arch=x", 400, "application/metalink+xml", metalinkBadEscape},
		{"mirrorlist", "GET", "/mirrorlist?repo=fedora-41&arch=x86_64&ip=80.1.2.3", 200, "text/plain", ""},
		{"prefixed mirrorlist", "GET", "/foo/mirrorlist?repo=fedora-41&arch=x86_64&ip=80.1.2.3", 200, "text/plain", ""},
		{"prefixed metalink", "GET", "/foo/bar/metalink?repo=fedora-41&arch=x86_64&ip=80.1.2.3", 200, "application/metalink+xml", ""},
		{"query too long", "GET", "/metalink?repo=fedora-41&arch=x86_64&pad=" + strings.Repeat("x", maxQuery), 414, "text/plain", queryTooLongBody},
		{"query at the cap", "GET", "/mirrorlist?repo=fedora-41&arch=x86_64&pad=" + strings.Repeat("x", maxQuery-len("repo=fedora-41&arch=x86_64&pad=")), 200, "text/plain", ""},
		{"HEAD mirrorlist", "HEAD", "/mirrorlist?repo=fedora-41&arch=x86_64&ip=80.1.2.3", 200, "text/plain", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := serve(h, tt.method, tt.target)
			got := body(t, resp)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if ct := resp.Header.Get("Content-Type"); ct != tt.contentType {
				t.Errorf("Content-Type %q, want %q", ct, tt.contentType)
			}
			if tt.body != "" && got != tt.body {
				t.Errorf("body\n%q\nwant\n%q", got, tt.body)
			}
			if tt.status == 405 && resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow = %q, want %q", resp.Header.Get("Allow"), "GET, HEAD")
			}
		})
	}
}

func TestNoSnapshot(t *testing.T) {
	h := newTestHandler(t, nil)
	resp := serve(h, "GET", "/mirrorlist?repo=a&arch=b")
	if resp.StatusCode != 503 || body(t, resp) != unavailableBody {
		t.Errorf("mirrorlist without a snapshot: %d, want 503 %q", resp.StatusCode, unavailableBody)
	}
	resp = serve(h, "GET", "/metalink?repo=a&arch=b")
	if resp.StatusCode != 503 || resp.Header.Get("Content-Type") != contentTypeMeta ||
		body(t, resp) != string(appendFailure(nil, unavailableBody, answerTime)) {
		t.Errorf("metalink without a snapshot: %d, want 503 and a failure document", resp.StatusCode)
	}
}

// TestHead checks that HEAD answers carry the GET answer's status and
// headers, Content-Length included, and no body.
func TestHead(t *testing.T) {
	h := newTestHandler(t, fixtures.TinySnapshot())
	for _, target := range []string{
		"/",
		"/mirrorlist",
		"/mirrorlist?repo=updates-released-f41&arch=x86_64&ip=80.1.2.3",
		"/mirrorlist?repo=updates-released-f41&arch=x86_64&redirect&ip=80.1.2.3",
		"/metalink?repo=updates-released-f41&arch=x86_64&ip=80.1.2.3",
		"/metalink?path=%zz",
		"/metalink?path=no/such/file",
	} {
		get, head := serve(h, "GET", target), serve(h, "HEAD", target)
		getBody := body(t, get)
		if b := body(t, head); b != "" {
			t.Errorf("HEAD %s has a body: %q", target, b)
		}
		if get.StatusCode != head.StatusCode {
			t.Errorf("HEAD %s: status %d, GET %d", target, head.StatusCode, get.StatusCode)
		}
		for _, k := range []string{"Content-Type", "Content-Length", "Location"} {
			if g, hd := get.Header.Get(k), head.Header.Get(k); g != hd {
				t.Errorf("HEAD %s: %s %q, GET %q", target, k, hd, g)
			}
		}
		if cl := get.Header.Get("Content-Length"); cl != strconv.Itoa(len(getBody)) {
			t.Errorf("GET %s: Content-Length %s for a body of %d bytes", target, cl, len(getBody))
		}
	}
}

// TestWriteForms writes hand-built answers of every form through the
// handler's writer and sender.
func TestWriteForms(t *testing.T) {
	s := writerSnapshot(t)
	h := newTestHandler(t, s)
	dir := s.Mirrors().Directory(repodata)
	listDir := s.Mirrors().Directory("pub/fedora/linux/updates/41/Everything/x86_64")
	textAnswer := &resolve.Answer{Form: resolve.Text, Status: 200, Dir: listDir, Header: []byte("# repo = r arch = a ")}
	textAnswer.Mirrors = append(textAnswer.Mirrors, mirrorOf(t, s, listDir, 1, 100))
	textAnswer.Mirrors[0].URLs = textAnswer.Mirrors[0].URLs[:1]
	doc := &resolve.Answer{Form: resolve.Document, Status: 200, Dir: dir, File: "repomd.xml", Details: dir.File("repomd.xml")}
	for i, id := range []int64{1, 2, 3} {
		doc.Mirrors = append(doc.Mirrors, mirrorOf(t, s, dir, id, 100-i))
	}
	golden, err := readGolden("metalink_alternates.xml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		kind        resolve.Kind
		answer      *resolve.Answer
		status      int
		contentType string
		location    string
		body        string
	}{
		{"text", resolve.Mirrorlist, textAnswer, 200, "text/plain", "",
			"# repo = r arch = a \nhttps://mirror.one.example/fedora/linux/updates/41/Everything/x86_64/\n"},
		{"redirect", resolve.Mirrorlist, &resolve.Answer{Form: resolve.Redirect, Status: 302, Location: "https://m.example/a/b"},
			302, "text/plain", "https://m.example/a/b", ""},
		{"redirect nowhere", resolve.Mirrorlist, &resolve.Answer{Form: resolve.Redirect, Status: 404}, 404, "text/plain", "", ""},
		{"document", resolve.Metalink, doc, 200, "application/metalink+xml", "", golden},
		{"message, mirrorlist", resolve.Mirrorlist, &resolve.Answer{Form: resolve.Message, Status: 404, Message: "error: invalid path"},
			404, "text/plain", "", "error: invalid path"},
		{"message, metalink", resolve.Metalink, &resolve.Answer{Form: resolve.Message, Status: 404, Message: "a/b not found or has not metalink"},
			404, "application/metalink+xml", "", string(appendFailure(nil, "a/b not found or has not metalink", answerTime))},
		{"plain message, metalink", resolve.Metalink, &resolve.Answer{Form: resolve.Message, Status: 500, Plain: true, Message: "Cannot parse client IP address. Aborting."},
			500, "text/plain", "", "Cannot parse client IP address. Aborting."},
		{"message without status", resolve.Mirrorlist, &resolve.Answer{Form: resolve.Message, Message: "oops"},
			500, "text/plain", "", "oops"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.send(rec, httptest.NewRequest("GET", "/x", nil), answerReply(nil, s, tt.kind, tt.answer, answerTime))
			resp := rec.Result()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if ct := resp.Header.Get("Content-Type"); ct != tt.contentType {
				t.Errorf("Content-Type %q, want %q", ct, tt.contentType)
			}
			if loc := resp.Header.Get("Location"); loc != tt.location {
				t.Errorf("Location %q, want %q", loc, tt.location)
			}
			if got := body(t, resp); got != tt.body {
				t.Errorf("body\n%s\nwant\n%s", got, tt.body)
			}
		})
	}
}
