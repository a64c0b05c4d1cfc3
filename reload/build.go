package reload

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// ErrChangedWhileRead is the cause of a build abandoned because an input
// file changed while it was read (its size, modification time or inode
// differ before and after). Run retries such a build once the file has
// settled; ReloadNow reports it.
var ErrChangedWhileRead = errors.New("file changed while it was read")

// loaders are the functions that read the four inputs; tests replace them
// to slow a build down.
type loaders struct {
	mirrors    func(context.Context, string) (*snapshot.Mirrors, error)
	geoip      func(context.Context, string) (*snapshot.GeoIP, error)
	routes     func(context.Context, string) (*snapshot.Routes, error)
	continents func(string) (*snapshot.Continents, error)
}

func defaultLoaders() loaders {
	return loaders{
		mirrors:    snapshot.LoadMirrors,
		geoip:      snapshot.LoadGeoIP,
		routes:     snapshot.LoadRoutes,
		continents: snapshot.LoadContinents,
	}
}

// attempt builds a new snapshot from the inputs that changed (every input
// if forced), validates it and publishes it. Run calls it. attempt
// records the published generation but leaves counting, logging and
// OnResult to finish, so that Run can drop a build abandoned for
// ErrChangedWhileRead and retry it.
func (r *Reloader) attempt(ctx context.Context, forced bool) (res Result) {
	res = Result{Forced: forced, Start: time.Now()}
	defer func() { res.Duration = time.Since(res.Start) }()

	cur := r.cfg.Holder.Current()
	pre := r.look()
	todo, sums, err := r.plan(cur, pre, forced)
	res.Rebuilt = todo
	if err != nil {
		return r.failed(res, Failed, err)
	}
	if todo == 0 {
		res.Generation = r.st.Generation
		return res // Unchanged
	}
	bctx, serial := r.paced(ctx, cur)
	next, err := assembleParts(bctx, r.load, r.inputs, cur, todo, serial)
	if err != nil {
		return r.failed(res, Failed, err)
	}
	if err := unchangedSince(r.inputs, todo, pre); err != nil {
		return r.failed(res, Failed, err)
	}
	res.Stats = next.Stats()
	if cur != nil && !r.cfg.AllowShrink {
		if err := checkShrink(cur, next, todo, r.inputs); err != nil {
			return r.failed(res, Refused, err)
		}
	}
	r.publish(next, todo, pre, sums)
	res.Outcome = Reloaded
	res.Generation = r.st.Generation
	return res
}

func (r *Reloader) failed(res Result, o Outcome, err error) Result {
	res.Outcome, res.Err = o, err
	res.Generation = r.st.Generation
	return res
}

// plan returns the parts to rebuild and the content hashes of their files.
// Without force, a part is kept when its file has the identity it had at
// the part's last load, or the same content under a new identity.
func (r *Reloader) plan(cur *snapshot.Snapshot, pre look, forced bool) (Parts, [numInputs]uint64, error) {
	var (
		todo Parts
		sums [numInputs]uint64
	)
	keep := !forced && cur != nil
	for i, in := range r.inputs {
		was := &r.loaded[i]
		if keep && was.known && was.id.same(pre[i]) {
			continue
		}
		sum, err := r.hashFile(in.path)
		if err != nil {
			return 0, sums, &FileError{Part: in.part, Path: in.path, Err: err}
		}
		sums[i] = sum
		if keep && was.known && was.sum == sum && sameSize(was.id, pre[i]) {
			was.id = pre[i] // same bytes under a new inode or time: nothing to rebuild
			continue
		}
		todo |= in.part
	}
	return todo, sums, nil
}

func sameSize(a, b fileID) bool {
	return a.exists() && b.exists() && a.info.Size() == b.info.Size()
}

// assembleParts loads the inputs of the parts in todo with load,
// concurrently unless serial, and joins them with base's other parts
// (base may be nil only when todo is AllParts). It is the one loader
// group of a Reloader's builds and of LoadParts, for the operator's
// tools; snapshot.Load, for tests, reads the four files one after the
// other.
func assembleParts(ctx context.Context, load loaders, inputs [numInputs]input, base *snapshot.Snapshot, todo Parts, serial bool) (*snapshot.Snapshot, error) {
	var (
		m  *snapshot.Mirrors
		g  *snapshot.GeoIP
		rt *snapshot.Routes
		c  *snapshot.Continents
	)
	if base != nil {
		m, g, rt, c = base.Parts()
	}
	eg, ctx := errgroup.WithContext(ctx)
	if serial {
		eg.SetLimit(1)
	}
	loadPart(eg, todo, inputs[0], func(path string) (err error) { m, err = load.mirrors(ctx, path); return err })
	loadPart(eg, todo, inputs[1], func(path string) (err error) { g, err = load.geoip(ctx, path); return err })
	loadPart(eg, todo, inputs[2], func(path string) (err error) { rt, err = load.routes(ctx, path); return err })
	loadPart(eg, todo, inputs[3], func(path string) (err error) { c, err = load.continents(path); return err })
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	return snapshot.Assemble(m, g, rt, c), nil
}

// loadPart runs load for the input in eg if todo includes its part,
// turning its error into a *FileError.
func loadPart(eg *errgroup.Group, todo Parts, in input, load func(path string) error) {
	if !todo.Has(in.part) {
		return
	}
	eg.Go(func() error {
		if err := load(in.path); err != nil {
			return &FileError{Part: in.part, Path: in.path, Err: err}
		}
		return nil
	})
}

// unchangedSince returns a *FileError wrapping ErrChangedWhileRead if an
// input of todo has a different identity now than in pre, before it was
// read: the bytes decoded may then be a mix of two versions, or a version
// that is still being written.
func unchangedSince(inputs [numInputs]input, todo Parts, pre look) error {
	post := lookAt(inputs)
	for i, in := range inputs {
		if todo.Has(in.part) && !post[i].same(pre[i]) {
			return &FileError{Part: in.part, Path: in.path, Err: ErrChangedWhileRead}
		}
	}
	return nil
}

// LoadParts reads the inputs of the parts in todo as a Reloader's build
// reads them, and joins them with base's other parts: each file must be a
// regular file (CheckInput), is read by its part's loader, concurrently
// with the others, and must not change while it is read
// (ErrChangedWhileRead); a failure is a *FileError naming the file. base
// may be nil only when todo is AllParts. LoadParts neither guards against
// shrinking (CheckShrink does) nor publishes: it is for the operator's
// tools, which check files before the server sees them. Only the paths of
// the parts in todo are read.
func LoadParts(ctx context.Context, paths snapshot.Paths, base *snapshot.Snapshot, todo Parts) (*snapshot.Snapshot, error) {
	if base == nil && todo != AllParts {
		return nil, fmt.Errorf("reload: loading %s needs a snapshot for the other parts", todo)
	}
	inputs := inputsOf(paths)
	for _, in := range inputs {
		if !todo.Has(in.part) {
			continue
		}
		if err := CheckInput(in.path); err != nil {
			return nil, &FileError{Part: in.part, Path: in.path, Err: err}
		}
	}
	pre := lookAt(inputs)
	next, err := assembleParts(ctx, defaultLoaders(), inputs, base, todo, false)
	if err != nil {
		return nil, err
	}
	if err := unchangedSince(inputs, todo, pre); err != nil {
		return nil, err
	}
	return next, nil
}

// publish stores next as the served snapshot and remembers the identities
// of the files its new parts were built from.
func (r *Reloader) publish(next *snapshot.Snapshot, todo Parts, pre look, sums [numInputs]uint64) {
	r.cfg.Holder.Store(next)
	for i, in := range r.inputs {
		if todo.Has(in.part) {
			r.loaded[i] = loadedFile{known: true, id: pre[i], sum: sums[i]}
		}
	}
	r.st.Generation++
	r.publishStatus()
}

// finish records a build's result in the status, logs it, counts it and
// passes it to OnResult. An Unchanged result is silent, unless the last
// build had failed: every input is then back to the version served, and
// the failure is cleared.
func (r *Reloader) finish(res Result) {
	if res.Outcome == Unchanged && !r.st.failing() {
		r.log.Debug("inputs unchanged, nothing to reload", zap.Duration("duration", res.Duration))
		return
	}
	was := r.st
	r.record(res)
	switch res.Outcome {
	case Unchanged:
		r.log.Info("inputs match the served snapshot again, the last reload's failure is cleared",
			zap.Uint64("generation", res.Generation), zap.Stringer("cleared", was.LastOutcome),
			zap.Time("failed_at", was.LastErrorTime), zap.String("error", was.LastError))
	default:
		r.logResult(res, r.st, r.collect())
	}
	r.metrics.observe(res)
	if r.cfg.OnResult != nil {
		r.cfg.OnResult(res)
	}
}

// record updates the status with res and publishes it.
func (r *Reloader) record(res Result) {
	st := &r.st
	end := res.Start.Add(res.Duration)
	st.LastBuild, st.LastBuildDuration = res.Start, res.Duration
	st.LastOutcome, st.LastRebuilt = res.Outcome, res.Rebuilt
	switch res.Outcome {
	case Reloaded:
		st.Reloads++
		st.SnapshotTime = res.Stats.Time
		st.LastSuccess = end
	case Failed:
		st.Failures++
	case Refused:
		st.Refusals++
	}
	if res.Err != nil {
		st.LastError, st.LastErrorTime = res.Err.Error(), end
	}
	r.publishStatus()
}

// publishStatus makes the status Run keeps visible to Status.
func (r *Reloader) publishStatus() {
	st := r.st
	r.status.Store(&st)
}

// StatsFields gives a snapshot's counts as log fields, the same in the
// reload lines and in the server's start-up line.
func StatsFields(s snapshot.Stats) []zap.Field {
	return []zap.Field{
		zap.Uint64("snapshot_time", s.Time),
		zap.Int("directories", s.Directories),
		zap.Int("hosts", s.Hosts),
		zap.Int("hcurls", s.HCUrls),
		zap.Int("repo_arches", s.RepoArches),
		zap.Int("routes", s.Routes),
		zap.Int("countries", s.Countries),
		zap.Int("warnings", s.WarningCount),
	}
}

// logResult writes the one log line of a build, with extra fields.
func (r *Reloader) logResult(res Result, st Status, extra ...zap.Field) {
	fields := []zap.Field{
		zap.Uint64("generation", res.Generation),
		zap.String("rebuilt", res.Rebuilt.String()),
		zap.Bool("forced", res.Forced),
		zap.Duration("duration", res.Duration),
		zap.Uint64("reloads", st.Reloads),
		zap.Uint64("failures", st.Failures),
		zap.Uint64("refusals", st.Refusals),
	}
	fields = append(fields, extra...)
	if res.Outcome != Failed {
		fields = append(fields, StatsFields(res.Stats)...)
		if len(res.Stats.Warnings) > 0 {
			fields = append(fields, zap.Strings("warning_samples", res.Stats.Warnings))
		}
	}
	var fe *FileError
	if errors.As(res.Err, &fe) {
		fields = append(fields, zap.String("part", fe.Part.String()), zap.String("file", fe.Path))
	}
	// The message names the outcome as Outcome.String, the metrics'
	// result label and the JSON answers do.
	switch res.Outcome {
	case Reloaded:
		r.log.Info("snapshot reloaded", fields...)
	case Refused:
		r.log.Warn("reload refused, still serving the previous snapshot", append(fields, zap.Error(res.Err))...)
	default:
		r.log.Error("reload failed, still serving the previous snapshot", append(fields, zap.Error(res.Err))...)
	}
}
