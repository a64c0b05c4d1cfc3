package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	"github.com/mirrorlist-go/mirrorlist-server/resolve"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// The fuzz targets of this package. Their seed corpora are committed under
// testdata/fuzz/<name>/ and run as regression tests by every go test; a
// longer search is, for example:
//
//	go test -run XXX -fuzz '^FuzzHandler$' -fuzztime 10m ./httpapi

// hasControl reports whether s holds an ASCII control character.
func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// FuzzClientAddr checks the choice of the client address: ip=, then the
// last X-Forwarded-For element from a trusted peer, then the peer. The
// result is either invalid (the "Cannot parse" answer) or a plain address:
// no zone, never IPv4-mapped, and it is the address the chosen text names.
func FuzzClientAddr(f *testing.F) {
	f.Add("", "10.0.0.1, 192.0.2.7", "127.0.0.1:4711", true)
	f.Add("fe80::1%eth0", "", "[::1]:80", false)
	f.Add("", "::ffff:192.0.2.1", "[::ffff:127.0.0.1]:80", true)
	f.Add("", " , ,", "127.0.0.1:1", true)
	f.Add("", "2001:db8::1%25x", "garbage", true)
	f.Add("1.2.3.4:80", "", "1.2.3.4", false)
	f.Fuzz(func(t *testing.T, ip, xff, remote string, trustAll bool) {
		header := http.Header{}
		if xff != "" {
			header.Set("X-Forwarded-For", xff)
		}
		proxies := trustedProxies{}
		if trustAll {
			proxies = nil
		}
		got := clientAddr(ip, header, remote, proxies)
		if got.IsValid() && (got.Zone() != "" || got.Is4In6()) {
			t.Fatalf("clientAddr(%q, %q, %q) = %v: not normalised", ip, xff, remote, got)
		}
		var want netip.Addr
		switch elems := strings.Split(xff, ","); {
		case ip != "":
			want = referenceAddr(ip, false)
		case trustAll && xff != "":
			want = referenceAddr(strings.Trim(elems[len(elems)-1], " \t"), false)
		default:
			text := remote
			if ap, err := netip.ParseAddrPort(remote); err == nil {
				text = ap.Addr().String()
			}
			want = referenceAddr(text, true)
		}
		if got != want {
			t.Fatalf("clientAddr(%q, %q, %q, trust all %v) = %v, want %v", ip, xff, remote, trustAll, got, want)
		}
	})
}

// referenceAddr parses s as an address, unmapped, or returns the zero
// Addr. A zone is dropped when zoneOK (the connection's peer), and makes
// the text unparsable otherwise (ip= and X-Forwarded-For).
func referenceAddr(s string, zoneOK bool) netip.Addr {
	a, err := netip.ParseAddr(s)
	if err != nil || !zoneOK && a.Zone() != "" {
		return netip.Addr{}
	}
	return a.WithZone("").Unmap()
}

// fuzzMaxQuery is the handler's query cap in FuzzHandler.
const fuzzMaxQuery = 8192

// FuzzHandler sends whole requests, parsed by net/http from the request
// line and headers the fuzzer writes, to a handler over the committed
// small fixture set. Whatever comes in, the handler must not panic and
// must answer as the protocol allows (see answerChecker).
func FuzzHandler(f *testing.F) {
	holder := smallHolder(f)
	h := New(Config{Holder: holder, Minimum: 5, MaxQueryBytes: fuzzMaxQuery})
	check := newAnswerChecker(holder.Current(), fuzzMaxQuery)
	const os = "pub/fedora-secondary/releases/41/Everything/riscv64/os"
	for _, seed := range []struct{ method, target, headers, remote string }{
		{"GET", "/metalink?repo=fedora-41&arch=x86_64&ip=5.123.20.58", "", "192.0.2.1:1234"},
		{"HEAD", "/mirrorlist?repo=updates-released-f42&arch=x86_64&redirect", "X-Forwarded-For: 10.0.0.1, 2001:db8::1\r\n", "[::1]:80"},
		{"GET", "/mirrorlist?path=" + os + "/../../..&ip=51.158.38.231", "", "127.0.0.1:1"},
		{"POST", "/metalink", "Content-Length: 0\r\n", "127.0.0.1:1"},
		{"GET", "/readyz", "", "127.0.0.1:1"},
		{"GET", "/mirrorlist?path=" + os + "/x%0Ahttp://evil.example/&ip=51.158.38.231", "", "127.0.0.1:1"},
		{"GET", "/mirrorlist?repo=fedora-41&arch=x86_64&protocol=%0Ahttp://evil.example/&ip=51.158.38.231", "", "127.0.0.1:1"},
		{"GET", "/metalink?path=" + os + "/%ff&ip=51.158.38.231", "", "127.0.0.1:1"},
		{"GET", "/metalink?path=" + os + "/%01&time", "", "127.0.0.1:1"},
		{"GET", "/metalink?repo=%zz\xff&arch=x", "", "127.0.0.1:1"},
		{"GET", "/mirrorlist?path=" + os + "/..&ip=51.158.38.231", "", "127.0.0.1:1"},
		{"GET", "/mirrorlist?path=" + os + "/%2e%2e&redirect", "", "127.0.0.1:1"},
		{"GET", "/mirrorlist?path=" + os + "/x%0Aevil", "", "127.0.0.1:1"},
		{"GET", "/x%2Fmetalink?repo=fedora-41&arch=x86_64", "", "127.0.0.1:1"},
		{"GET", "/mirrorlist?repo=fedora-41&arch=x86_64", "X-Forwarded-For: \r\nX-Forwarded-For: 10.0.0.1\r\n", "127.0.0.1:1"},
		{"GET", "/mirrorlist?repo=fedora-41=x&arch=x86_64&netblock&protocol=https,http", "", "127.0.0.1:1"},
	} {
		f.Add(seed.method, seed.target, seed.headers, seed.remote)
	}
	f.Fuzz(func(t *testing.T, method, target, headers, remote string) {
		req, err := readRequest(method, target, headers)
		if err != nil {
			return // net/http would have answered 400 itself
		}
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if p := check.problem(req, rec.Code, rec.Header(), rec.Body.Bytes()); p != "" {
			t.Fatalf("%s %q (headers %q, peer %q): %d %s\n%s", method, target, headers, remote, rec.Code, p, rec.Body.Bytes())
		}
	})
}

// FuzzExplain explains arbitrary queries of either kind, from a peer
// whose X-Forwarded-For header is arbitrary too, over the small set with
// a seed of the fuzzer's. The explainer must not panic, must answer 200
// in both formats, and the answer it explains must be the public
// handler's, seeded alike, byte for byte.
func FuzzExplain(f *testing.F) {
	holder := smallHolder(f)
	cfg := Config{Holder: holder, Minimum: 5, MaxQueryBytes: fuzzMaxQuery, Now: func() time.Time { return answerTime }}
	e := NewExplainer(ExplainConfig{Public: cfg})
	const os = "pub/fedora-secondary/releases/41/Everything/riscv64/os"
	for _, seed := range []struct {
		metalink   bool
		query, xff string
		seed       uint64
	}{
		{true, "repo=fedora-41&arch=x86_64&ip=5.123.20.58", "", 1},
		{false, "repo=updates-released-f42&arch=x86_64&redirect", "10.0.0.1, 2001:db8::1", 2},
		{false, "path=" + os + "&protocol=rsync,https&netblock=0&ip=51.158.38.231", "", 3},
		{false, "repo=fedora-41&arch=x86_64&country=de,global&time", "fe80::1%eth0", 4},
		{true, "path=" + os + "/repodata/repomd.xml&cc=US", "192.0.2.1", 5},
		{true, "repo=%zz&arch=x", "", 6},
		{false, "repo=epel-7&arch=x86_64&version=1&ip=::ffff:5.123.20.58", "", 7},
		{false, "", "", 0},
		{true, "repo=fedora-41&&arch=x86_64&", " , ", 1 << 63},
	} {
		f.Add(seed.metalink, seed.query, seed.xff, seed.seed)
	}
	f.Fuzz(func(t *testing.T, metalink bool, query, xff string, seed uint64) {
		for _, pair := range strings.Split(query, "&") {
			if k, _, _ := strings.Cut(pair, "="); k == "format" || k == "seed" {
				return // the explainer's own parameters
			}
		}
		path := "/mirrorlist"
		if metalink {
			path = "/metalink"
		}
		header := http.Header{}
		if xff != "" {
			header.Set("X-Forwarded-For", xff)
		}
		explainQuery := "seed=" + strconv.FormatUint(seed, 10)
		if query != "" {
			explainQuery = query + "&" + explainQuery
		}
		for _, format := range []string{"json", "text"} {
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, clientRequest("/-/explain"+path, explainQuery+"&format="+format, header))
			if rec.Code != http.StatusOK || rec.Body.Len() == 0 {
				t.Fatalf("explain %s?%q: %d %s", path, explainQuery, rec.Code, rec.Body)
			}
			if format == "json" {
				checkSameAnswer(t, cfg, rec.Body.Bytes(), path, query, header)
			}
		}
	})
}

// smallHolder loads the committed small fixture set into a Holder.
func smallHolder(t testing.TB) *snapshot.Holder {
	t.Helper()
	set, err := fixtures.ReadFS(fixtures.Small, "small")
	if err != nil {
		t.Fatal(err)
	}
	s, err := set.Load(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := new(snapshot.Holder)
	h.Store(s)
	return h
}

// readRequest parses a request the way the server's connection does:
// the request line, a Host header, then headers, "\r\n"-terminated lines.
func readRequest(method, target, headers string) (*http.Request, error) {
	if headers != "" && !strings.HasSuffix(headers, "\r\n") {
		headers += "\r\n"
	}
	raw := method + " " + target + " HTTP/1.1\r\nHost: mirrors.example\r\n" + headers + "\r\n"
	return http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
}

// answerChecker knows what answers a handler over one snapshot may give.
type answerChecker struct {
	maxQuery int
	bases    []string // every hcurl URL of the snapshot: each URL line starts with one
}

func newAnswerChecker(s *snapshot.Snapshot, maxQuery int) *answerChecker {
	c := &answerChecker{maxQuery: maxQuery}
	ms := s.Mirrors()
	for i := range s.Stats().HCUrls {
		c.bases = append(c.bases, ms.URL(snapshot.URLRef(i)))
	}
	return c
}

// problem returns what is wrong with an answer to req, or "" when it is
// one that docs/protocol.md (deviations included) allows
// for that request, given that a snapshot is loaded.
func (c *answerChecker) problem(req *http.Request, code int, hdr http.Header, body []byte) string {
	if rawPath(req.URL) == ReadyPath {
		return readyProblem(req, code, body)
	}
	kind, ok := kindOf(rawPath(req.URL))
	switch {
	case !ok:
		return expectPlain(req, code, body, http.StatusNotFound, notFoundBody)
	case req.Method != http.MethodGet && req.Method != http.MethodHead:
		return expectPlain(req, code, body, http.StatusMethodNotAllowed, methodBody)
	case c.maxQuery > 0 && len(req.URL.RawQuery) > c.maxQuery:
		return expectPlain(req, code, body, http.StatusRequestURITooLong, queryTooLongBody)
	case code == http.StatusServiceUnavailable:
		return "503 with a snapshot loaded"
	}
	if req.Method == http.MethodHead {
		if len(body) != 0 {
			return "HEAD answer with a body"
		}
		return allowedStatus(code)
	}
	if kind == resolve.Metalink {
		return metalinkProblem(code, hdr, body)
	}
	return c.mirrorlistProblem(code, hdr, body)
}

func allowedStatus(code int) string {
	switch code {
	case 200, 302, 400, 404, 500:
		return ""
	}
	return fmt.Sprintf("status %d is not one the protocol allows here", code)
}

func readyProblem(req *http.Request, code int, body []byte) string {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		if code != http.StatusMethodNotAllowed {
			return "readyz: want 405 for " + req.Method
		}
		return ""
	}
	if code != http.StatusOK || (req.Method == http.MethodGet && !bytes.HasPrefix(body, []byte("ready: "))) {
		return "readyz: want 200 ready"
	}
	return ""
}

// expectPlain checks an answer the handler gives on its own.
func expectPlain(req *http.Request, code int, body []byte, wantCode int, wantBody string) string {
	if code != wantCode {
		return fmt.Sprintf("want status %d", wantCode)
	}
	if req.Method != http.MethodHead && string(body) != wantBody {
		return fmt.Sprintf("want body %q", wantBody)
	}
	return ""
}

// The messages a failure document or plain error may carry, by status.
var errorMessages = map[int][]string{
	200: {"# either path=, or repo= and arch= must be specified", "repo disabled"},
	404: {"error: invalid path", "error: invalid repo or arch\n", " not found or has not metalink"},
	400: {"invalid percent-encoding in the value of "},
	500: {"mirrorlist cache index out of range, you broke it!", "Cannot parse client IP address. Aborting."},
}

// knownMessage reports whether msg is (or, for the messages that echo the
// request, holds) one of the messages of status code.
func knownMessage(code int, msg string) bool {
	for _, m := range errorMessages[code] {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}

func (c *answerChecker) mirrorlistProblem(code int, hdr http.Header, body []byte) string {
	if p := allowedStatus(code); p != "" {
		return p
	}
	switch {
	case code == http.StatusFound:
		loc := hdr.Get("Location")
		if !strings.HasPrefix(loc, "http") || !c.fromSnapshot(loc) || len(body) != 0 {
			return "302 without an http(s) Location of the snapshot, or with a body"
		}
		return ""
	case code == http.StatusNotFound && len(body) == 0:
		return "" // a redirect without an http URL
	case code == http.StatusOK && (string(body) == errorMessages[200][0] || string(body) == errorMessages[200][1]):
		return ""
	case code == http.StatusOK:
		return c.mirrorlistBodyProblem(body)
	case !knownMessage(code, string(body)):
		return "error body is none of the protocol's messages"
	}
	return ""
}

// mirrorlistBodyProblem checks a mirrorlist: the header, one comment line
// (two with time=), then URL lines that start with one of the snapshot's
// hcurl URLs, every line ended by a newline.
func (c *answerChecker) mirrorlistBodyProblem(body []byte) string {
	if !bytes.HasSuffix(body, []byte("\n")) {
		return "mirrorlist does not end with a newline"
	}
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	if !strings.HasPrefix(lines[0], "# ") {
		return "mirrorlist does not start with a comment"
	}
	lines = lines[1:]
	if len(lines) > 0 && strings.HasPrefix(lines[0], "# database creation time: ") {
		lines = lines[1:]
	}
	for _, line := range lines {
		if !c.fromSnapshot(line) {
			return fmt.Sprintf("line %q is not a URL of the snapshot's mirrors", line)
		}
	}
	return ""
}

// fromSnapshot reports whether u starts with one of the snapshot's hcurl
// URLs, has no control character, and does not leave the directory
// through a "." or ".." segment.
func (c *answerChecker) fromSnapshot(u string) bool {
	if hasControl(u) {
		return false
	}
	for _, b := range c.bases {
		if rest, ok := strings.CutPrefix(u, b); ok {
			return !slices.Contains(strings.Split(rest, "/"), "..") && !slices.Contains(strings.Split(rest, "/"), ".")
		}
	}
	return false
}

func metalinkProblem(code int, hdr http.Header, body []byte) string {
	if p := allowedStatus(code); p != "" {
		return p
	}
	if code == http.StatusFound || (code == http.StatusNotFound && len(body) == 0) {
		return "a redirect answer to a metalink request"
	}
	if code == http.StatusInternalServerError && string(body) == "mirrorlist cache index out of range, you broke it!" {
		return "" // plain text for both kinds
	}
	if ct := hdr.Get("Content-Type"); ct != contentTypeMeta {
		return fmt.Sprintf("metalink answer of type %q", ct)
	}
	comment, files, err := parseMetalink(body)
	if err != nil {
		return "not well-formed XML: " + err.Error()
	}
	switch {
	case code == http.StatusOK && files:
		return ""
	case files:
		return "a metalink with files and an error status"
	case !knownMessage(code, comment):
		return fmt.Sprintf("failure document with the message %q", comment)
	}
	return ""
}

// parseMetalink decodes a metalink answer fully and returns its first
// comment and whether it has a <files> element. encoding/xml does not
// check the characters of comments, so the whole body is first checked to
// be UTF-8 made of XML 1.0 characters only.
func parseMetalink(body []byte) (comment string, files bool, err error) {
	if !utf8.Valid(body) {
		return "", false, errors.New("invalid UTF-8")
	}
	if i := bytes.IndexFunc(body, notXMLChar); i >= 0 {
		return "", false, fmt.Errorf("character %U at offset %d is not allowed in XML", body[i], i)
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	depth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", false, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 && tok.Name.Local != "metalink" {
				return "", false, fmt.Errorf("root element <%s>", tok.Name.Local)
			}
			depth++
			files = files || tok.Name.Local == "files"
		case xml.EndElement:
			depth--
		case xml.Comment:
			if comment == "" {
				comment = string(tok)
			}
		}
	}
	if depth != 0 {
		return "", false, errors.New("unclosed elements")
	}
	return comment, files, nil
}

// notXMLChar reports whether r is outside XML 1.0's Char production.
func notXMLChar(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return false
	case r < 0x20 || r == 0xFFFE || r == 0xFFFF:
		return true
	}
	return false
}
