package reload

import (
	"sync"
	"time"
)

// pacer spreads a build over time so that the requests get the
// processor: after every slice of work, every loader sleeps for pause.
// Yielding without sleeping would not do: a goroutine that yields goes
// back to the run queue, which the scheduler serves before it polls the
// network, so requests that arrived meanwhile would wait for the next
// preemption all the same. A sleep lets the processor idle, and the
// scheduler then polls the network and runs them.
type pacer struct {
	slice, pause time.Duration
	now          func() time.Time    // time.Now but in tests
	sleep        func(time.Duration) // time.Sleep but in tests

	mu       sync.Mutex // the loaders of one build run concurrently
	resume   time.Time  // the end of the current pause
	sliceEnd time.Time  // the end of the slice after it
}

func newPacer(slice, pause time.Duration) *pacer {
	return &pacer{slice: slice, pause: pause, now: time.Now, sleep: time.Sleep, sliceEnd: time.Now().Add(slice)}
}

// wait is the loaders' pause (snapshot.WithPause): once the slice is
// over it starts a pause, and every loader that calls it during one
// sleeps until its end.
func (p *pacer) wait() {
	p.mu.Lock()
	now := p.now()
	if !now.Before(p.sliceEnd) {
		p.resume = now.Add(p.pause)
		p.sliceEnd = p.resume.Add(p.slice)
	}
	until := p.resume
	p.mu.Unlock()
	if d := until.Sub(now); d > 0 {
		p.sleep(d)
	}
}
