package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// swapOptions are the flags of the swaps subcommand.
type swapOptions struct {
	target      string        // the server's base URL
	reload      string        // its POST /-/reload URL (admin listener)
	targetsPath string        // the targets file
	conns       int           // connections, one worker each
	swaps       int           // reloads to measure
	warmup      time.Duration // load before the first swap
	tail        time.Duration // a swap's window goes on this long after its answer
	quiet       time.Duration // between a window and the next
	pid         int           // the server's process, for its peak RSS; 0: none
	timeout     time.Duration // per request
}

func parseSwapFlags(args []string, stderr io.Writer) (*swapOptions, error) {
	o := new(swapOptions)
	fs := newSubcommand("swaps", stderr)
	fs.StringVar(&o.target, "target", "http://127.0.0.1:3000", "base `URL` of the server (loopback only)")
	fs.StringVar(&o.reload, "reload", "", "`URL` of the server's POST /-/reload (loopback only); required")
	fs.StringVar(&o.targetsPath, "targets", "", "`FILE` of request targets, one a line (see the mix command); required")
	fs.IntVar(&o.conns, "c", 16, "number of keep-alive connections")
	fs.IntVar(&o.swaps, "swaps", 5, "number of reloads")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "load before the first reload")
	fs.DurationVar(&o.tail, "tail", time.Second, "how long a reload's window lasts after its answer (the old snapshot's collection falls in it)")
	fs.DurationVar(&o.quiet, "quiet", time.Second, "pause between a window and the next")
	fs.IntVar(&o.pid, "pid", 0, "the server's process id: report its peak RSS across the reloads (0: do not)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "timeout of one request")
	if err := fs.parse(args); err != nil {
		return nil, err
	}
	switch {
	case o.targetsPath == "" || o.reload == "":
		return nil, errors.New("swaps: need -targets FILE and -reload URL")
	case o.conns < 1 || o.conns > maxConns:
		return nil, fmt.Errorf("swaps: -c %d: want 1 to %d", o.conns, maxConns)
	case o.swaps < 1 || o.swaps > 100:
		return nil, fmt.Errorf("swaps: -swaps %d: want 1 to 100", o.swaps)
	case o.warmup < 0 || o.tail < 0 || o.quiet < 0 || o.timeout <= 0:
		return nil, errors.New("swaps: -warmup, -tail, -quiet and -timeout must not be negative")
	}
	return o, nil
}

// runSwaps measures what reloads do to the request path: a closed loop of
// -c connections runs throughout, and the controller alternates a window
// with a reload (from the POST to its answer, plus -tail) and a window of
// the same length without one (after -quiet). Each request counts in the
// windows its lifetime overlaps. It prints each pair, then the medians
// over the reloads, and the server's peak RSS (VmHWM, reset before the
// first reload) if -pid is given.
func runSwaps(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseSwapFlags(args, stderr)
	if err != nil {
		return err
	}
	base, err := loopbackURL(o.target)
	if err != nil {
		return err
	}
	reloadURL, err := loopbackURL(o.reload)
	if err != nil {
		return err
	}
	targets, err := readTargets(o.targetsPath)
	if err != nil {
		return err
	}
	s := &swapRun{opts: o, client: newClient(o.conns, o.timeout), admin: newClient(1, 10*time.Minute)}
	for _, t := range targets {
		s.urls = append(s.urls, base+t)
	}
	return s.run(ctx, reloadURL, stdout)
}

// swapRun is one run of the swaps subcommand.
type swapRun struct {
	opts   *swapOptions
	client *http.Client
	admin  *http.Client
	urls   []string
	t0     time.Time
}

// span is a request's or a window's lifetime, in nanoseconds since t0.
type span struct{ from, to int64 }

func (a span) overlaps(b span) bool { return a.from < b.to && b.from < a.to }

// worker's lifetimes of the requests it sent, and its errors.
type swapTally struct {
	spans    []span
	errors   int
	firstErr error
}

func (s *swapRun) run(ctx context.Context, reloadURL string, stdout io.Writer) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	s.t0 = time.Now()
	tallies := make([]*swapTally, s.opts.conns)
	var wg sync.WaitGroup
	for i := range tallies {
		tallies[i] = new(swapTally)
		wg.Go(func() { s.worker(ctx, tallies[i], i) })
	}
	windows, err := s.control(ctx, reloadURL, stdout)
	stop()
	wg.Wait()
	s.client.CloseIdleConnections()
	if err != nil {
		return err
	}
	return s.report(stdout, tallies, windows)
}

// worker sends requests one after the other until ctx ends.
func (s *swapRun) worker(ctx context.Context, t *swapTally, k int) {
	buf := make([]byte, readBufferSize)
	l := &loader{client: s.client}
	for i := k; ctx.Err() == nil; i += s.opts.conns {
		sent := time.Since(s.t0)
		status, _, err := l.get(ctx, s.urls[i%len(s.urls)], buf)
		if ctx.Err() != nil {
			return
		}
		if err == nil && status >= 500 {
			err = fmt.Errorf("status %d", status)
		}
		if err != nil {
			t.errors++
			if t.firstErr == nil {
				t.firstErr = err
			}
			continue
		}
		t.spans = append(t.spans, span{int64(sent), int64(time.Since(s.t0))})
	}
}

// swapWindows are the reload windows and the quiet ones paired with them.
type swapWindows struct {
	swap, steady []span
	build        []time.Duration // POST to answer
	rssBefore    int64           // kB, just before the first reload
	hwm          int64           // kB, peak across the reloads
}

// control runs the reloads and lays out the windows.
func (s *swapRun) control(ctx context.Context, reloadURL string, stdout io.Writer) (*swapWindows, error) {
	o := s.opts
	w := new(swapWindows)
	if !sleep(ctx, o.warmup) {
		return nil, ctx.Err()
	}
	if o.pid > 0 {
		w.rssBefore = procStatus(o.pid, "VmRSS")
		// Writing 5 resets the peak resident size to the current one.
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", o.pid), []byte("5"), 0); err != nil {
			return nil, fmt.Errorf("resetting the server's peak RSS: %w", err)
		}
	}
	for i := range o.swaps {
		from := time.Since(s.t0)
		if err := s.postReload(ctx, reloadURL); err != nil {
			return nil, fmt.Errorf("reload %d: %w", i+1, err)
		}
		answered := time.Since(s.t0)
		swap := span{int64(from), int64(answered + o.tail)}
		steadyFrom := time.Duration(swap.to) + o.quiet
		steady := span{int64(steadyFrom), int64(steadyFrom) + swap.to - swap.from}
		w.swap, w.steady = append(w.swap, swap), append(w.steady, steady)
		w.build = append(w.build, answered-from)
		fmt.Fprintf(stdout, "reload %d answered in %.2f s\n", i+1, (answered - from).Seconds())
		if !sleep(ctx, time.Until(s.t0.Add(time.Duration(steady.to)+o.quiet))) {
			return nil, ctx.Err()
		}
	}
	if o.pid > 0 {
		w.hwm = procStatus(o.pid, "VmHWM")
	}
	return w, nil
}

// postReload asks for a forced reload and checks that it was published.
func (s *swapRun) postReload(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return err
	}
	resp, err := s.admin.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var answer struct{ Outcome, Error string }
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return fmt.Errorf("%s: %d, %w", url, resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || answer.Outcome != "reloaded" {
		return fmt.Errorf("%s: %d, outcome %q: %s", url, resp.StatusCode, answer.Outcome, answer.Error)
	}
	return nil
}

// report prints each reload's window against its quiet one, the medians,
// and a summary line for scripts.
func (s *swapRun) report(w io.Writer, tallies []*swapTally, win *swapWindows) error {
	n := len(win.swap)
	swapH, steadyH := make([]histogram, n), make([]histogram, n)
	var requests, errs int
	var firstErr error
	for _, t := range tallies {
		requests += len(t.spans)
		errs += t.errors
		if firstErr == nil {
			firstErr = t.firstErr
		}
		for _, sp := range t.spans {
			d := time.Duration(sp.to - sp.from)
			for i := range n {
				if sp.overlaps(win.swap[i]) {
					swapH[i].record(d)
				}
				if sp.overlaps(win.steady[i]) {
					steadyH[i].record(d)
				}
			}
		}
	}
	fmt.Fprintf(w, "closed loop, %d connections, %d reloads (POST %s), windows: the reload plus %v, and as long after %v quiet\n",
		s.opts.conns, n, "/-/reload", s.opts.tail, s.opts.quiet)
	var p99s, p99q, maxs, maxq, ratio, builds []float64
	for i := range n {
		a, b := &swapH[i], &steadyH[i]
		fmt.Fprintf(w, "reload %d: build %.2f s; during: %d requests, p99 %s max %s ms; steady: %d requests, p99 %s max %s ms\n",
			i+1, win.build[i].Seconds(), a.total, ms(a.quantile(0.99)), ms(a.max), b.total, ms(b.quantile(0.99)), ms(b.max))
		p99s, p99q = append(p99s, msf(a.quantile(0.99))), append(p99q, msf(b.quantile(0.99)))
		maxs, maxq = append(maxs, msf(a.max)), append(maxq, msf(b.max))
		if b.quantile(0.99) > 0 {
			ratio = append(ratio, float64(a.quantile(0.99))/float64(b.quantile(0.99)))
		}
		builds = append(builds, win.build[i].Seconds())
	}
	if errs > 0 {
		fmt.Fprintf(w, "errors    %d, first: %v\n", errs, firstErr)
	}
	fmt.Fprintf(w, "summary swaps=%d requests=%d errors=%d build_s=%.2f p99_swap_ms=%.3f p99_steady_ms=%.3f p99_ratio=%.2f max_swap_ms=%.3f max_steady_ms=%.3f rss_before_mb=%d hwm_mb=%d\n",
		n, requests, errs, median(builds), median(p99s), median(p99q), median(ratio), median(maxs), median(maxq), win.rssBefore/1024, win.hwm/1024)
	if requests == 0 {
		return errors.New("no request was answered")
	}
	return nil
}

func msf(d time.Duration) float64 { return float64(d) / 1e6 }

// median returns the median of v, or 0 for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Sorted(slices.Values(v))
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// sleep waits for d, or returns false when ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	return sleepUntil(ctx, time.Now().Add(d))
}

// procStatus returns a "kB" field of /proc/PID/status, or -1.
func procStatus(pid int, key string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && k == key {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}
