package reload

import "time"

// buildShare is the share of the server's processors that a build after
// the first may take while requests are being answered.
const buildShare = 0.25

// paceSlice is how long a paced build works between two pauses: short, so
// that a request that arrives while it works waits little.
const paceSlice = time.Millisecond

// buildDuty returns the share of one processor that a paced build's one
// goroutine may take on procs processors: buildShare of all of them, so that on four
// processors or more it works without pauses (and still takes no more
// than a quarter of the machine, since a paced build's loaders run one
// after the other).
func buildDuty(procs int) float64 { return buildShare * float64(procs) }

// pacer spreads a build over time so that the requests get the
// processor: after every slice of work, the build sleeps for as long as
// keeps its duty. It measures the work it pauses for rather than
// trusting the slice, since a loader reaches its next checkpoint late
// when a step is long, when it was preempted, or when the collector had
// it assist; pausing in proportion keeps the build's share whatever the
// slices were.
//
// Yielding without sleeping would not do: a goroutine that yields goes
// back to the run queue, which the scheduler serves before it polls the
// network, so requests that arrived meanwhile would wait for the next
// preemption all the same. A sleep lets the processor idle, and the
// scheduler then polls the network and runs them.
//
// A pacer has one caller at a time: a paced build runs its loaders one
// after the other.
type pacer struct {
	slice time.Duration
	rest  float64             // pause per unit of work
	now   func() time.Time    // time.Now but in tests
	sleep func(time.Duration) // time.Sleep but in tests

	resumed time.Time // when the current slice of work began
}

// newPacer returns a pacer that works in slices of slice and keeps to
// duty, the share of the time it may work (0 < duty < 1).
func newPacer(slice time.Duration, duty float64) *pacer {
	return &pacer{slice: slice, rest: (1 - duty) / duty, now: time.Now, sleep: time.Sleep, resumed: time.Now()}
}

// wait is the loaders' pause (snapshot.WithPause): once a slice's worth
// of work is done, it sleeps for rest times the work.
func (p *pacer) wait() {
	worked := p.now().Sub(p.resumed)
	if worked < p.slice {
		return
	}
	p.sleep(time.Duration(float64(worked) * p.rest))
	p.resumed = p.now()
}
