package main

import (
	"context"
	"runtime"
	"time"
)

// A ticket is one request of an open loop, released by the pacer.
type ticket struct {
	k        int64     // the request's number
	due      time.Time // when it was due: start + k/rate
	released time.Time // when the pacer released it, a little after due
}

// pace releases the requests of an open loop on tickets at their due
// times, until the deadline, the request limit or ctx ends the run, and
// then closes tickets.
//
// Go's timers cannot pace it: a timer due in less than a millisecond
// fires after a whole one when the thread waits in epoll (the runtime's
// wait has millisecond resolution), so the requests of a millisecond
// would leave in a burst and queue at the server, which is then charged
// for a load it never gets in production. The pacer instead sleeps on an
// OS thread of its own with nanosleep and a timer slack of a microsecond
// (preciseSleeper), which wakes within some tens of microseconds. While it
// sleeps its thread holds the scheduler slot it had, so the run needs
// GOMAXPROCS of at least 2 (see run) for the connections' goroutines to
// go on meanwhile.
//
// tickets must be buffered: a ticket that finds every worker busy waits
// in it, and its latency counts from its release, so the server is
// charged for that wait (no coordinated omission).
func (l *loader) pace(ctx context.Context, tickets chan<- ticket) {
	defer close(tickets)
	runtime.LockOSThread() // never unlocked: the thread, its timer slack changed, ends with the goroutine
	sleep := newPreciseSleeper()
	for k := int64(0); l.opts.requests == 0 || k < int64(l.opts.requests); k++ {
		due := l.start.Add(time.Duration(float64(k) * l.interval))
		if !due.Before(l.deadline) || !sleep.until(ctx, due) {
			return
		}
		select {
		case tickets <- ticket{k: k, due: due, released: time.Now()}:
		case <-ctx.Done():
			return
		}
	}
}

// sleepSlice bounds one nanosleep, so that the pacer sees ctx end soon.
const sleepSlice = 10 * time.Millisecond
