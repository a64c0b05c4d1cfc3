package reload

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMetrics feeds results in order and checks the reload series after
// each.
func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Unix(1_800_000_000, 0)
	steps := []struct {
		res                          Result
		reloaded, failed, refused    float64
		successful, generation       float64
		successTime, failTime, build float64
	}{
		{Result{Outcome: Reloaded, Generation: 1, Start: start, Duration: time.Second},
			1, 0, 0, 1, 1, 1_800_000_001, 0, 1},
		{Result{Outcome: Failed, Generation: 1, Start: start.Add(time.Minute), Err: errors.New("bad")},
			1, 1, 0, 0, 1, 1_800_000_001, 1_800_000_060, 1},
		{Result{Outcome: Unchanged, Generation: 1, Start: start.Add(90 * time.Second)}, // the old file put back
			1, 1, 0, 1, 1, 1_800_000_001, 1_800_000_060, 1},
		{Result{Outcome: Reloaded, Generation: 2, Start: start.Add(2 * time.Minute), Duration: 2 * time.Second},
			2, 1, 0, 1, 2, 1_800_000_122, 1_800_000_060, 2},
		{Result{Outcome: Refused, Generation: 2, Start: start.Add(3 * time.Minute), Err: errors.New("shrunk")},
			2, 1, 1, 0, 2, 1_800_000_122, 1_800_000_180, 2},
	}
	for i, st := range steps {
		m.observe(st.res)
		for _, c := range []struct {
			name      string
			got, want float64
		}{
			{"reloads_total{result=reloaded}", testutil.ToFloat64(m.builds[Reloaded]), st.reloaded},
			{"reloads_total{result=failed}", testutil.ToFloat64(m.builds[Failed]), st.failed},
			{"reloads_total{result=refused}", testutil.ToFloat64(m.builds[Refused]), st.refused},
			{"last_reload_successful", testutil.ToFloat64(m.lastSuccessful), st.successful},
			{"snapshot_generation", testutil.ToFloat64(m.generation), st.generation},
			{"last_reload_success_timestamp_seconds", testutil.ToFloat64(m.lastSuccessTime), st.successTime},
			{"last_reload_failure_timestamp_seconds", testutil.ToFloat64(m.lastFailureTime), st.failTime},
			{"snapshot_load_duration_seconds", testutil.ToFloat64(m.loadDuration), st.build},
		} {
			if c.got != c.want {
				t.Errorf("step %d (%v): mirrorlist_%s = %v, want %v", i, st.res.Outcome, c.name, c.got, c.want)
			}
		}
	}
	// The exposition: one result label value per outcome that is a
	// build, named as Outcome.String names it.
	want := `
# HELP mirrorlist_reloads_total Snapshot builds, the first load included, by result: reloaded (published), failed (an input was bad), refused (shrink guard).
# TYPE mirrorlist_reloads_total counter
mirrorlist_reloads_total{result="failed"} 1
mirrorlist_reloads_total{result="refused"} 1
mirrorlist_reloads_total{result="reloaded"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "mirrorlist_reloads_total"); err != nil {
		t.Error(err)
	}
	if _, err := NewMetrics(reg); err == nil {
		t.Error("registering the reload metrics twice: no error")
	}
}

func TestNilMetrics(t *testing.T) {
	var m *Metrics
	m.observe(Result{Outcome: Reloaded}) // records nothing, and does not panic
}
