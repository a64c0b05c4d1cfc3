// Package reload keeps the served snapshot in step with its four input
// files while the server runs.
//
// A Reloader watches the directories of the inputs, waits until a burst of
// changes has settled, builds a new snapshot off to the side, validates it
// and only then publishes it with one Holder.Store. Whatever goes wrong (a
// file that does not decode, a snapshot that shrank suspiciously, a file
// that changed while it was being read), the snapshot being served stays,
// and the failure is logged, counted and reported to Config.OnResult.
//
// Only the parts whose files changed are rebuilt: a new GeoIP database is
// assembled with the current snapshot's Mirrors, Routes and Continents.
// A forced reload (Trigger, which SIGHUP calls, ReloadNow and the HTTP
// handler) rebuilds every part.
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
//	r, err := reload.New(reload.Config{Paths: paths, Holder: holder, Logger: log})
//	if _, err := r.ReloadNow(ctx); err != nil { ... } // the first load
//	go r.Run(ctx)                                      // watch until ctx ends
//	// on SIGHUP: r.Trigger()
//	// admin listener: mux.Handle("POST /-/reload", r.Handler())
package reload

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// DefaultSettle is the quiet time Config.Settle defaults to.
const DefaultSettle = 2 * time.Second

// Config configures a Reloader.
type Config struct {
	// Paths names the four input files.
	Paths snapshot.Paths

	// Holder publishes the snapshot. After New, the Reloader must be the
	// only writer of the Holder: it assumes the snapshot being served is
	// the one it built last.
	Holder *snapshot.Holder

	// Settle is how long the inputs must be quiet (no event, no change in
	// size or modification time) before a reload starts. Zero means
	// DefaultSettle.
	Settle time.Duration

	// AllowShrink lets a new snapshot with fewer than half the
	// directories or hosts of the current one, or with more than max(5,
	// 1%) of its repositories newly pointing at no directory, be
	// published. Without it, such a snapshot is refused: it is far more
	// likely a truncated or half-generated file than a real change.
	AllowShrink bool

	// Logger receives one line per reload and the watcher's troubles.
	// Nil means no logging.
	Logger *zap.Logger

	// OnResult, if not nil, is called after every build with its result,
	// for metrics. It is called synchronously while no other build can
	// start, so it must be quick and must not call ReloadNow.
	OnResult func(Result)
}

// Reloader rebuilds and republishes the snapshot when its inputs change.
// Its methods are safe for concurrent use.
type Reloader struct {
	cfg    Config
	log    *zap.Logger
	inputs [numInputs]input
	dirs   map[string]map[string]bool // watched directory → names of interest in it
	seed   maphash.Seed
	load   loaders

	// trigger carries Trigger calls to Run; its one-element buffer is what
	// coalesces them.
	trigger chan struct{}

	// build is held while a snapshot is built and published: never two
	// builds at once. Holding it also guards loaded.
	build  chan struct{}
	loaded [numInputs]loadedFile

	mu            sync.Mutex
	status        Status
	forcedStarted uint64 // forced builds started
	lastForced    Result // the result of the last forced build finished
}

// New returns a Reloader for cfg. It reads nothing: call ReloadNow for the
// first load (which also records the files' identities for partial
// reloads) and Run to watch. If cfg.Holder already holds a snapshot, the
// Reloader cannot tell which file versions it came from, and its first
// reload rebuilds every part.
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
		build:   make(chan struct{}, 1),
	}
	paths := [numInputs]string{cfg.Paths.Cache, cfg.Paths.GeoIP, cfg.Paths.Netblocks, cfg.Paths.Continents}
	for i, p := range paths {
		if p == "" {
			return nil, fmt.Errorf("reload: no path for the %s input", partOf(i))
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("reload: %s input %s: %w", partOf(i), p, err)
		}
		r.inputs[i] = input{part: partOf(i), path: abs}
		r.watchName(filepath.Dir(abs), filepath.Base(abs))
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
// starts, or while it runs, coalesce into at most one more. Without a
// running Run, the trigger waits for Run to start. SIGHUP should call it.
func (r *Reloader) Trigger() {
	select {
	case r.trigger <- struct{}{}:
	default: // one is already pending
	}
}

// ReloadNow rebuilds every part at once, without waiting for the inputs to
// settle, and returns the result when it has been published or refused.
// If a build is running, ReloadNow waits for it and then starts one more;
// callers that wait together share that one build. The returned error is
// Result.Err, or ctx's error if ctx ended first.
func (r *Reloader) ReloadNow(ctx context.Context) (Result, error) {
	r.mu.Lock()
	arrived := r.forcedStarted
	r.mu.Unlock()
	if err := r.acquire(ctx); err != nil {
		return Result{}, err
	}
	defer r.release()

	r.mu.Lock()
	if r.lastForced.seq > arrived { // a forced build started after we arrived has finished
		res := r.lastForced
		r.mu.Unlock()
		return res, res.Err
	}
	r.mu.Unlock()

	res := r.attempt(ctx, true)
	if err := ctx.Err(); err != nil && res.Outcome != Reloaded {
		return res, err // abandoned, not a failure of the inputs
	}
	r.finish(res)
	return res, res.Err
}

// acquire takes the build lock, or gives up when ctx ends.
func (r *Reloader) acquire(ctx context.Context) error {
	select {
	case r.build <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *Reloader) release() { <-r.build }

// Status returns a summary of the reloads so far.
func (r *Reloader) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}
