package reload

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// Run watches the inputs and reloads when they change, until ctx ends. It
// returns nil then, or an error at once if the watches cannot be set up.
//
// Run watches the inputs' directories, not the files: rsync and mv replace
// a file's inode, and a watch on the old inode would go silent. Events for
// other names in those directories are ignored, except a Kubernetes
// "..data" symlink flip.
//
// A burst of events becomes one reload once the inputs have been quiet for
// Config.Settle: no relevant event, and no input's size, modification time
// or inode changed between the last event and the end of the interval.
// Run builds in the goroutine that called it, one build at a time: events
// and triggers that arrive during a build wait in the watcher and in the
// trigger channel (which holds one), and after it they start one more
// settle interval and at most one more build.
//
// An input that is missing once the others have settled is waited for
// (rsync --delay-updates, a delete-then-copy): it is logged, not counted as
// a failure, and its reappearance is an event like any other.
//
// Right after the watches are set up, Run checks the inputs once, which
// picks up a change made between the first load and the start of Run.
func (r *Reloader) Run(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	defer w.Close()
	for dir := range r.dirs {
		if err := w.Add(dir); err != nil {
			return fmt.Errorf("reload: watch %s: %w", dir, err)
		}
	}

	s := newSettler(r.cfg.Settle)
	defer s.timer.Stop()
	s.poke(r.look())
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if r.relevant(ev) {
				r.log.Debug("input event", zap.Stringer("event", ev))
				s.poke(r.look())
			}
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			r.watchError(err, s)
		case <-r.trigger:
			s.forced = true
			s.poke(r.look())
		case <-s.timer.C:
			r.settled(ctx, s)
		}
	}
}

// relevant reports whether ev concerns an input file.
func (r *Reloader) relevant(ev fsnotify.Event) bool {
	dir, name := filepath.Split(ev.Name)
	return r.dirs[filepath.Clean(dir)][name]
}

// watchError logs a watcher error. Lost events (a queue overflow) may have
// been about the inputs, so they count as a change.
func (r *Reloader) watchError(err error, s *settler) {
	if errors.Is(err, fsnotify.ErrEventOverflow) {
		r.log.Warn("file events lost, checking the inputs", zap.Error(err))
		s.poke(r.look())
		return
	}
	r.log.Error("watching the inputs", zap.Error(err))
}

// settler turns a burst of events into one build. Every event restarts
// its timer and records the inputs' identities; when the timer fires, the
// inputs are examined again, and only if nothing changed in between are
// they taken to be complete.
type settler struct {
	settle time.Duration
	timer  *time.Timer
	last   look // the inputs at the last event or check
	forced bool // a Trigger is pending
}

func newSettler(d time.Duration) *settler {
	t := time.NewTimer(d)
	t.Stop()
	return &settler{settle: d, timer: t}
}

// poke records the inputs as they are now and (re)starts the interval.
func (s *settler) poke(now look) {
	s.last = now
	s.timer.Reset(s.settle)
}

// settled runs when the settle interval has passed without an event. It
// builds if the inputs are stable, and otherwise waits another interval.
func (r *Reloader) settled(ctx context.Context, s *settler) {
	now := r.look()
	if !now.same(s.last) {
		s.poke(now) // written to without an event reaching us yet: still busy
		return
	}
	if missing := r.missing(now); missing != "" && !s.forced {
		// Briefly absent while being replaced, or removed for good: its
		// return will be an event. A forced reload goes on and fails,
		// naming the file.
		r.log.Warn("input missing, waiting for it to reappear", zap.String("file", missing))
		return
	}
	if r.acquire(ctx) != nil {
		return
	}
	defer r.release()
	res := r.attempt(ctx, s.forced)
	if ctx.Err() != nil && res.Outcome != Reloaded {
		return // shutting down: not a failure of the inputs
	}
	if errors.Is(res.Err, ErrChangedWhileRead) {
		r.log.Debug("input changed during the build, waiting for it to settle", zap.Error(res.Err))
		s.poke(r.look())
		return
	}
	s.forced = false
	r.finish(res)
}

// missing returns the first input in l that does not exist, or "".
func (r *Reloader) missing(l look) string {
	for i, id := range l {
		if !id.exists() {
			return r.inputs[i].path
		}
	}
	return ""
}
