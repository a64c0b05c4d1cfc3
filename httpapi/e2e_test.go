package httpapi

import (
	"bytes"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/tools/txtar"
	"google.golang.org/protobuf/proto"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	"github.com/mirrorlist-go/mirrorlist-server/httpapi/accesslog"
	mm "github.com/mirrorlist-go/mirrorlist-server/proto"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// hourly is a flush interval that never fires during a test: the test
// flushes the access log itself.
const hourly = time.Hour

// seeded gives every request the same fresh random source, so that each
// answer is reproducible whatever the order of the requests.
func seeded() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

// TestEndToEnd replays the requests of testdata/e2e/*.txtar against a
// loopback server over the tiny set and compares what a client sees with
// the rest of each file. A file holds, after an optional comment saying
// what it pins:
//
//	-- request --     the request line ("GET /mirrorlist?..."), then header lines
//	-- response --    "HTTP <status>", then every response header but Date, sorted
//	-- body --        the body; absent when empty. A final newline is added
//	                  when the body has none (Content-Length tells)
//	-- access.log --  the access-log lines the request wrote; absent when none
//
// The snapshot is the tiny set's with one repository more, broken-1,
// whose directory it lacks (e2eSnapshot). The connection comes from
// 127.0.0.1, so a request without ip= or X-Forwarded-For is answered for
// that address. The random source is
// seeded per request, so the files pin the selection and shuffle of
// package resolve as well as this package's bytes: a deliberate change in
// resolve's drawing means rerunning with -update (which rewrites every
// section but the comment and the request) and reviewing the diff.
func TestEndToEnd(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "e2e", "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	logPath := filepath.Join(t.TempDir(), "access.log")
	accessLog, err := accesslog.Open(accesslog.Config{Path: logPath, FlushInterval: hourly})
	if err != nil {
		t.Fatal(err)
	}
	defer accessLog.Close()
	holder := new(snapshot.Holder)
	holder.Store(e2eSnapshot(t))
	srv := httptest.NewServer(New(Config{
		Holder: holder, Minimum: 5, AccessLog: accessLog, MaxQueryBytes: 8192,
		Now: func() time.Time { return answerTime }, Rand: seeded,
	}))
	defer srv.Close()
	client := noRedirectClient()
	var logged int64 // bytes of the access log already attributed
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			req := e2eRequest(t, srv.URL, section(ar, "request"))
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got := dumpResponse(t, resp)
			accessLog.Flush()
			if lines := readFrom(t, logPath, &logged); len(lines) > 0 {
				got = append(got, txtar.File{Name: "access.log", Data: lines})
			}
			compareSections(t, file, ar, got)
		})
	}
}

// e2eSnapshot returns the tiny set's snapshot with the repository
// broken-1 (x86_64) added, pointing at a directory the snapshot lacks: what
// a broken snapshot looks like, answered with the 500 of docs/protocol.md
// section 3.
func e2eSnapshot(t *testing.T) *snapshot.Snapshot {
	t.Helper()
	set := fixtures.Tiny()
	var ml mm.MirrorList
	if err := proto.Unmarshal(set.Snapshot, &ml); err != nil {
		t.Fatal(err)
	}
	ml.RepoArchToDirectoryName = append(ml.RepoArchToDirectoryName,
		&mm.StringStringMap{Key: proto.String("broken-1+x86_64"), Value: proto.String("no/such/dir")})
	var err error
	if set.Snapshot, err = proto.Marshal(&ml); err != nil {
		t.Fatal(err)
	}
	s, err := set.Build(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// e2eRequest builds the request of a golden file's request section.
func e2eRequest(t *testing.T, base string, text []byte) *http.Request {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
	method, target, ok := strings.Cut(lines[0], " ")
	if !ok {
		t.Fatalf("request line %q: want METHOD TARGET", lines[0])
	}
	req, err := http.NewRequest(method, base+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("header line %q: want Key: value", l)
		}
		req.Header.Add(k, strings.TrimPrefix(v, " "))
	}
	return req
}

// dumpResponse renders what a client sees of a response as the sections
// "response" and, unless the body is empty, "body".
func dumpResponse(t *testing.T, resp *http.Response) []txtar.File {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var head strings.Builder
	head.WriteString("HTTP " + strconv.Itoa(resp.StatusCode) + "\n")
	for _, k := range slices.Sorted(maps.Keys(resp.Header)) {
		if k == "Date" {
			continue
		}
		for _, v := range resp.Header[k] {
			head.WriteString(k + ": " + v + "\n")
		}
	}
	out := []txtar.File{{Name: "response", Data: []byte(head.String())}}
	if len(b) > 0 {
		if b[len(b)-1] != '\n' {
			b = append(b, '\n')
		}
		out = append(out, txtar.File{Name: "body", Data: b})
	}
	return out
}

// readFrom returns what the file at path holds past *offset, and moves
// *offset to its end.
func readFrom(t *testing.T, path string, offset *int64) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b = b[*offset:]
	*offset += int64(len(b))
	return b
}

// section returns the data of the named file of ar, nil when it has none.
func section(ar *txtar.Archive, name string) []byte {
	for _, f := range ar.Files {
		if f.Name == name {
			return f.Data
		}
	}
	return nil
}

// compareSections compares got with the sections of ar after the request,
// or with -update rewrites them.
func compareSections(t *testing.T, file string, ar *txtar.Archive, got []txtar.File) {
	t.Helper()
	want := &txtar.Archive{Comment: ar.Comment, Files: []txtar.File{{Name: "request", Data: section(ar, "request")}}}
	want.Files = append(want.Files, got...)
	if *update {
		if err := os.WriteFile(file, txtar.Format(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if g, w := txtar.Format(want), txtar.Format(ar); !bytes.Equal(g, w) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", file, g, w)
	}
}

// noRedirectClient returns a client that shows a 302 instead of following
// it.
func noRedirectClient() *http.Client {
	return &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// TestRandomPerRequest checks that, without a seed, answers are shuffled
// afresh for each request.
func TestRandomPerRequest(t *testing.T) {
	h := newTestHandler(t, fixtures.TinySnapshot())
	target := "/mirrorlist?repo=fedora-41&arch=x86_64&country=global&ip=" + fixtures.TinyAddrUnknown
	seen := make(map[string]bool)
	for i := 0; i < 200 && len(seen) < 2; i++ {
		seen[body(t, serve(h, "GET", target))] = true
	}
	if len(seen) < 2 {
		t.Errorf("200 requests all got the same order")
	}
}

// TestConcurrent runs requests from several goroutines against a loopback
// server while the snapshot is swapped; run it with -race.
func TestConcurrent(t *testing.T) {
	s := fixtures.TinySnapshot()
	holder := new(snapshot.Holder)
	holder.Store(s)
	accessLog, err := accesslog.Open(accesslog.Config{Path: filepath.Join(t.TempDir(), "access.log")})
	if err != nil {
		t.Fatal(err)
	}
	defer accessLog.Close()
	srv := httptest.NewServer(New(Config{Holder: holder, Minimum: 5, AccessLog: accessLog}))
	defer srv.Close()
	client := noRedirectClient()
	targets := []string{
		"/mirrorlist?repo=fedora-41&arch=x86_64&ip=" + fixtures.TinyAddrDE,
		"/metalink?repo=updates-released-f41&arch=x86_64&ip=" + fixtures.TinyAddrDEPrivate,
		"/mirrorlist?repo=fedora-41&arch=x86_64&redirect&ip=" + fixtures.TinyAddrUS,
		"/mirrorlist?path=" + fixtures.TinyDirEPEL,
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 25 {
				resp, err := client.Get(srv.URL + targets[(g+i)%len(targets)])
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 && resp.StatusCode != 302 {
					t.Errorf("status %d", resp.StatusCode)
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			holder.Store(s)
		}
	})
	wg.Wait()
}

// discardWriter is a ResponseWriter that keeps nothing, for benchmarks.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

func benchmarkServe(b *testing.B, target string) {
	h := newTestHandler(b, fixtures.TinySnapshot())
	req := httptest.NewRequest("GET", target, nil)
	w := &discardWriter{h: make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

func BenchmarkMirrorlist(b *testing.B) {
	benchmarkServe(b, "/mirrorlist?repo=fedora-41&arch=x86_64&ip="+fixtures.TinyAddrDE)
}

func BenchmarkMetalink(b *testing.B) {
	benchmarkServe(b, "/metalink?repo=updates-released-f41&arch=x86_64&ip="+fixtures.TinyAddrDEPrivate)
}
