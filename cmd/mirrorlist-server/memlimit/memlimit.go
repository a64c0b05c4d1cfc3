// Package memlimit bounds the server's heap from the size of the snapshot
// it publishes: in steady state close above the live heap, and across a
// reload with room for a second snapshot, so that the collector never
// thrashes while two snapshots are alive.
//
// Without settings the heap grows to GOGC's goal, twice the live heap of
// the last collection: at Fedora's scale that doubles the resident size
// for the sake of the little garbage that requests leave. And a reload
// holds the old snapshot, the new one and the build's scratch at once,
// and the collection that ends there sets a goal of twice all three.
// After every published snapshot the Limiter measures the live heap
// (live, of which snapshot came with the snapshot: live minus the heap
// before the first load) and sets
//
//	GOGC  = 100 × Headroom / live, from 25 to 100 (the default)
//	limit = live + 1.5 × snapshot + Headroom
//
// The first keeps the steady-state goal near live + Headroom: a
// collection more often, each over the same live heap. GOGC's goal grows
// with what is live, so a reload never makes it collect without end; the
// limit then caps that growth. A limit below what a reload needs alive
// would have the collector run flat out, taking the processor from the
// requests and the build, while both snapshots are alive, so it leaves
// room for a second snapshot and its build's scratch, about half a
// snapshot. The GOGC and GOMEMLIMIT environment variables,
// when set, win.
package memlimit

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Headroom is what the heap may grow above the live heap between two
// collections in steady state, and the margin of the limit.
const Headroom = 32 << 20

// Mode says where the limit comes from.
type Mode uint8

const (
	// Auto derives the limit from the published snapshot, recomputed
	// after every reload.
	Auto Mode = iota
	// Fixed sets Config.Bytes once.
	Fixed
	// Off leaves the runtime without a limit (or with GOMEMLIMIT's).
	Off
)

// Config configures a Limiter.
type Config struct {
	Mode  Mode
	Bytes int64 // the limit of Fixed

	// GOMEMLIMIT and GOGC are the environment variables' values: when
	// one is set the runtime already applies it, and an Auto limiter
	// leaves that setting be.
	GOMEMLIMIT string
	GOGC       string

	Logger     *zap.Logger           // nil: no logging
	Registerer prometheus.Registerer // nil: no metrics
}

// Limiter keeps the runtime's memory limit in line with the published
// snapshot. Call Published after every build that published one.
type Limiter struct {
	mode     Mode
	tuneGC   bool // Auto without GOGC in the environment
	log      *zap.Logger
	baseline uint64 // live heap before the first snapshot

	live      prometheus.Gauge
	snapshot  prometheus.Gauge
	limit     prometheus.Gauge
	gcPercent prometheus.Gauge
}

// New returns a Limiter for cfg, applying a Fixed or Off limit at once.
// Call it before the first load: it records the heap without a snapshot.
func New(cfg Config) (*Limiter, error) {
	l := &Limiter{mode: cfg.Mode, tuneGC: cfg.Mode == Auto && cfg.GOGC == "", log: cfg.Logger}
	if l.log == nil {
		l.log = zap.NewNop()
	}
	if cfg.Mode == Auto && cfg.GOMEMLIMIT != "" {
		l.mode = Off
		l.log.Info("memory limit from GOMEMLIMIT", zap.String("GOMEMLIMIT", cfg.GOMEMLIMIT))
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "mirrorlist", Name: name, Help: help})
	}
	l.live = gauge("heap_live_bytes", "Live heap after the collection that followed the last published snapshot.")
	l.snapshot = gauge("snapshot_live_bytes", "The part of that live heap that came with the snapshot (live heap minus the heap before the first load).")
	l.limit = gauge("memory_limit_bytes", "The Go runtime's soft memory limit (+Inf: none): derived from the snapshot, --memory-limit, or GOMEMLIMIT.")
	l.gcPercent = gauge("gc_percent", "The collector's GOGC setting in effect (derived from the snapshot unless GOGC is set or --memory-limit is not auto).")
	if cfg.Registerer != nil {
		var errs []error
		for _, c := range []prometheus.Collector{l.live, l.snapshot, l.limit, l.gcPercent} {
			errs = append(errs, cfg.Registerer.Register(c))
		}
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("registering memory metrics: %w", err)
		}
	}
	switch {
	case cfg.Mode == Fixed:
		if cfg.Bytes <= 0 {
			return nil, fmt.Errorf("memory limit %d: want a positive size", cfg.Bytes)
		}
		debug.SetMemoryLimit(cfg.Bytes)
	case cfg.Mode == Off && cfg.GOMEMLIMIT == "":
		debug.SetMemoryLimit(math.MaxInt64)
	}
	runtime.GC()
	l.baseline = liveHeap()
	l.limit.Set(currentLimit())
	l.gcPercent.Set(float64(currentGCPercent()))
	return l, nil
}

// Published measures the live heap with the snapshot published at
// publishedAt and, in Auto mode, sets GOGC and the limit from it. The
// measure must hold no garbage and no previous snapshot: unless a
// collection ended after publishedAt (the reloader releases memory after
// every build), it collects first, once, concurrently with the requests.
// The reloader's goroutine, which owns every build, is its one caller
// (through reload.Config.OnResult); it is not for concurrent use.
func (l *Limiter) Published(publishedAt time.Time) {
	var gc debug.GCStats
	debug.ReadGCStats(&gc)
	if publishedAt.IsZero() || !gc.LastGC.After(publishedAt) {
		runtime.GC()
	}
	live := liveHeap()
	snap := live - min(live, l.baseline)
	l.live.Set(float64(live))
	l.snapshot.Set(float64(snap))
	if l.tuneGC {
		p := GCPercent(live)
		debug.SetGCPercent(p)
		l.gcPercent.Set(float64(p))
	}
	if l.mode == Auto {
		limit := Limit(live, snap)
		debug.SetMemoryLimit(limit)
		l.log.Info("memory limit set", zap.Uint64("live_heap", live), zap.Uint64("snapshot_heap", snap),
			zap.Int64("limit", limit), zap.Bool("gc_percent_set", l.tuneGC))
	}
	l.limit.Set(currentLimit())
}

// GCPercent is the Auto GOGC for a live heap of live bytes: the heap may
// grow by Headroom between collections, by a quarter of live at least,
// and by no more than the default's doubling.
func GCPercent(live uint64) int {
	if live == 0 {
		return 100
	}
	return int(min(100, max(25, 100*Headroom/live)))
}

// currentGCPercent returns the collector's GOGC setting (setting it back
// at once; only New calls it, before the first load).
func currentGCPercent() int {
	v := debug.SetGCPercent(100)
	debug.SetGCPercent(v)
	return v
}

// Limit is the Auto limit for a live heap of live bytes of which snapshot
// came with the snapshot: room for a second snapshot and its build's
// scratch (which peaks at about half a snapshot) above the live heap.
func Limit(live, snapshot uint64) int64 {
	return int64(live + snapshot + snapshot/2 + Headroom)
}

// liveHeap returns the heap marked live by the last collection.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// currentLimit returns the runtime's limit as a gauge value.
func currentLimit() float64 {
	v := debug.SetMemoryLimit(-1)
	if v == math.MaxInt64 {
		return math.Inf(1)
	}
	return float64(v)
}

// ParseFlag parses the --memory-limit value: "auto", "off", or a size in
// bytes with an optional unit B, KiB, MiB, GiB, TiB (as GOMEMLIMIT
// accepts them) or KB, MB, GB, TB (powers of 1000).
func ParseFlag(s string) (Mode, int64, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "auto", "":
		return Auto, 0, nil
	case "off", "none":
		return Off, 0, nil
	}
	n, err := parseSize(strings.TrimSpace(s))
	if err != nil {
		return 0, 0, fmt.Errorf("memory limit %q: %w (want auto, off, or a size such as 300MiB)", s, err)
	}
	return Fixed, n, nil
}

func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
	}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, errors.New("not a whole number of bytes")
	}
	if n <= 0 {
		return 0, errors.New("not positive")
	}
	if n > math.MaxInt64/mult {
		return 0, errors.New("too large")
	}
	return n * mult, nil
}
