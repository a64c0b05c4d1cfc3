package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/zap"

	"github.com/mirrorlist-go/mirrorlist-server/cmd/mirrorlist-server/memlimit"
	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
)

// running is a server started by startServer.
type running struct {
	base, admin string // http://host:port of the main and admin listeners
	hup, term   chan os.Signal
	exits       chan int // what the server passed to env.exit
	done        chan int // its exit status, once it returns
	stderr      *syncBuffer
	cancel      context.CancelFunc
}

// startServer runs the command with args and returns once it serves its
// first snapshot.
func startServer(t *testing.T, args ...string) *running {
	t.Helper()
	return startServerEnv(t, env{}, args...)
}

// startServerEnv is startServer with e's wrap.
func startServerEnv(t *testing.T, e env, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	r := &running{
		hup: make(chan os.Signal), term: make(chan os.Signal),
		exits: make(chan int, 1), done: make(chan int, 1),
		stderr: new(syncBuffer), cancel: cancel,
	}
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	type addrs struct{ main, admin net.Addr }
	readyc := make(chan addrs, 1)
	go func() {
		r.done <- runWith(ctx, args, env{
			stdout: io.Discard, stderr: r.stderr, hup: r.hup, term: r.term,
			exit:  func(code int) { r.exits <- code },
			ready: func(m, a net.Addr) { readyc <- addrs{m, a} },
			wrap:  e.wrap,
		})
	}()
	select {
	case a := <-readyc:
		r.base = "http://" + a.main.String()
		if a.admin != nil {
			r.admin = "http://" + a.admin.String()
		}
	case code := <-r.done:
		r.done <- code
		t.Fatalf("run returned %d before serving:\n%s", code, r.stderr.String())
	}
	return r
}

// wait returns the exit status, failing the test if it takes long.
func (r *running) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-r.done:
		r.done <- code // for the cleanup
		return code
	case <-time.After(15 * time.Second):
		t.Fatalf("the server did not stop:\n%s", r.stderr.String())
		return -1
	}
}

// stopAndReadLog stops the server, which must exit cleanly, and returns
// the access log it wrote in dir (inputDir's).
func (r *running) stopAndReadLog(t *testing.T, dir string) []byte {
	t.Helper()
	r.cancel()
	if code := r.wait(t); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	b, err := os.ReadFile(filepath.Join(dir, "access.log"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fetch sends a request and returns the status and body.
func fetch(t *testing.T, method, url string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// scrape returns the samples of a /metrics page, parsed by the Prometheus
// text parser and keyed as model.Metric prints them: the name, then the
// labels sorted, comma-and-space separated, as in
// mirrorlist_http_requests_total{code="200", kind="metalink"}. A
// histogram gives its _bucket, _sum and _count samples.
func scrape(t *testing.T, admin string) map[string]float64 {
	t.Helper()
	code, text := fetch(t, "GET", admin+"/metrics", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", code, text)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, text)
	}
	samples := make(map[string]float64)
	for _, f := range families {
		vector, err := expfmt.ExtractSamples(&expfmt.DecodeOptions{}, f)
		if err != nil {
			t.Fatalf("metric family %s: %v", f.GetName(), err)
		}
		for _, s := range vector {
			samples[s.Metric.String()] = float64(s.Value)
		}
	}
	return samples
}

// checkSamples fails for every sample in want that the page lacks or has
// with another value.
func checkSamples(t *testing.T, step string, got, want map[string]float64) {
	t.Helper()
	for name, v := range want {
		if g, ok := got[name]; !ok || g != v {
			t.Errorf("%s: %s = %v (present: %v), want %v", step, name, g, ok, v)
		}
	}
}

// TestRunMetricsAndReloads drives a server through requests, a failed
// reload and a good one over its admin listener, and checks the metrics
// and /readyz on both listeners after each step. The settle time is long
// so that only the POSTs reload.
func TestRunMetricsAndReloads(t *testing.T) {
	dir, args := inputDir(t)
	r := startServer(t, append(args, "--admin-listen", "127.0.0.1:0", "--reload-settle", "1h")...)

	if code, body := fetch(t, "GET", r.admin+"/healthz", nil); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	for _, base := range []string{r.base, r.admin} {
		if code, body := fetch(t, "GET", base+"/readyz", nil); code != 200 || !strings.HasPrefix(body, "ready: generation 1, snapshot time ") {
			t.Errorf("%s/readyz after the first load: %d %q", base, code, body)
		}
	}
	before := scrape(t, r.admin)
	checkSamples(t, "first load", before, map[string]float64{
		`mirrorlist_reloads_total{result="reloaded"}`: 1,
		`mirrorlist_reloads_total{result="failed"}`:   0,
		"mirrorlist_last_reload_successful":           1,
		"mirrorlist_snapshot_generation":              1,
	})
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "mirrorlist_snapshot_age_seconds", "mirrorlist_snapshot_directories"} {
		if _, ok := before[name]; !ok {
			t.Errorf("no %s", name)
		}
	}
	// The memory limit follows the snapshot: above the live heap, by
	// at least the headroom (GOMEMLIMIT is not set in tests).
	if live, limit := before["mirrorlist_heap_live_bytes"], before["mirrorlist_memory_limit_bytes"]; live <= 0 || limit < live+memlimit.Headroom {
		t.Errorf("live heap %.0f, memory limit %.0f: want a positive live heap and a limit at least %d above it", live, limit, memlimit.Headroom)
	}
	if _, ok := before["mirrorlist_snapshot_live_bytes"]; !ok {
		t.Error("no mirrorlist_snapshot_live_bytes")
	}

	fetch(t, "GET", r.base+"/mirrorlist?repo=fedora-41&arch=x86_64&ip="+fixtures.TinyAddrDE, nil)
	fetch(t, "GET", r.base+"/metalink?repo=fedora-41&arch=x86_64&ip="+fixtures.TinyAddrDENetblock, nil)
	fetch(t, "GET", r.base+"/nothing", nil)
	after := scrape(t, r.admin)
	for name, d := range map[string]float64{
		`mirrorlist_http_requests_total{code="200", kind="mirrorlist"}`: 1,
		`mirrorlist_http_requests_total{code="200", kind="metalink"}`:   1,
		`mirrorlist_http_requests_total{code="404", kind="other"}`:      1,
		`mirrorlist_answers_total{found_via="geoip"}`:                   1,
		`mirrorlist_answers_total{found_via="netblocks"}`:               1,
		"mirrorlist_answer_hosts_count":                                 2,
	} {
		if got := after[name] - before[name]; got != d {
			t.Errorf("%s grew by %v, want %v", name, got, d)
		}
	}

	cache := filepath.Join(dir, fixtures.CacheFile)
	good, err := os.ReadFile(cache)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cache, good[:len(good)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	if code, body := fetch(t, "POST", r.admin+"/-/reload", nil); code != 500 || !strings.Contains(body, cache) {
		t.Errorf("POST /-/reload of a truncated cache: %d %s", code, body)
	}
	checkSamples(t, "failed reload", scrape(t, r.admin), map[string]float64{
		`mirrorlist_reloads_total{result="reloaded"}`: 1,
		`mirrorlist_reloads_total{result="failed"}`:   1,
		"mirrorlist_last_reload_successful":           0,
		"mirrorlist_snapshot_generation":              1,
	})
	if code, body := fetch(t, "GET", r.admin+"/readyz", nil); code != 200 ||
		!strings.HasPrefix(body, "ready: generation 1") || !strings.Contains(body, "; last reload failed at ") || !strings.Contains(body, cache) {
		t.Errorf("admin /readyz after a failed reload: %d %q", code, body)
	}
	if code, body := fetch(t, "GET", r.base+"/readyz", nil); code != 200 ||
		!strings.Contains(body, "; last reload failed at ") || strings.Contains(body, cache) {
		t.Errorf("main /readyz after a failed reload (terse, no paths): %d %q", code, body)
	}

	if err := os.WriteFile(cache, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, body := fetch(t, "POST", r.admin+"/-/reload", nil); code != 200 {
		t.Errorf("POST /-/reload of the good cache: %d %s", code, body)
	}
	checkSamples(t, "good reload", scrape(t, r.admin), map[string]float64{
		`mirrorlist_reloads_total{result="reloaded"}`: 2,
		`mirrorlist_reloads_total{result="failed"}`:   1,
		"mirrorlist_last_reload_successful":           1,
		"mirrorlist_snapshot_generation":              2,
	})
	if code, body := fetch(t, "GET", r.admin+"/readyz", nil); code != 200 || strings.Contains(body, "failed") {
		t.Errorf("admin /readyz after a good reload: %d %q", code, body)
	}
	if code, _ := fetch(t, "GET", r.admin+"/-/reload", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reload: %d, want 405", code)
	}
	r.cancel()
	if code := r.wait(t); code != exitOK {
		t.Errorf("exit %d", code)
	}
}

// TestRunHangupReloads checks that SIGHUP reloads every input once the
// settle time has passed, without any file having changed.
func TestRunHangupReloads(t *testing.T) {
	_, args := inputDir(t)
	r := startServer(t, append(args, "--admin-listen", "127.0.0.1:0", "--reload-settle", "20ms")...)
	r.hup <- syscall.SIGHUP
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body := fetch(t, "GET", r.admin+"/readyz", nil)
		if strings.HasPrefix(body, "ready: generation 2,") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reload after SIGHUP; /readyz says %q\n%s", body, r.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(r.stderr.String(), "SIGHUP: reloading the inputs") {
		t.Errorf("SIGHUP not logged:\n%s", r.stderr.String())
	}
}

// TestRunClientAddress checks --trusted-proxies end to end: the access log
// shows whose address the server took from a request that came from
// 127.0.0.1 with an X-Forwarded-For header.
func TestRunClientAddress(t *testing.T) {
	tests := []struct {
		name  string
		flags []string
		want  string
	}{
		{"trusted from all peers by default", nil, fixtures.TinyAddrDE},
		{"loopback trusted", []string{"--trusted-proxies", "10.0.0.0/8,127.0.0.1"}, fixtures.TinyAddrDE},
		{"loopback not trusted", []string{"--trusted-proxies", "10.0.0.0/8"}, "127.0.0.1"},
		{"none trusted", []string{"--trusted-proxies="}, "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, args := inputDir(t)
			r := startServer(t, append(args, tt.flags...)...)
			fetch(t, "GET", r.base+"/mirrorlist?repo=fedora-41&arch=x86_64",
				http.Header{"X-Forwarded-For": {"198.18.0.1, " + fixtures.TinyAddrDE}})
			b := r.stopAndReadLog(t, dir)
			if want := "IP: " + tt.want + ";"; !strings.HasPrefix(string(b), want) {
				t.Errorf("access log %q, want it to start %q", b, want)
			}
		})
	}
}

// TestRunExplain checks the explain endpoints as wired: on the admin
// listener, with the reloader's generation and the main port's
// --minimum, --trusted-proxies and --max-query-bytes; and that the main
// port explains nothing, answering the path as the mirrorlist request it
// ends in.
func TestRunExplain(t *testing.T) {
	dir, args := inputDir(t)
	r := startServer(t, append(args, "--admin-listen", "127.0.0.1:0", "--minimum", "2",
		"--trusted-proxies", "127.0.0.1", "--max-query-bytes", "100")...)
	const q = "/-/explain/mirrorlist?repo=fedora-41&arch=x86_64&seed=1"
	xff := http.Header{"X-Forwarded-For": {fixtures.TinyAddrDE}}
	code, body := fetch(t, "GET", r.admin+q, xff)
	var ex struct {
		Snapshot struct{ Generation uint64 }
		Client   struct{ Address, From string }
		Steps    []struct{ Name, Note string }
	}
	if err := json.Unmarshal([]byte(body), &ex); code != 200 || err != nil {
		t.Fatalf("admin %s: %d %v\n%s", q, code, err, body)
	}
	if ex.Snapshot.Generation != 1 || ex.Client.Address != fixtures.TinyAddrDE || ex.Client.From != "X-Forwarded-For" {
		t.Errorf("admin %s: generation %d, client %s from %s; want 1, %s from X-Forwarded-For",
			q, ex.Snapshot.Generation, ex.Client.Address, ex.Client.From, fixtures.TinyAddrDE)
	}
	if last := ex.Steps[len(ex.Steps)-1]; !strings.Contains(last.Note, "(--minimum 2)") {
		t.Errorf("admin %s: the global step says %q, want it to name --minimum 2", q, last.Note)
	}
	if code, body := fetch(t, "GET", r.admin+q+"&pad="+strings.Repeat("x", 100), xff); code != 200 || !strings.Contains(body, `"status": 414`) {
		t.Errorf("admin: an explained query over --max-query-bytes: %d\n%s", code, body)
	}
	code, body = fetch(t, "GET", r.base+q, xff)
	if code != 200 || !strings.HasPrefix(body, "# repo = fedora-41 arch = x86_64 country = DE") {
		t.Errorf("main port %s: %d\n%s\nwant the plain mirrorlist", q, code, body)
	}
	b := r.stopAndReadLog(t, dir)
	if n := strings.Count(string(b), "\n"); n != 1 {
		t.Errorf("access log has %d lines, want 1 (the main port's request; an explanation logs nothing):\n%s", n, b)
	}
}

// TestRunLimits checks the query cap and the header limit (which net/http
// enforces with some slack: a few KiB over it may pass).
func TestRunLimits(t *testing.T) {
	_, args := inputDir(t)
	r := startServer(t, append(args, "--max-query-bytes", "100", "--max-header-bytes", "1024")...)
	q := "repo=fedora-41&arch=x86_64&countme=1"
	tests := []struct {
		name   string
		target string
		header http.Header
		code   int
	}{
		{"short query", "/mirrorlist?" + q, nil, 200},
		{"query at the cap", "/mirrorlist?" + q + "&" + strings.Repeat("x", 100-len(q)-1), nil, 200},
		{"query over the cap", "/metalink?" + q + "&" + strings.Repeat("x", 100-len(q)), nil, http.StatusRequestURITooLong},
		{"giant query", "/mirrorlist?" + q + "&" + strings.Repeat("x", 3000), nil, http.StatusRequestURITooLong},
		{"giant header", "/mirrorlist?" + q, http.Header{"X-Pad": {strings.Repeat("x", 32000)}}, http.StatusRequestHeaderFieldsTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := fetch(t, "GET", r.base+tt.target, tt.header)
			if code != tt.code {
				t.Errorf("%d %q, want %d", code, body, tt.code)
			}
			if code == http.StatusRequestURITooLong && !strings.HasPrefix(body, "Request-URI too long") {
				t.Errorf("414 body %q", body)
			}
		})
	}
}

// TestRunTermSignal checks that the first SIGTERM shuts down cleanly.
func TestRunTermSignal(t *testing.T) {
	_, args := inputDir(t)
	r := startServer(t, append(args, "--admin-listen", "127.0.0.1:0")...)
	r.term <- syscall.SIGTERM
	if code := r.wait(t); code != exitOK {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, r.stderr.String())
	}
	for _, base := range []string{r.base, r.admin} {
		if _, err := http.Get(base + "/readyz"); err == nil {
			t.Errorf("%s still answers after the shutdown", base)
		}
	}
	select {
	case code := <-r.exits:
		t.Errorf("exit(%d) called on a single signal", code)
	default:
	}
	logs := r.stderr.String()
	for _, want := range []string{"shutting down; send the signal again", "server stopped", "access log closed"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

// holdHandler wraps h so that a request with hold= in its query waits
// for release before it is answered, telling started when it arrives.
func holdHandler(started chan<- struct{}, release <-chan struct{}) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Has("hold") {
				started <- struct{}{}
				<-release
			}
			h.ServeHTTP(w, r)
		})
	}
}

// TestRunSlowRequestAndSecondSignal holds a request in its handler across
// a SIGTERM: new connections are refused, the shutdown waits for the
// request, a second signal calls exit(130) at once, and the request, once
// released, still gets its whole answer.
func TestRunSlowRequestAndSecondSignal(t *testing.T) {
	_, args := inputDir(t)
	started, release := make(chan struct{}, 1), make(chan struct{})
	r := startServerEnv(t, env{wrap: holdHandler(started, release)}, args...)
	type answer struct {
		code int
		body string
		err  error
	}
	answered := make(chan answer, 1)
	go func() { // no t.Fatal off the test's goroutine
		resp, err := http.Get(r.base + "/mirrorlist?repo=fedora-41&arch=x86_64&hold=1")
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		answered <- answer{resp.StatusCode, string(b), err}
	}()
	<-started
	r.term <- syscall.SIGTERM
	addr := strings.TrimPrefix(r.base, "http://")
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break // refused: the listener is closed
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("new connections still accepted after SIGTERM")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case code := <-r.done:
		r.done <- code
		t.Fatalf("run returned %d with a request in flight", code)
	default:
	}
	r.term <- syscall.SIGINT
	select {
	case code := <-r.exits:
		if code != exitInterrupted {
			t.Errorf("exit(%d) on the second signal, want %d", code, exitInterrupted)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no exit on the second signal")
	}
	// The test's exit does not end the process: the graceful path goes on.
	close(release)
	if a := <-answered; a.err != nil || a.code != http.StatusOK || !strings.HasPrefix(a.body, "# repo = fedora-41 arch = x86_64 ") {
		t.Errorf("the request in flight got %d %q, %v", a.code, a.body, a.err)
	}
	if code := r.wait(t); code != exitOK {
		t.Errorf("exit %d", code)
	}
}

// TestOnSignals checks that the first signal starts the shutdown and the
// second exits at once with status 130.
func TestOnSignals(t *testing.T) {
	term := make(chan os.Signal)
	var shutdowns atomic.Int32
	exits := make(chan int, 1)
	stop := onSignals(term, func() { shutdowns.Add(1) }, func(code int) { exits <- code }, zap.NewNop())
	defer stop()
	term <- syscall.SIGTERM
	term <- syscall.SIGINT // taken only once the first has been handled
	select {
	case code := <-exits:
		if code != exitInterrupted {
			t.Errorf("exit(%d), want %d", code, exitInterrupted)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no exit after the second signal")
	}
	if n := shutdowns.Load(); n != 1 {
		t.Errorf("shutdown called %d times, want 1", n)
	}
}

// TestOnSignalsStop checks that stopping the watch ends its goroutine
// without any signal.
func TestOnSignalsStop(t *testing.T) {
	stop := onSignals(make(chan os.Signal), func() { t.Error("shutdown called") }, func(int) { t.Error("exit called") }, zap.NewNop())
	stop()
}

// slowHandler answers "done" once release is closed, telling started
// when a request has arrived.
func slowHandler(started chan<- struct{}, release <-chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
		_, _ = io.WriteString(w, "done")
	})
}

// startSlow serves a slowHandler on a loopback port.
func startSlow(t *testing.T) (srvs *servers, url string, started chan struct{}, release chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started, release = make(chan struct{}, 1), make(chan struct{})
	limits := httpLimits{readHeaderTimeout: 5 * time.Second, maxHeaderBytes: 4096}
	srv := newServer(slowHandler(started, release), limits, zap.NewNop())
	srvs = startServers(&listener{name: "main", srv: srv, ln: ln})
	return srvs, "http://" + ln.Addr().String(), started, release
}

// TestGracefulShutdown checks that a request in flight when the shutdown
// begins gets its whole answer, while new connections are refused.
func TestGracefulShutdown(t *testing.T) {
	srvs, url, started, release := startSlow(t)
	type answer struct {
		body string
		err  error
	}
	answered := make(chan answer, 1)
	go func() {
		resp, err := http.Get(url)
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		answered <- answer{string(b), err}
	}()
	<-started
	stopped := make(chan error, 1)
	go func() { stopped <- srvs.shutdown(10 * time.Second) }()

	// The listener closes at once; the request in flight holds the
	// shutdown until it is answered.
	addr := strings.TrimPrefix(url, "http://")
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("new connections still accepted during the shutdown")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-stopped:
		t.Fatalf("shutdown returned (%v) with a request in flight", err)
	default:
	}
	close(release)
	if a := <-answered; a.err != nil || a.body != "done" {
		t.Errorf("in-flight request: %q, %v", a.body, a.err)
	}
	if err := <-stopped; err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

// TestShutdownTimeout checks that a request outlasting the timeout is cut
// and the shutdown reports it.
func TestShutdownTimeout(t *testing.T) {
	srvs, url, started, release := startSlow(t)
	defer close(release)
	go func() {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	if err := srvs.shutdown(20 * time.Millisecond); err == nil || !strings.Contains(err.Error(), "shutting down main") {
		t.Errorf("shutdown with a stuck request: %v", err)
	}
}

func TestProbe(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			_, _ = io.WriteString(w, "ready\n")
		case "/unavailable":
			http.Error(w, "not ready", http.StatusServiceUnavailable)
		case "/redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/slow":
			<-release
		}
	}))
	defer srv.Close()
	defer close(release) // before Close, which waits for the handlers
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tests := []struct {
		url  string
		want int
	}{
		{srv.URL + "/ok", exitOK},
		{srv.URL + "/unavailable", exitFail},
		{srv.URL + "/redirect", exitFail},
		{srv.URL + "/slow", exitFail},
		{closed.URL + "/ok", exitFail},
		{"::not a url", exitFail},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			var stdout, stderr strings.Builder
			if got := probe(context.Background(), tt.url, 200*time.Millisecond, &stdout, &stderr); got != tt.want {
				t.Errorf("exit %d, want %d; stderr %q", got, tt.want, stderr.String())
			}
			if tt.want == exitOK && stdout.String() != "ready\n" {
				t.Errorf("stdout %q, want the body", stdout.String())
			}
			if tt.want != exitOK && stderr.Len() == 0 {
				t.Error("a failed probe says nothing")
			}
		})
	}
}

// TestRunProbe checks the flag: the exit status is the probe's, and
// nothing is loaded.
func TestRunProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	if code, _, stderr := runArgs(t, "--probe", srv.URL+"/readyz", "-c", "/nonexistent"); code != exitOK {
		t.Errorf("probe of a ready server: exit %d\n%s", code, stderr)
	}
	if code, _, _ := runArgs(t, "--probe", srv.URL+"/other"); code != exitFail {
		t.Errorf("probe of a 404: exit %d, want %d", code, exitFail)
	}
}
