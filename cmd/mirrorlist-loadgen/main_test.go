package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestBuckets(t *testing.T) {
	prev := -1
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 257, 1000, 1 << 20, 1<<40 + 12345, 1<<63 - 1} {
		i := bucketOf(v)
		if i < prev || i >= numBuckets {
			t.Errorf("bucketOf(%d) = %d after %d (of %d)", v, i, prev, numBuckets)
		}
		top := bucketTop(i)
		if top < v || float64(top-v) > float64(v)/(1<<subBits) {
			t.Errorf("bucketTop(bucketOf(%d)) = %d: not within 1/%d above", v, top, 1<<subBits)
		}
		if i > 0 && i != prev && bucketTop(i-1) >= v {
			t.Errorf("bucketTop(%d) = %d, not below %d", i-1, bucketTop(i-1), v)
		}
		prev = i
	}
}

func TestQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h, other histogram
	samples := make([]time.Duration, 0, 100_000)
	for i := range 100_000 {
		d := time.Duration(rng.ExpFloat64() * float64(time.Millisecond))
		samples = append(samples, d)
		if i%2 == 0 {
			h.record(d)
		} else {
			other.record(d)
		}
	}
	h.merge(&other)
	slices.Sort(samples)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
		want := samples[int(q*float64(len(samples)))-1]
		got := h.quantile(q)
		if got < want || float64(got-want) > float64(want)/100 {
			t.Errorf("quantile(%g) = %v, want %v (within 1%% above)", q, got, want)
		}
	}
	var empty histogram
	if got := empty.quantile(0.99); got != 0 {
		t.Errorf("empty quantile = %v", got)
	}
}

func TestLoopbackURL(t *testing.T) {
	for raw, want := range map[string]string{
		"http://127.0.0.1:3000":   "http://127.0.0.1:3000",
		"http://127.0.0.2:80/":    "http://127.0.0.2:80",
		"http://[::1]:3000/base/": "http://[::1]:3000/base",
		"http://localhost:3000":   "http://localhost:3000",
	} {
		if got, err := loopbackURL(raw); err != nil || got != want {
			t.Errorf("loopbackURL(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	for _, raw := range []string{
		"http://10.0.0.1:3000", "http://mirrors.fedoraproject.org", "https://127.0.0.1:3000",
		"http://[2001:db8::1]:80", "127.0.0.1:3000", "http://127.0.0.1:3000/?x=1", "http://u:p@127.0.0.1/",
	} {
		if _, err := loopbackURL(raw); err == nil {
			t.Errorf("loopbackURL(%q) accepted", raw)
		}
	}
}

func TestLoopbackOnly(t *testing.T) {
	if err := loopbackOnly("tcp", "127.0.0.1:80", nil); err != nil {
		t.Error(err)
	}
	if err := loopbackOnly("tcp6", "[::1]:80", nil); err != nil {
		t.Error(err)
	}
	if err := loopbackOnly("tcp", "192.0.2.1:80", nil); err == nil {
		t.Error("192.0.2.1 accepted")
	}
}

// writeTargetsFile writes targets to a temporary file.
func writeTargetsFile(t *testing.T, targets ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "targets")
	data := "# a comment\n\n" + strings.Join(targets, "\n") + "\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// summary runs the load generator with args and returns its summary
// line's values.
func summary(t *testing.T, args ...string) (map[string]string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("run %v: %v\n%s%s", args, err, out.String(), errOut.String())
	}
	m := regexp.MustCompile(`(?m)^summary (.*)$`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no summary line in:\n%s", out.String())
	}
	values := make(map[string]string)
	for _, kv := range strings.Fields(m[1]) {
		k, v, _ := strings.Cut(kv, "=")
		values[k] = v
	}
	return values, out.String()
}

func number(t *testing.T, values map[string]string, key string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(values[key], 64)
	if err != nil {
		t.Fatalf("summary %s=%q: %v", key, values[key], err)
	}
	return f
}

func TestRunClosedLoop(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Query().Get("repo") == "missing" {
			http.Error(w, "no such repo", http.StatusNotFound)
			return
		}
		w.Write([]byte("0123456789"))
	}))
	defer srv.Close()
	targets := writeTargetsFile(t, "/metalink?repo=a&arch=x86_64", "/metalink?repo=missing&arch=x86_64")
	values, out := summary(t, "run", "-target", srv.URL, "-targets", targets, "-c", "4", "-warmup", "0s", "-duration", "1m", "-requests", "30")
	if n := number(t, values, "requests"); n != 30 || number(t, values, "rps") <= 0 {
		t.Errorf("%v requests, want 30:\n%s", n, out)
	}
	if !strings.Contains(out, "200: ") || !strings.Contains(out, "404: ") {
		t.Errorf("status counts missing:\n%s", out)
	}
	if number(t, values, "errors") != 0 || number(t, values, "p99_ms") <= 0 {
		t.Errorf("errors or no latency:\n%s", out)
	}
}

func TestRunRequestLimit(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	targets := writeTargetsFile(t, "/mirrorlist?repo=a&arch=b")
	values, out := summary(t, "-target", srv.URL, "-targets", targets, "-c", "3", "-warmup", "0s", "-duration", "1m", "-requests", "25")
	if hits.Load() != 25 || number(t, values, "requests") != 25 {
		t.Errorf("server saw %d requests, want 25:\n%s", hits.Load(), out)
	}
}

// TestRunOpenLoop checks the schedule: a rate of 400 per second for half a
// second has 200 requests due, and a server that stalls once is
// charged for the requests that waited behind it.
func TestRunOpenLoop(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 100 {
			time.Sleep(100 * time.Millisecond) // the only connection stalls
		}
	}))
	defer srv.Close()
	targets := writeTargetsFile(t, "/metalink?repo=a&arch=b")
	values, out := summary(t, "run", "-target", srv.URL, "-targets", targets, "-c", "1", "-warmup", "0s", "-duration", "500ms", "-rate", "400")
	// A slow machine may fall behind, but what was due is fixed.
	if n := number(t, values, "requests") + number(t, values, "missed") + number(t, values, "errors"); n < 199 || n > 201 {
		t.Errorf("%v requests sent or missed, want 200:\n%s", n, out)
	}
	// About 40 requests were due during the stall: the slowest of them
	// waited 100 ms, so well over 1% of all took more than 50 ms.
	if p99 := number(t, values, "p99_ms"); p99 < 50 {
		t.Errorf("p99 %v ms: the stall was omitted:\n%s", p99, out)
	}
	if !strings.Contains(out, "service  (from when sent)") || !strings.Contains(out, "pacer    (how late)") {
		t.Errorf("no service time line:\n%s", out)
	}
}

func TestRunDoesNotFollowRedirects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://192.0.2.1/somewhere", http.StatusFound)
	}))
	defer srv.Close()
	targets := writeTargetsFile(t, "/mirrorlist?repo=a&arch=b&redirect")
	values, out := summary(t, "run", "-target", srv.URL, "-targets", targets, "-c", "1", "-warmup", "0s", "-duration", "1m", "-requests", "3")
	if !strings.Contains(out, "302: 3") || number(t, values, "errors") != 0 {
		t.Errorf("want three 302s and no errors:\n%s", out)
	}
}

func TestRunRefusesRemoteTargets(t *testing.T) {
	targets := writeTargetsFile(t, "/metalink?repo=a&arch=b")
	err := run(context.Background(), []string{"run", "-target", "http://192.0.2.1:3000", "-targets", targets}, new(bytes.Buffer), new(bytes.Buffer))
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("remote target: err = %v", err)
	}
}

func TestRunFlagErrors(t *testing.T) {
	targets := writeTargetsFile(t, "/metalink")
	for _, args := range [][]string{
		{"run"},
		{"run", "-targets", targets, "-c", "0"},
		{"run", "-targets", targets, "-duration", "0s"},
		{"run", "-targets", targets, "-duration", "11m"},
		{"run", "-targets", targets, "-rate", "-1"},
		{"run", "-targets", targets, "extra"},
		{"frobnicate"},
	} {
		if err := run(context.Background(), args, new(bytes.Buffer), new(bytes.Buffer)); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("metalink?repo=a\n"), 0o644)
	if _, err := readTargets(bad); err == nil {
		t.Error("a target without a leading / was accepted")
	}
}

func TestCeiling(t *testing.T) {
	for _, size := range []int{1000, 60_000} {
		for _, gather := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d bytes, gather %v", size, gather), func(t *testing.T) { testCeiling(t, size, gather) })
		}
	}
	if err := run(context.Background(), []string{"ceiling", "-listen", "192.0.2.1:0"}, new(bytes.Buffer), new(bytes.Buffer)); err == nil {
		t.Error("ceiling on a non-loopback address: no error")
	}
}

func testCeiling(t *testing.T, size int, gather bool) {
	c := newCeiling(size, nil)
	if len(c.body) != size || !bytes.HasPrefix(c.body, []byte("    <url ")) {
		t.Fatalf("body of %d bytes: %.40q", len(c.body), c.body)
	}
	url, stop := startCeiling(t, c, gather)
	targets := writeTargetsFile(t, "/metalink?repo=a&arch=b")
	values, out := summary(t, "run", "-target", url, "-targets", targets, "-c", "2", "-warmup", "0s", "-duration", "1m", "-requests", "20")
	if number(t, values, "mean_body") != float64(size) || !strings.Contains(out, "200: ") {
		t.Errorf("want %d-byte 200 answers:\n%s", size, out)
	}
	// Body quantiles are bucket tops: above the size by less than 1/128.
	for _, q := range []string{"p50_body", "p90_body"} {
		if v := number(t, values, q); v < float64(size) || v > float64(size)*(1+1.0/128) {
			t.Errorf("%s = %v, want %d (+0.8%%)", q, v, size)
		}
	}
	stop()
}

// startCeiling serves c on a loopback port and returns its base URL and
// the function that stops it, checking that it stopped cleanly.
func startCeiling(t *testing.T, c *ceiling, gather bool) (url string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveCeiling(ctx, ln, c, gather) }()
	return "http://" + ln.Addr().String(), func() {
		t.Helper()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serveCeiling: %v", err)
		}
	}
}

func TestMixCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "mix")
	if err := run(context.Background(), []string{"mix", "-scale", "tiny", "-seed", "3", "-n", "25", "-out", out}, new(bytes.Buffer), new(bytes.Buffer)); err != nil {
		t.Fatal(err)
	}
	targets, err := readTargets(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 25 {
		t.Errorf("%d targets, want 25", len(targets))
	}
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"mix", "-scale", "tiny", "-seed", "3", "-n", "25", "-out", "-"}, &stdout, new(bytes.Buffer)); err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(stdout.String()); !slices.Equal(got, targets) {
		t.Error("the mix on standard output differs from the file")
	}
}
