package snapshot

import "context"

// WithPause returns a copy of ctx that makes the long loaders
// (LoadMirrors, LoadRoutes and their Build and Parse forms) call pause
// every little while: every few directory records, every thousand routes.
// A reloader passes one that sleeps now and then, so that a build made
// while the server answers leaves the processor to the requests. Loaders
// running concurrently call pause concurrently.
func WithPause(ctx context.Context, pause func()) context.Context {
	return context.WithValue(ctx, pauseKey{}, pause)
}

type pauseKey struct{}

// checkpoint is where a long loader stops when ctx has ended, and pauses
// if ctx asks it to.
func checkpoint(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if pause, ok := ctx.Value(pauseKey{}).(func()); ok {
		pause()
		return ctx.Err() // a build canceled during its pause stops now
	}
	return nil
}
