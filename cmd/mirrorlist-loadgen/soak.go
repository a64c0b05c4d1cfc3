package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
)

// soakOptions are the flags of the soak subcommand.
type soakOptions struct {
	duration  time.Duration // load time
	rate      float64       // requests per second, open loop
	conns     int           // connections, one worker each
	swapEvery time.Duration // time between replacements of the inputs
	interval  time.Duration // time between report lines
	settle    time.Duration // the server's --reload-settle
	timeout   time.Duration // per request
	scale     string
	seed      int64
	data      string // DIR holding the set of -scale and -seed, instead of generating it
	server    string // the server binary; "" builds it
	mix       int    // distinct request targets
}

// Bounds of a soak's flags.
const (
	maxSoakDuration = 24 * time.Hour
	startTimeout    = 5 * time.Minute // a Fedora-scale first load takes seconds
)

func parseSoakFlags(args []string, stderr io.Writer) (*soakOptions, error) {
	o := new(soakOptions)
	fs := newSubcommand("soak", stderr)
	fs.DurationVar(&o.duration, "duration", 10*time.Minute, "how long to run the load")
	fs.Float64Var(&o.rate, "rate", 1000, "requests per second (open loop)")
	fs.IntVar(&o.conns, "c", 64, "number of keep-alive connections")
	fs.DurationVar(&o.swapEvery, "swap", 10*time.Second, "time between replacements of the input files")
	fs.DurationVar(&o.interval, "report", time.Minute, "time between report lines")
	fs.DurationVar(&o.settle, "settle", 2*time.Second, "the server's --reload-settle")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "timeout of one request")
	fs.StringVar(&o.scale, "scale", string(fixtures.ScaleFedora), fmt.Sprintf("data set, one of %v", fixtures.Scales()))
	fs.Int64Var(&o.seed, "seed", 1, "seed of the data set and of the request mix")
	fs.StringVar(&o.data, "data", "", "`DIR` holding the four inputs of -scale and -seed (as mirrorlist-fixtures writes them) instead of generating them; copied, never changed")
	fs.StringVar(&o.server, "server", "", "the mirrorlist-server `BINARY`; empty: build it with go build (run from this module)")
	fs.IntVar(&o.mix, "mix", 100_000, "number of distinct request targets")
	if err := fs.parse(args); err != nil {
		return nil, err
	}
	switch {
	case o.duration <= 0 || o.duration > maxSoakDuration:
		return nil, fmt.Errorf("soak: -duration %v: want a positive duration of at most %v", o.duration, maxSoakDuration)
	case o.rate <= 0 || o.conns < 1 || o.conns > maxConns || o.mix < 1:
		return nil, fmt.Errorf("soak: -rate, -c (1 to %d) and -mix must be positive", maxConns)
	case o.swapEvery <= 0 || o.interval <= 0 || o.settle <= 0 || o.timeout <= 0:
		return nil, errors.New("soak: -swap, -report, -settle and -timeout must be positive")
	}
	return o, nil
}

// runSoak runs the soak subcommand: it starts a server on a data set,
// loads it at a steady rate while replacing its inputs with good and bad
// versions, prints one line per report interval and the verdict, and
// fails if a pass criterion does not hold.
func runSoak(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseSoakFlags(args, stderr)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "mirrorlist-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	s, err := prepareSoak(ctx, o, work, stdout, stderr)
	if err != nil {
		return err
	}
	defer func() {
		if err := s.srv.stop(15 * time.Second); err != nil {
			fmt.Fprintf(stderr, "soak: stopping the server: %v\n", err)
		}
	}()
	return s.run(ctx, stdout)
}

// soak is one run: its options, the files it swaps in, the server and
// the requests.
type soak struct {
	o       *soakOptions
	files   *soakFiles
	dir     *inputDir
	srv     *soakServer
	targets []string
	client  *http.Client

	current *window // the interval being measured
	total   *window // the whole run
	swaps   atomic.Int64
	good    atomic.Int64
	rssMax  atomic.Uint64 // the largest RSS seen in the current interval
}

// prepareSoak generates or reads the data set, writes it to work, and
// starts the server on it.
func prepareSoak(ctx context.Context, o *soakOptions, work string, stdout, stderr io.Writer) (*soak, error) {
	cfg := fixtures.Config{Scale: fixtures.Scale(o.scale), Seed: o.seed}
	set, err := soakSet(cfg, o.data)
	if err != nil {
		return nil, err
	}
	created, err := protoTime(set.Snapshot)
	if err != nil {
		return nil, fmt.Errorf("the data set's protobuf: %w", err)
	}
	targets, err := fixtures.Mix(cfg, o.mix)
	if err != nil {
		return nil, err
	}
	dir, err := newInputDir(filepath.Join(work, "inputs"), set)
	if err != nil {
		return nil, err
	}
	bin := o.server
	if bin == "" {
		if bin, err = buildServer(ctx, work, stderr); err != nil {
			return nil, err
		}
	}
	args := append(dir.args(), "-l", filepath.Join(work, "access.log"), "--reload-settle", o.settle.String())
	fmt.Fprintf(stdout, "soak: %s set (seed %d), %d targets, %g req/s on %d connections for %v, inputs replaced every %v\n",
		o.scale, o.seed, len(targets), o.rate, o.conns, o.duration, o.swapEvery)
	srv, err := startServer(ctx, bin, args, startTimeout)
	if err != nil {
		return nil, err
	}
	return &soak{
		o: o, files: newSoakFiles(set, created), dir: dir, srv: srv, targets: targets,
		client:  newClient(o.conns, o.timeout),
		current: newWindow(), total: newWindow(),
	}, nil
}

// soakSet generates the data set of cfg, or reads it from dir.
func soakSet(cfg fixtures.Config, dir string) (*fixtures.Set, error) {
	if dir == "" {
		return fixtures.Generate(cfg)
	}
	return fixtures.ReadFS(os.DirFS(dir), ".")
}

// run loads the server, replaces the inputs and reports until the
// duration has passed, then prints the verdict.
func (s *soak) run(ctx context.Context, stdout io.Writer) error {
	return s.finish(s.measure(ctx, stdout), stdout)
}

// measure loads the server, replaces the inputs and prints a line per
// interval until the duration has passed, and returns the intervals'
// samples; s.total then holds the whole run.
func (s *soak) measure(ctx context.Context, stdout io.Writer) []sample {
	ctx, cancel := context.WithTimeout(ctx, s.o.duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	defer pacerProcs()()
	tickets := startPacer(ctx, &wg, schedule{start: start, interval: 1e9 / s.o.rate, deadline: start.Add(s.o.duration)})
	for range s.o.conns {
		wg.Go(func() { s.worker(ctx, tickets) })
	}
	wg.Go(func() { s.swapper(ctx) })
	wg.Go(func() { s.sampleRSS(ctx) })
	samples := s.report(ctx, start, stdout)
	cancel() // the run's end, or the server's: stop the load
	wg.Wait()
	s.client.CloseIdleConnections()
	s.total.merge(s.current.take()) // answers that came after the last line
	return samples
}

// worker sends the requests the pacer releases until it ends. As in the
// run command's open loop, the latency counts from the release: a request
// released while every connection was busy waits for one, and the server
// is charged for that wait.
func (s *soak) worker(ctx context.Context, tickets <-chan ticket) {
	var buf bytes.Buffer
	for tk := range tickets {
		k, from := tk.k, tk.released
		target := s.targets[k%int64(len(s.targets))]
		kind, example := s.request(ctx, target, &buf)
		if ctx.Err() != nil {
			return // cut by the end of the run: not the server's doing
		}
		s.current.add(time.Since(from), kind, example)
	}
}

// request sends one GET and checks its answer; it returns the kind of bad
// outcome ("" if none) and an example for the report.
func (s *soak) request(ctx context.Context, target string, buf *bytes.Buffer) (kind, example string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.srv.base+target, nil)
	if err != nil {
		return kindTransport, err.Error()
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return kindTransport, err.Error()
	}
	defer resp.Body.Close()
	buf.Reset()
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return kindTransport, err.Error()
	}
	if k := classify(target, resp.StatusCode, resp.Header, buf.Bytes()); k != "" {
		return k, fmt.Sprintf("%s: %d %.120q", target, resp.StatusCode, buf.Bytes())
	}
	return "", ""
}

// swapper replaces the inputs every swapEvery until ctx ends.
func (s *soak) swapper(ctx context.Context) {
	t := time.NewTicker(s.o.swapEvery)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		step := s.files.step(i)
		if _, err := s.dir.apply(step); err != nil {
			s.current.addBad(kindSwap, err.Error())
			continue
		}
		s.swaps.Add(1)
		if step.good {
			s.good.Add(1)
		}
	}
}

// sampleRSS records the server's largest RSS of each interval, read once
// a second.
func (s *soak) sampleRSS(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if rss, err := s.srv.rss(); err == nil {
			for old := s.rssMax.Load(); rss > old && !s.rssMax.CompareAndSwap(old, rss); old = s.rssMax.Load() {
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// report prints a line per interval until ctx ends, and returns the
// samples. The server's own figures come from its admin listener. The
// last interval is reported when the run ends, unless it is shorter than
// half an interval.
func (s *soak) report(ctx context.Context, start time.Time, stdout io.Writer) []sample {
	printHeader(stdout)
	t := time.NewTicker(s.o.interval)
	defer t.Stop()
	var samples []sample
	last := start
	for {
		select {
		case <-ctx.Done():
			if time.Since(last) < s.o.interval/2 {
				s.total.merge(s.current.take())
				return samples
			}
		case <-s.srv.exited:
			s.total.addBad(kindExited, fmt.Sprintf("the server exited: %v", s.srv.exitErr))
			return samples
		case <-t.C:
		}
		last = time.Now()
		smp := s.sample(time.Since(start))
		s.total.merge(smp.w)
		smp.print(stdout)
		samples = append(samples, smp)
		if ctx.Err() != nil {
			return samples
		}
	}
}

// sample closes the current interval: its window, the largest RSS, and
// the server's goroutines, reloads and snapshot time.
func (s *soak) sample(at time.Duration) sample {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w := s.current.take()
	smp := sample{at: at, w: w, rss: s.rssMax.Swap(0), swaps: int(s.swaps.Load())}
	m, err := s.srv.metrics(ctx)
	if err != nil {
		w.addBad(kindMetrics, err.Error())
		return smp
	}
	smp.goroutines = m["go_goroutines"]
	smp.conns = m["mirrorlist_http_open_connections"]
	smp.heap = m["go_memstats_heap_inuse_bytes"]
	for i, r := range []string{"reloaded", "failed", "refused"} {
		smp.reloads[i] = m[`mirrorlist_reloads_total{result="`+r+`"}`]
	}
	if ts := uint64(m["mirrorlist_snapshot_timestamp_seconds"]); ts != s.files.goodTimes[0] && ts != s.files.goodTimes[1] {
		w.addBad(kindSnapshotTS, "serving a snapshot of time "+strconv.FormatUint(ts, 10))
	}
	if code, err := s.get(ctx, s.srv.base+"/readyz"); err != nil || code != http.StatusOK {
		w.addBad(kindReadiness, fmt.Sprintf("/readyz: %d %v", code, err))
	}
	return smp
}

func (s *soak) get(ctx context.Context, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := s.srv.client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// finish prints the totals and the verdict, and returns an error if the
// soak failed.
func (s *soak) finish(samples []sample, stdout io.Writer) error {
	t := s.total
	swaps, good := int(s.swaps.Load()), int(s.good.Load())
	fmt.Fprintf(stdout, "total: %d requests, errors %s, latency p50 %s ms p99 %s ms p99.9 %s ms max %s ms; %d replacements (%d good, %d bad); %d server error log lines\n",
		t.requests, t.badLine(), ms(t.latency.quantile(0.5)), ms(t.latency.quantile(0.99)), ms(t.latency.quantile(0.999)), ms(t.latency.max),
		swaps, good, swaps-good, s.srv.logs.errorLines())
	if due := uint64(s.o.duration.Seconds() * s.o.rate); t.requests < due*99/100 {
		fmt.Fprintf(stdout, "note: %d of the %d requests due were sent: the generator or the server fell behind\n", t.requests, due)
	}
	failed := verdict(samples, t, good, swaps-good)
	if len(failed) == 0 {
		fmt.Fprintln(stdout, "PASS: no 5xx, no unexpected answer, RSS flat, no goroutine growth, every replacement reloaded or refused")
		return nil
	}
	for _, f := range failed {
		fmt.Fprintln(stdout, "FAIL:", f)
	}
	return fmt.Errorf("soak failed %d criteria", len(failed))
}
