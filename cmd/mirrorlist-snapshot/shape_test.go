package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
)

// TestShapeMatchesFixtures measures the sets as the fixtures package
// measures them from the decoded protobuf: the distinct host lists and
// the mean hosts per directory agree.
func TestShapeMatchesFixtures(t *testing.T) {
	small, err := fixtures.ReadFS(fixtures.Small, "small")
	if err != nil {
		t.Fatal(err)
	}
	small2, err := fixtures.Generate(fixtures.Config{Scale: fixtures.ScaleSmall, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	for name, set := range map[string]*fixtures.Set{"tiny": fixtures.Tiny(), "small": small, "small seed 2": small2} {
		want, err := fixtures.Shape(set.Snapshot)
		if err != nil {
			t.Fatal(err)
		}
		s, err := set.Build(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got := shapeOf(s.Mirrors())
		if got.Directories != want.Directories || got.HCUrls != want.HCUrls ||
			got.HostSets != (hostSets{want.DistinctGlobal, want.DistinctByCountry, want.DistinctByHostID}) ||
			fmt.Sprintf("%.3f %.3f", got.MeanCarriers, got.MeanGlobal) != fmt.Sprintf("%.3f %.3f", want.MeanCarriers, want.MeanGlobal) {
			t.Errorf("%s: shape %+v, fixtures.Shape %+v", name, got, want)
		}
	}
}
