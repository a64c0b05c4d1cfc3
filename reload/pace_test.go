package reload

import (
	"testing"
	"time"
)

// TestPacer walks a pacer through a fake clock: no sleep during a slice;
// once it is over, a pause; a loader arriving during the pause sleeps
// until its end; then the next slice.
func TestPacer(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	clock := t0
	var slept []time.Duration
	p := &pacer{slice: 2 * time.Millisecond, pause: 3 * time.Millisecond, sliceEnd: t0.Add(2 * time.Millisecond),
		now: func() time.Time { return clock }, sleep: func(d time.Duration) { slept = append(slept, d) }}
	steps := []struct {
		at    time.Duration // since t0
		sleep time.Duration // 0: none
	}{
		{0, 0},
		{1900 * time.Microsecond, 0}, // still in the first slice
		{2 * time.Millisecond, 3 * time.Millisecond},  // the slice is over: a whole pause
		{3 * time.Millisecond, 2 * time.Millisecond},  // a second loader, in the pause: to its end
		{5 * time.Millisecond, 0},                     // the pause is over: the next slice
		{6900 * time.Microsecond, 0},                  // still in it
		{8 * time.Millisecond, 3 * time.Millisecond},  // late for the end of the slice: a whole pause from now
		{20 * time.Millisecond, 3 * time.Millisecond}, // long after: the same
		{23500 * time.Microsecond, 0},                 // in the slice after it
	}
	for i, st := range steps {
		clock = t0.Add(st.at)
		slept = nil
		p.wait()
		var got time.Duration
		if len(slept) > 0 {
			got = slept[0]
		}
		if len(slept) > 1 || got != st.sleep {
			t.Errorf("step %d at %v: slept %v, want %v", i, st.at, slept, st.sleep)
		}
	}
}
