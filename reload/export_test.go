package reload

import (
	"context"
	"testing"
)

// Unpaced makes r's builds run flat out, for the tests of package
// reload_test that make dozens of builds: pacing would only make them
// slower. Call it before Run.
func Unpaced(r *Reloader) { r.unpaced = true }

// StartForTest runs r until the test ends and returns once its first load
// has succeeded, failing the test at once if it did not. The test's
// cleanup stops Run and fails the test if Run returned an error.
func StartForTest(t *testing.T, r *Reloader) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	if _, err := r.First(ctx); err != nil {
		t.Fatalf("first load: %v", err)
	}
}
