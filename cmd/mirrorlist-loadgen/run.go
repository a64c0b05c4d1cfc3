package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// loadOptions are the flags of the run subcommand.
type loadOptions struct {
	target      string        // the server's base URL
	targetsPath string        // the targets file
	conns       int           // connections, one worker each
	duration    time.Duration // measured time, after the warm-up
	warmup      time.Duration // time whose answers are not counted
	requests    int           // at most this many requests, warm-up included; 0: no limit
	rate        float64       // requests per second in an open loop; 0: closed loop
	timeout     time.Duration // per request
	sizesOut    string        // where to write each target's answer size; "": nowhere
}

// Bounds that keep a run from becoming a soak test by accident.
const (
	maxConns    = 4096
	maxDuration = 10 * time.Minute
)

func parseLoadFlags(args []string, stderr io.Writer) (*loadOptions, error) {
	o := new(loadOptions)
	fs := newSubcommand("run", stderr)
	fs.StringVar(&o.target, "target", "http://127.0.0.1:3000", "base `URL` of the server (loopback only)")
	fs.StringVar(&o.targetsPath, "targets", "", "`FILE` of request targets, one a line (see the mix command); required")
	fs.IntVar(&o.conns, "c", 16, "number of keep-alive connections")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured duration, after the warm-up")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "warm-up whose answers are not counted")
	fs.IntVar(&o.requests, "requests", 0, "stop after this many requests, warm-up included (0: no limit)")
	fs.Float64Var(&o.rate, "rate", 0, "open loop at this many requests per second (0: closed loop, as fast as answered)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "timeout of one request")
	fs.StringVar(&o.sizesOut, "sizes-out", "", "write the body size of each target answered to `FILE`, a \"SIZE TARGET\" line each, for the ceiling's -sizes")
	if err := fs.parse(args); err != nil {
		return nil, err
	}
	switch {
	case o.targetsPath == "":
		return nil, errors.New("run: need -targets FILE (write one with the mix command)")
	case o.conns < 1 || o.conns > maxConns:
		return nil, fmt.Errorf("run: -c %d: want 1 to %d", o.conns, maxConns)
	case o.duration <= 0 || o.warmup < 0 || o.duration+o.warmup > maxDuration:
		return nil, fmt.Errorf("run: -warmup %v and -duration %v: want a positive duration, %v in all at most", o.warmup, o.duration, maxDuration)
	case o.requests < 0 || o.rate < 0 || o.timeout <= 0:
		return nil, errors.New("run: -requests, -rate and -timeout must not be negative")
	}
	return o, nil
}

// runLoad replays the targets file against the server and prints the
// report.
func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseLoadFlags(args, stderr)
	if err != nil {
		return err
	}
	base, err := loopbackURL(o.target)
	if err != nil {
		return err
	}
	targets, err := readTargets(o.targetsPath)
	if err != nil {
		return err
	}
	l := newLoader(base, targets, o)
	res := l.run(ctx)
	l.report(res).print(stdout, l, res, base, len(targets))
	if o.sizesOut != "" {
		if err := writeSizes(o.sizesOut, targets, res.sizes); err != nil {
			return err
		}
	}
	if res.sent == 0 {
		return errors.New("no request was sent")
	}
	if res.errors == res.sent {
		return fmt.Errorf("every request failed, e.g. %v", res.firstErr)
	}
	return nil
}

// loopbackURL parses the server's base URL and refuses anything but plain
// HTTP to a loopback address: the tool must not be pointed at someone
// else's server.
func loopbackURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("target: %w", err)
	}
	if u.Scheme != "http" || u.Host == "" || u.RawQuery != "" || u.User != nil {
		return "", fmt.Errorf("target %q: want http://HOST:PORT with a loopback HOST", raw)
	}
	if host := u.Hostname(); host != "localhost" {
		a, err := netip.ParseAddr(host)
		if err != nil || !a.IsLoopback() {
			return "", fmt.Errorf("target %q: %s is not a loopback address; refusing to send load anywhere else", raw, host)
		}
	}
	return u.Scheme + "://" + u.Host + trimSlash(u.Path), nil
}

func trimSlash(p string) string {
	for len(p) > 0 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	return p
}

// loopbackOnly is a net.Dialer Control function that refuses any
// connection to an address that is not a loopback address, whatever a
// name resolved to.
func loopbackOnly(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !ap.Addr().IsLoopback() {
		return fmt.Errorf("refusing to connect to %s: not a loopback address", address)
	}
	return nil
}

// readBufferSize is the size of each connection's read buffer and of each
// worker's body buffer. Metalinks run to tens of kilobytes: net/http's 4
// KB default would read one in a dozen system calls and make the load
// generator, not the server, the bottleneck.
const readBufferSize = 256 << 10

// newClient returns the HTTP client of a run: keep-alive connections, as
// many idle ones kept per host as there are workers so that none is ever
// closed and reopened, large read buffers, no compression, no proxy, no
// redirects followed.
func newClient(conns int, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: loopbackOnly}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil, // never the environment's proxy
			DialContext:           dialer.DialContext,
			MaxIdleConns:          conns,
			MaxIdleConnsPerHost:   conns,
			MaxConnsPerHost:       conns,
			IdleConnTimeout:       time.Minute,
			DisableCompression:    true,
			ResponseHeaderTimeout: timeout,
			ReadBufferSize:        readBufferSize,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       timeout,
	}
}

// loader runs one load: its workers share the request counter and the
// clock marks.
type loader struct {
	client   *http.Client
	urls     []string
	opts     *loadOptions
	next     atomic.Int64 // number of the next request
	start    time.Time    // when request 0 is due
	measure  time.Time    // answers to requests due from here on count
	deadline time.Time    // no request due from here on is sent
	interval float64      // nanoseconds between requests in an open loop; 0 in a closed loop
}

func newLoader(base string, targets []string, o *loadOptions) *loader {
	l := &loader{client: newClient(o.conns, o.timeout), opts: o}
	l.urls = make([]string, len(targets))
	for i, t := range targets {
		l.urls[i] = base + t
	}
	if o.rate > 0 {
		l.interval = 1e9 / o.rate
	}
	return l
}

// tally is what one worker saw.
type tally struct {
	latency  histogram // from each request's release by the pacer (open loop) or its sending (closed loop)
	service  histogram // from when each request was sent
	lateness histogram // open loop: how late the pacer released each request
	bodies   histogram // answer body sizes, a byte counted as a nanosecond
	status   map[int]uint64
	sizes    map[int]int64 // -sizes-out: body size by target index; nil otherwise
	sent     uint64        // measured requests, failed ones included
	errors   uint64
	firstErr error
	bytes    uint64
	lastDone time.Time
}

// run starts the workers (and in an open loop the pacer), waits for them
// and merges what they saw.
func (l *loader) run(ctx context.Context) *tally {
	l.start = time.Now()
	l.measure = l.start.Add(l.opts.warmup)
	l.deadline = l.measure.Add(l.opts.duration)
	var wg sync.WaitGroup
	var tickets <-chan ticket
	if l.interval > 0 {
		defer pacerProcs()()
		tickets = startPacer(ctx, &wg, l.schedule())
	}
	tallies := make([]*tally, l.opts.conns)
	for i := range tallies {
		tallies[i] = &tally{status: make(map[int]uint64)}
		if l.opts.sizesOut != "" {
			tallies[i].sizes = make(map[int]int64)
		}
		if tickets != nil {
			wg.Go(func() { l.openWorker(ctx, tickets, tallies[i]) })
		} else {
			wg.Go(func() { l.closedWorker(ctx, tallies[i]) })
		}
	}
	wg.Wait()
	l.client.CloseIdleConnections()
	total := &tally{status: make(map[int]uint64), sizes: make(map[int]int64)}
	for _, t := range tallies {
		total.merge(t)
	}
	return total
}

// schedule returns the open loop's schedule.
func (l *loader) schedule() schedule {
	return schedule{start: l.start, interval: l.interval, deadline: l.deadline, limit: int64(l.opts.requests)}
}

// closedWorker sends requests one after the other, each as soon as the
// last is answered, until the deadline, the request limit or ctx ends the
// run.
func (l *loader) closedWorker(ctx context.Context, t *tally) {
	buf := make([]byte, readBufferSize)
	for {
		k := l.next.Add(1) - 1
		if l.opts.requests > 0 && k >= int64(l.opts.requests) {
			return
		}
		now := time.Now()
		if !now.Before(l.deadline) || !l.send(ctx, t, buf, k, now, now) {
			return
		}
	}
}

// openWorker sends the requests the pacer releases, whenever it is free,
// until the pacer ends.
//
// A request's latency counts from its release: a request released while
// every worker was busy waits in the ticket buffer, and that wait is the
// server's doing (coordinated omission corrected). The pacer's own
// lateness, from due to release, is the generator's and is reported
// apart.
func (l *loader) openWorker(ctx context.Context, tickets <-chan ticket, t *tally) {
	buf := make([]byte, readBufferSize)
	for tk := range tickets {
		if !l.send(ctx, t, buf, tk.k, tk.due, tk.released) {
			return
		}
		if !tk.due.Before(l.measure) {
			t.lateness.record(tk.released.Sub(tk.due))
		}
	}
}

// send sends request k, due at due, and records it in t unless it was
// due in the warm-up, its latency counted from from. It returns false
// when ctx ended.
func (l *loader) send(ctx context.Context, t *tally, buf []byte, k int64, due, from time.Time) bool {
	if ctx.Err() != nil {
		return false
	}
	target := int(k % int64(len(l.urls)))
	sent := time.Now()
	status, n, err := l.get(ctx, l.urls[target], buf)
	done := time.Now()
	if ctx.Err() != nil {
		return false // interrupted: the answer is not the server's doing
	}
	if t.sizes != nil && err == nil {
		t.sizes[target] = n // warm-up answers too: the size is the target's, not the moment's
	}
	if !due.Before(l.measure) {
		t.add(from, sent, done, status, n, err)
	}
	return true
}

// sleepUntil waits until t, or returns false when ctx ends first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// get sends one GET and reads the whole answer into buf, over and over.
func (l *loader) get(ctx context.Context, url string, buf []byte) (status int, n int64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	n, err = discard(resp.Body, buf)
	resp.Body.Close()
	return resp.StatusCode, n, err
}

// discard reads r to its end into buf and returns how many bytes it read.
// Unlike io.Copy to io.Discard, whose ReadFrom reads 8 KB at a time, it
// reads as much as buf holds per call.
func discard(r io.Reader, buf []byte) (int64, error) {
	var total int64
	for {
		n, err := r.Read(buf)
		total += int64(n)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// add records one measured request, its latency counted from from.
func (t *tally) add(from, sent, done time.Time, status int, n int64, err error) {
	t.sent++
	t.lastDone = done
	if err != nil {
		t.errors++
		if t.firstErr == nil {
			t.firstErr = err
		}
		return
	}
	t.status[status]++
	t.bytes += uint64(n)
	t.bodies.record(time.Duration(n))
	t.latency.record(done.Sub(from))
	t.service.record(done.Sub(sent))
}

func (t *tally) merge(o *tally) {
	t.latency.merge(&o.latency)
	t.service.merge(&o.service)
	t.lateness.merge(&o.lateness)
	t.bodies.merge(&o.bodies)
	for s, n := range o.status {
		t.status[s] += n
	}
	for i, n := range o.sizes {
		t.sizes[i] = n
	}
	t.sent += o.sent
	t.errors += o.errors
	if t.firstErr == nil {
		t.firstErr = o.firstErr
	}
	t.bytes += o.bytes
	if o.lastDone.After(t.lastDone) {
		t.lastDone = o.lastDone
	}
}
