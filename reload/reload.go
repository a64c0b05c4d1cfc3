// Package reload keeps the served snapshot in step with its four input
// files while the server runs.
//
// One goroutine, Run, owns every build: it makes the first load, watches
// the directories of the inputs, waits until a burst of changes has
// settled, builds a new snapshot off to the side, validates it and only
// then publishes it with one Holder.Store. The other ways to ask for a
// reload (Trigger, which SIGHUP calls, ReloadNow and the POST /-/reload
// handler) send requests to Run; none of them builds. Whatever goes wrong
// (a file that does not decode, an input that shrank suspiciously, a file
// that changed while it was being read), the snapshot being served stays,
// and the failure is logged, counted and reported to Config.OnResult.
// When every input is back to the version being served (an operator put
// the old file back), the failure is cleared.
//
// Only the parts whose files changed are rebuilt: a new GeoIP database is
// assembled with the current snapshot's Mirrors, Routes and Continents.
// A forced reload (Trigger, ReloadNow and the HTTP handler) rebuilds
// every part. Builds after the first are paced (see buildShare), so that
// one made while the server is busy leaves the processor to the requests.
//
// What it cannot see: a change to the target of a symlink that points into
// another directory (only the inputs' own directories are watched; SIGHUP
// covers that case), and a protobuf cut exactly at a message boundary that
// still holds at least half the directories and hosts and loses only
// directories that no repository points at (or no more than max(5, 1%) of
// them): such a file decodes cleanly, and is only refused if it is caught
// while still being written (by settling, or by the identity check after
// the read).
//
// Typical wiring:
//
//	r, err := reload.New(reload.Config{Paths: paths, Holder: holder, Logger: log, Registerer: reg})
//	go r.Run(ctx)                                // loads, then watches until ctx ends
//	if _, err := r.First(ctx); err != nil { ... } // the first load failed
//	// on SIGHUP: r.Trigger()
//	// admin listener: mux.Handle("POST /-/reload", r.Handler())
package reload

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// DefaultSettle is the quiet time Config.Settle defaults to.
const DefaultSettle = 2 * time.Second

// ErrStopped is what ReloadNow and First return once Run has ended (or
// never ran and ended at once): nobody is left to build.
var ErrStopped = errors.New("reload: the reloader is not running")

// Config configures a Reloader.
type Config struct {
	// Paths names the four input files.
	Paths snapshot.Paths

	// Holder publishes the snapshot. The Reloader must be its only
	// writer: it assumes the snapshot being served is the one it built
	// last.
	Holder *snapshot.Holder

	// Settle is how long the inputs must be quiet (no event, no change in
	// size or modification time) before a reload starts. Zero means
	// DefaultSettle.
	Settle time.Duration

	// AllowShrink lets an input that shrank suspiciously be published.
	// Without it, a new snapshot is refused when, against the one being
	// served, it has fewer than half the directories or hosts, more than
	// max(5, 1%) of its repositories newly pointing at no directory, fewer
	// than half the routes, the GeoIP networks or the countries with a
	// continent: such a file is far more likely truncated or
	// half-generated than a real change.
	AllowShrink bool

	// Logger receives one line per reload and the watcher's troubles.
	// Nil means no logging.
	Logger *zap.Logger

	// Registerer, if not nil, gets the reload metrics (NewMetrics).
	Registerer prometheus.Registerer

	// OnResult, if not nil, is called after every build with its result,
	// and after a failure is cleared (Outcome Unchanged). It is called
	// by Run, so it must be quick and must not wait for a reload.
	OnResult func(Result)
}

// Reloader rebuilds and republishes the snapshot when its inputs change.
// Its methods are safe for concurrent use; Run must be called once.
type Reloader struct {
	cfg     Config
	log     *zap.Logger
	metrics *Metrics // nil without Config.Registerer
	inputs  [numInputs]input
	dirs    map[string]map[string]bool // watched directory → names of interest in it
	seed    maphash.Seed
	load    loaders
	unpaced bool // builds run flat out: for tests that make many

	// The requests to Run. trigger's one-element buffer is what
	// coalesces Triggers; a ReloadNow waits in now until Run takes it.
	trigger chan struct{}
	now     chan chan<- Result

	// status is the summary Run publishes after every build, for
	// readers that must not wait for a build to end (/readyz).
	status atomic.Pointer[Status]

	// first is closed once the first load has been published, or Run
	// has given up on it; firstRes is then its result.
	first    chan struct{}
	firstRes Result
	// stopped is closed when Run returns.
	stopped chan struct{}
	running atomic.Bool

	// Owned by Run: the versions of the files the served parts were
	// built from, and the status being kept.
	loaded [numInputs]loadedFile
	st     Status
}

// New returns a Reloader for cfg. It reads nothing: Run makes the first
// load.
func New(cfg Config) (*Reloader, error) {
	if cfg.Holder == nil {
		return nil, errors.New("reload: Config.Holder is nil")
	}
	if cfg.Settle <= 0 {
		cfg.Settle = DefaultSettle
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	r := &Reloader{
		cfg:     cfg,
		log:     log,
		dirs:    make(map[string]map[string]bool),
		seed:    maphash.MakeSeed(),
		load:    defaultLoaders(),
		trigger: make(chan struct{}, 1),
		now:     make(chan chan<- Result),
		first:   make(chan struct{}),
		stopped: make(chan struct{}),
	}
	r.status.Store(new(Status))
	for i, in := range inputsOf(cfg.Paths) {
		if in.path == "" {
			return nil, fmt.Errorf("reload: no path for the %s input", in.part)
		}
		abs, err := filepath.Abs(in.path)
		if err != nil {
			return nil, fmt.Errorf("reload: %s input %s: %w", in.part, in.path, err)
		}
		r.inputs[i] = input{part: in.part, path: abs}
		r.watchName(filepath.Dir(abs), filepath.Base(abs))
	}
	if cfg.Registerer != nil {
		m, err := NewMetrics(cfg.Registerer)
		if err != nil {
			return nil, err
		}
		r.metrics = m
	}
	return r, nil
}

// watchName records that events for name in dir concern an input. The
// directory's "..data" entry is of interest too: Kubernetes mounts
// ConfigMaps and volumes as symlinks name -> ..data/name and replaces them
// all at once by renaming a new ..data symlink over the old one, an event
// that names none of the files.
func (r *Reloader) watchName(dir, name string) {
	names := r.dirs[dir]
	if names == nil {
		names = map[string]bool{k8sDataLink: true}
		r.dirs[dir] = names
	}
	names[name] = true
}

// k8sDataLink is the symlink Kubernetes flips to update a mounted volume.
const k8sDataLink = "..data"

// Trigger asks Run for a forced reload of every part once the inputs have
// settled, and returns at once. Triggers that arrive before that reload
// starts, or while it runs, coalesce into at most one more. Before Run
// starts, the trigger waits for it. SIGHUP should call it.
func (r *Reloader) Trigger() {
	select {
	case r.trigger <- struct{}{}:
	default: // one is already pending
	}
}

// ReloadNow asks Run to rebuild every part at once, without waiting for
// the inputs to settle, and returns the result when it has been
// published or refused. If a build is running, the request waits for it
// and then gets one more; requests that wait together share that one
// build. The returned error is Result.Err, ctx's error if ctx ended
// first (the build goes on), or ErrStopped if Run is not running.
func (r *Reloader) ReloadNow(ctx context.Context) (Result, error) {
	reply := make(chan Result, 1) // Run never waits for a caller that left
	select {
	case r.now <- reply:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	case <-r.stopped:
		return Result{}, ErrStopped
	}
	select {
	case res := <-reply:
		return res, res.Err
	case <-ctx.Done():
		return Result{}, ctx.Err()
	case <-r.stopped:
		return Result{}, ErrStopped
	}
}

// First waits for Run's first load and returns its result: the error is
// Result.Err if the load failed (Run then returns it too), ErrStopped if
// Run ended before, or ctx's error.
func (r *Reloader) First(ctx context.Context) (Result, error) {
	select {
	case <-r.first:
		return r.firstRes, r.firstRes.Err
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// Status returns a summary of the reloads so far. It never waits for a
// build.
func (r *Reloader) Status() Status { return *r.status.Load() }
