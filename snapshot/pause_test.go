package snapshot_test

import (
	"context"
	"errors"
	"testing"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// TestPause checks that the long loaders call the pause of their context
// as they go, and that a pause that ends the context stops them.
func TestPause(t *testing.T) {
	set, err := fixtures.ReadFS(fixtures.Small, "small")
	if err != nil {
		t.Fatal(err)
	}
	loaders := []struct {
		name string
		load func(context.Context) error
		min  int // pauses at least: the small set has 685 directories and 2020 route lines
	}{
		{"BuildMirrors", func(ctx context.Context) error { _, err := snapshot.BuildMirrors(ctx, set.Snapshot); return err }, 685 / 16},
		{"ParseRoutes", func(ctx context.Context) error { _, err := snapshot.ParseRoutes(ctx, set.Routes); return err }, 2},
		{"ParseGeoIP", func(ctx context.Context) error { _, err := snapshot.ParseGeoIP(ctx, set.GeoIP); return err }, 1},
	}
	for _, l := range loaders {
		pauses := 0
		if err := l.load(snapshot.WithPause(context.Background(), func() { pauses++ })); err != nil {
			t.Fatalf("%s: %v", l.name, err)
		}
		if pauses < l.min {
			t.Errorf("%s paused %d times, want %d or more", l.name, pauses, l.min)
		}
		ctx, cancel := context.WithCancel(context.Background())
		err := l.load(snapshot.WithPause(ctx, cancel))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a pause that cancels: %v, want context.Canceled", l.name, err)
		}
	}
}
