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

// Run makes the first load, then watches the inputs and answers Trigger
// and ReloadNow until ctx ends; it is the one goroutine that builds. It
// returns nil when ctx ends, or the first load's error at once if that
// load fails (First returns it too). Call it once.
//
// Run watches the inputs' directories, not the files: rsync and mv replace
// a file's inode, and a watch on the old inode would go silent. Events for
// other names in those directories are ignored, except a Kubernetes
// "..data" symlink flip. The watches are set up before the first load, so
// that a change made during it is seen. If they cannot be set up, Run
// logs it and goes on without: Trigger and ReloadNow still reload.
//
// A burst of events becomes one reload once the inputs have been quiet for
// Config.Settle: no relevant event, and no input's size, modification time
// or inode changed between the last event and the end of the interval.
// Events, triggers and ReloadNow requests that arrive during a build wait
// (in the watcher, in the trigger channel, which holds one, and in
// ReloadNow); after it, the events and triggers start one more settle
// interval and at most one more build, and the ReloadNow requests waiting
// share one more build.
//
// An input that is missing once the others have settled is waited for
// (rsync --delay-updates, a delete-then-copy): it is logged, not counted as
// a failure, and its reappearance is an event like any other.
func (r *Reloader) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("reload: Run called twice")
	}
	defer close(r.stopped)
	w := r.watch()
	defer w.close()
	s := newSettler(r.cfg.Settle)
	defer s.timer.Stop()

	if err := r.firstLoad(ctx); err != nil || ctx.Err() != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.events:
			if !ok {
				w.events = nil
				continue
			}
			if r.relevant(ev) {
				r.log.Debug("input event", zap.Stringer("event", ev))
				s.poke(r.look())
			}
		case err, ok := <-w.errors:
			if !ok {
				w.errors = nil
				continue
			}
			r.watchError(err, s)
		case <-r.trigger:
			s.forced = true
			s.poke(r.look())
		case reply := <-r.now:
			r.reloadNow(ctx, reply)
		case <-s.timer.C:
			r.settled(ctx, s)
		}
	}
}

// firstLoad builds every part and publishes the result. A build that
// read a file while it changed is retried once the inputs have been quiet
// for the settle time; any other failure is returned. Either way First
// learns the result, unless ctx ends first.
func (r *Reloader) firstLoad(ctx context.Context) error {
	defer func() {
		select {
		case <-r.first:
		default: // given up on: ctx ended
			r.firstRes = Result{Err: ErrStopped}
			close(r.first)
		}
	}()
	for {
		res := r.attempt(ctx, true)
		if ctx.Err() != nil && res.Outcome != Reloaded {
			return nil // shutting down: not a failure of the inputs
		}
		if errors.Is(res.Err, ErrChangedWhileRead) {
			r.log.Info("an input changed during the first load, loading again once it has settled", zap.Error(res.Err))
			if !sleep(ctx, r.cfg.Settle) {
				return nil
			}
			continue
		}
		r.finish(res)
		r.firstRes = res
		close(r.first)
		return res.Err
	}
}

// reloadNow answers a ReloadNow request, and every other one waiting
// already, with one forced build.
func (r *Reloader) reloadNow(ctx context.Context, reply chan<- Result) {
	replies := []chan<- Result{reply}
	for more := true; more; {
		select {
		case c := <-r.now:
			replies = append(replies, c)
		default:
			more = false
		}
	}
	res := r.attempt(ctx, true)
	if ctx.Err() != nil && res.Outcome != Reloaded {
		return // shutting down: the callers learn ErrStopped
	}
	r.finish(res)
	for _, c := range replies {
		c <- res
	}
}

// watcher is the fsnotify watcher of the inputs' directories, or nothing
// (nil channels) if it could not be set up.
type watcher struct {
	w      *fsnotify.Watcher
	events chan fsnotify.Event
	errors chan error
}

// watch sets up the watches, or logs why it cannot.
func (r *Reloader) watch() *watcher {
	w, err := fsnotify.NewWatcher()
	if err == nil {
		for dir := range r.dirs {
			if err = w.Add(dir); err != nil {
				err = fmt.Errorf("watch %s: %w", dir, err)
				break
			}
		}
	}
	if err != nil {
		r.log.Error("not watching the input files: SIGHUP and POST /-/reload still reload them", zap.Error(err))
		if w != nil {
			w.Close()
		}
		return &watcher{}
	}
	return &watcher{w: w, events: w.Events, errors: w.Errors}
}

func (w *watcher) close() {
	if w.w != nil {
		w.w.Close()
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

// sleep waits for d, or returns false when ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
