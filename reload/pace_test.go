package reload

import (
	"testing"
	"time"
)

// TestPacer walks a pacer through a fake clock: no sleep within a slice;
// once a slice's worth of work is done, a pause three times the work at
// a duty of a quarter, however far the work overran the slice.
func TestPacer(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	clock := t0
	var slept []time.Duration
	p := newPacer(time.Millisecond, 0.25)
	p.now = func() time.Time { return clock }
	p.sleep = func(d time.Duration) { slept = append(slept, d); clock = clock.Add(d) }
	p.resumed = t0
	steps := []struct {
		work  time.Duration // since the last call
		sleep time.Duration // 0: none
	}{
		{0, 0},
		{900 * time.Microsecond, 0}, // still in the first slice
		{100 * time.Microsecond, 3 * time.Millisecond},   // a slice's worth: three times it
		{500 * time.Microsecond, 0},                      // the next slice
		{3500 * time.Microsecond, 12 * time.Millisecond}, // a long step: 4 ms of work, 12 of pause
		{999 * time.Microsecond, 0},
		{time.Microsecond, 3 * time.Millisecond},
	}
	var worked, paused time.Duration
	for i, st := range steps {
		clock = clock.Add(st.work)
		worked += st.work
		slept = nil
		p.wait()
		var got time.Duration
		if len(slept) > 0 {
			got = slept[0]
		}
		paused += got
		if len(slept) > 1 || got != st.sleep {
			t.Errorf("step %d after %v of work: slept %v, want %v", i, st.work, slept, st.sleep)
		}
	}
	if paused != 3*worked {
		t.Errorf("worked %v, paused %v: want three times the work", worked, paused)
	}
}

// TestBuildDuty: a quarter of the machine, so a paced build's one
// goroutine takes a quarter of one processor, half of one of two, and a
// whole one (no pauses) from four.
func TestBuildDuty(t *testing.T) {
	for procs, want := range map[int]float64{1: 0.25, 2: 0.5, 4: 1, 8: 2} {
		if got := buildDuty(procs); got != want {
			t.Errorf("%d processors: duty %v, want %v", procs, got, want)
		}
	}
}
