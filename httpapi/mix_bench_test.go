package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	"github.com/mirrorlist-go/mirrorlist-server/httpapi/accesslog"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// fedoraMixDir holds Fedora-scale inputs written by `mirrorlist-fixtures
// -scale fedora -seed 1`; $MIRRORLIST_FEDORA_DIR overrides it.
func fedoraMixDir() string {
	if dir := os.Getenv("MIRRORLIST_FEDORA_DIR"); dir != "" {
		return dir
	}
	return "/tmp/fedora"
}

// BenchmarkServeMix replays the Fedora-scale request mix (fixtures.Mix of
// seed 1) through the handler, as the server runs it: pooled answers, an
// access log on disk, metrics off. Each iteration is one request of the
// mix, so ns/op is the mean cost of a request without the HTTP stack, and
// B/answer the mean body written. It skips when the Fedora-scale files are
// absent.
//
//	go test -run XXX -bench ServeMix -benchmem -cpuprofile cpu.out ./httpapi
func BenchmarkServeMix(b *testing.B) {
	dir := fedoraMixDir()
	paths := snapshot.PathsIn(dir)
	if _, err := os.Stat(paths.Cache); err != nil {
		b.Skipf("no Fedora-scale inputs in %s", dir)
	}
	s, err := snapshot.Load(context.Background(), paths)
	if err != nil {
		b.Fatal(err)
	}
	reqs := mixRequests(b, 20_000)
	log, err := accesslog.Open(accesslog.Config{Path: filepath.Join(b.TempDir(), "access.log")})
	if err != nil {
		b.Fatal(err)
	}
	defer log.Close()
	holder := new(snapshot.Holder)
	holder.Store(s)
	h := New(Config{Holder: holder, Minimum: 5, AccessLog: log})
	w := &countingWriter{h: make(http.Header)}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, reqs[i%len(reqs)])
		i++
	}
	b.ReportMetric(float64(w.n)/float64(i), "B/answer")
}

// mixRequests builds the first n requests of the Fedora-scale mix, parsed
// once so that the benchmark measures the handler alone.
func mixRequests(b *testing.B, n int) []*http.Request {
	b.Helper()
	targets, err := fixtures.Mix(fixtures.Config{Seed: 1, Scale: fixtures.ScaleFedora}, n)
	if err != nil {
		b.Fatal(err)
	}
	reqs := make([]*http.Request, len(targets))
	for i, t := range targets {
		u, err := url.ParseRequestURI(t)
		if err != nil {
			b.Fatal(err)
		}
		reqs[i] = &http.Request{Method: http.MethodGet, URL: u, RequestURI: t, Header: make(http.Header), RemoteAddr: "127.0.0.1:40000"}
	}
	return reqs
}

// countingWriter is a ResponseWriter that discards the body and counts it.
type countingWriter struct {
	h http.Header
	n int64
}

func (w *countingWriter) Header() http.Header         { return w.h }
func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }
func (w *countingWriter) WriteHeader(int)             {}
