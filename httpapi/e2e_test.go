package httpapi

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// tinySnapshot loads the fixtures' hand-written tiny set.
func tinySnapshot(t testing.TB) *snapshot.Snapshot {
	t.Helper()
	set, err := fixtures.Generate(fixtures.Config{Scale: fixtures.ScaleTiny})
	if err != nil {
		t.Fatal(err)
	}
	s, err := set.Load(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// seeded gives every request the same fresh random source, so that each
// answer is reproducible whatever the order of the requests.
func seeded() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

// dumpResponse renders what a client sees of a response: the status, the
// headers the protocol fixes, and the body.
func dumpResponse(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	out.WriteString("HTTP " + strconv.Itoa(resp.StatusCode) + "\n")
	for _, k := range []string{"Content-Type", "Content-Length", "Location"} {
		if v := resp.Header.Get(k); v != "" {
			out.WriteString(k + ": " + v + "\n")
		}
	}
	out.WriteString("\n")
	out.Write(b)
	return []byte(out.String())
}

// TestEndToEnd sends requests to a loopback server over the tiny set and
// compares each answer, status and headers included, with a golden file
// under testdata/e2e/. The random source is seeded, so the files pin the
// selection and shuffle of package resolve as well as this package's
// bytes: a deliberate change in resolve's drawing means rerunning with
// -update and reviewing the diff.
func TestEndToEnd(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "access.log")
	accessLog, err := OpenAccessLog(AccessLogConfig{Path: logPath, FlushInterval: hourly})
	if err != nil {
		t.Fatal(err)
	}
	defer accessLog.Close()
	holder := new(snapshot.Holder)
	holder.Store(tinySnapshot(t))
	srv := httptest.NewServer(New(Config{
		Holder: holder, Minimum: 5, AccessLog: accessLog,
		Now: func() time.Time { return answerTime }, Rand: seeded,
	}))
	defer srv.Close()
	client := noRedirectClient()

	const (
		fedora  = "repo=fedora-41&arch=x86_64"
		updates = "repo=updates-released-f41&arch=x86_64"
	)
	tests := []struct {
		name   string
		method string
		target string
		xff    string
	}{
		{"mirrorlist_de", "GET", "/mirrorlist?" + fedora + "&ip=" + fixtures.TinyAddrDE, ""},
		{"mirrorlist_de_ipv6", "GET", "/mirrorlist?" + fedora + "&ip=" + fixtures.TinyAddrDE6, ""},
		{"mirrorlist_de_mapped", "GET", "/mirrorlist?" + fedora + "&ip=" + fixtures.TinyAddrDEMapped, ""},
		{"mirrorlist_netblock", "GET", "/mirrorlist?" + fedora + "&ip=" + fixtures.TinyAddrDENetblock, ""},
		{"mirrorlist_netblock_off", "GET", "/mirrorlist?" + fedora + "&netblock=0&ip=" + fixtures.TinyAddrDENetblock, ""},
		{"mirrorlist_asn", "GET", "/mirrorlist?" + fedora + "&ip=" + fixtures.TinyAddrUSASN, ""},
		{"mirrorlist_country", "GET", "/mirrorlist?" + fedora + "&country=fr&ip=" + fixtures.TinyAddrUS, ""},
		{"mirrorlist_cc", "GET", "/mirrorlist?" + fedora + "&cc=FR&ip=" + fixtures.TinyAddrUS, ""},
		{"mirrorlist_global", "GET", "/mirrorlist?" + fedora + "&country=global&ip=" + fixtures.TinyAddrUnknown, ""},
		{"mirrorlist_protocol", "GET", "/mirrorlist?" + fedora + "&protocol=rsync&ip=" + fixtures.TinyAddrDE, ""},
		{"mirrorlist_time", "GET", "/mirrorlist?" + fedora + "&time&ip=" + fixtures.TinyAddrCA, ""},
		{"mirrorlist_xff", "GET", "/mirrorlist?" + updates, "10.0.0.1, " + fixtures.TinyAddrFR},
		{"mirrorlist_source", "GET", "/mirrorlist?repo=fedora-source-41&arch=x86_64&ip=" + fixtures.TinyAddrDE, ""},
		{"mirrorlist_repo_redirect", "GET", "/mirrorlist?repo=epel-10&arch=x86_64&ip=" + fixtures.TinyAddrDE, ""},
		{"mirrorlist_disabled", "GET", "/mirrorlist?repo=updates-testing-f41&arch=x86_64&ip=" + fixtures.TinyAddrDE, ""},
		{"mirrorlist_invalid_repo", "GET", "/mirrorlist?repo=nope&arch=x86_64&ip=" + fixtures.TinyAddrDE, ""},
		{"mirrorlist_no_params", "GET", "/mirrorlist?countme=1", ""},
		{"mirrorlist_path_dir", "GET", "/mirrorlist?path=%2F" + fixtures.TinyDirEPEL + "%2F%2F&ip=" + fixtures.TinyAddrCA, ""},
		{"mirrorlist_path_file", "GET", "/pub/mirrorlist?path=" + fixtures.TinyDirOS + "/a+b%2B1.0.rpm&ip=" + fixtures.TinyAddrDE, ""},
		{"mirrorlist_invalid_path", "GET", "/mirrorlist?path=no/such/dir/file&ip=" + fixtures.TinyAddrDE, ""},
		{"mirrorlist_bad_ip", "GET", "/mirrorlist?" + fedora + "&ip=not-an-ip", ""},
		{"mirrorlist_bad_escape", "GET", "/mirrorlist?repo=%G0&arch=x86_64", ""},
		{"redirect", "GET", "/mirrorlist?" + fedora + "&redirect=1&ip=" + fixtures.TinyAddrDE, ""},
		{"redirect_head", "HEAD", "/mirrorlist?" + fedora + "&redirect=1&ip=" + fixtures.TinyAddrDE, ""},
		{"metalink_updates", "GET", "/metalink?" + updates + "&ip=" + fixtures.TinyAddrDEPrivate, ""},
		{"metalink_source", "GET", "/metalink?repo=fedora-source-41&arch=source&ip=" + fixtures.TinyAddrUS, ""},
		{"metalink_path", "GET", "/metalink?path=" + fixtures.TinyDirOSRepodata + "/repomd.xml&ip=" + fixtures.TinyAddrCA, ""},
		{"metalink_no_details", "GET", "/metalink?path=" + fixtures.TinyDirEPELRepodata + "/" + fixtures.TinyFileNoDetails + "&ip=" + fixtures.TinyAddrDE, ""},
		{"metalink_not_found", "GET", "/metalink?path=" + fixtures.TinyDirOSRepodata + "/nothing.xml&ip=" + fixtures.TinyAddrDE, ""},
		{"metalink_no_params", "GET", "/metalink", ""},
		{"metalink_head", "HEAD", "/metalink?" + updates + "&ip=" + fixtures.TinyAddrDEPrivate, ""},
		{"not_found", "GET", "/repomd.xml", ""},
		{"method", "POST", "/metalink?" + updates, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.target, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.xff != "" {
				req.Header.Set("X-Forwarded-For", tt.xff)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			golden(t, filepath.Join("e2e", tt.name+".txt"), dumpResponse(t, resp))
		})
	}
	if err := accessLog.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("e2e", "access.log"), got)
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
	h := newTestHandler(t, tinySnapshot(t))
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
	s := tinySnapshot(t)
	holder := new(snapshot.Holder)
	holder.Store(s)
	accessLog, err := OpenAccessLog(AccessLogConfig{Path: filepath.Join(t.TempDir(), "access.log")})
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
	h := newTestHandler(b, tinySnapshot(b))
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
