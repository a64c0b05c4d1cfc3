package main

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// A ticket is one request of an open loop, released by the pacer.
type ticket struct {
	k        int64     // the request's number
	due      time.Time // when it was due: start + k/rate
	released time.Time // when the pacer released it, a little after due
}

// schedule says when the requests of an open loop are due: request k at
// start + k × interval, those due before deadline, at most limit of them
// (0: no limit).
type schedule struct {
	start    time.Time
	interval float64 // nanoseconds
	deadline time.Time
	limit    int64
}

// due returns when request k is due.
func (sc schedule) due(k int64) time.Time {
	return sc.start.Add(time.Duration(float64(k) * sc.interval))
}

// backlog returns the capacity to give the ticket buffer of a paced run:
// every request of the run, up to maxBacklog, so that the pacer keeps
// releasing on time while the server holds every connection.
func (sc schedule) backlog() int {
	n := dueBefore(sc.deadline.Sub(sc.start), sc.interval)
	if sc.limit > 0 {
		n = min(n, uint64(sc.limit))
	}
	return int(min(n, maxBacklog))
}

// maxBacklog bounds the tickets an open loop buffers for busy workers.
const maxBacklog = 1 << 18

// pace releases the requests of sc on tickets at their due times, until
// the schedule or ctx ends, and then closes tickets.
//
// Go's timers cannot pace it: a timer due in less than a millisecond
// fires after a whole one when the thread waits in epoll (the runtime's
// wait has millisecond resolution), so the requests of a millisecond
// would leave in a burst and queue at the server, which is then charged
// for a load it never gets in production. The pacer instead sleeps on an
// OS thread of its own with nanosleep and a timer slack of a nanosecond
// (preciseSleeper), which wakes within some tens of microseconds. While it
// sleeps its thread holds the scheduler slot it had, so the process needs
// GOMAXPROCS of at least 2 (pacerProcs) for the connections' goroutines
// to go on meanwhile.
//
// tickets should hold sc.backlog(): a ticket that finds every worker busy
// waits in it, and a worker counts its latency from its release, so the
// server is charged for that wait (no coordinated omission). A release is
// stamped before the send, so that even a full buffer charges the server.
func pace(ctx context.Context, sc schedule, tickets chan<- ticket) {
	defer close(tickets)
	runtime.LockOSThread() // never unlocked: the thread, its timer slack changed, ends with the goroutine
	sleep := newPreciseSleeper()
	for k := int64(0); sc.limit == 0 || k < sc.limit; k++ {
		due := sc.due(k)
		if !due.Before(sc.deadline) || !sleep.until(ctx, due) {
			return
		}
		select {
		case tickets <- ticket{k: k, due: due, released: time.Now()}:
		case <-ctx.Done():
			return
		}
	}
}

// startPacer starts pace for sc in wg and returns the channel it releases
// the tickets on, buffered to sc.backlog().
func startPacer(ctx context.Context, wg *sync.WaitGroup, sc schedule) <-chan ticket {
	tickets := make(chan ticket, sc.backlog())
	wg.Go(func() { pace(ctx, sc, tickets) })
	return tickets
}

// pacerProcs raises GOMAXPROCS to 2 if it is lower, for pace, and returns
// the function that puts it back.
func pacerProcs() (restore func()) {
	if n := runtime.GOMAXPROCS(0); n < 2 {
		runtime.GOMAXPROCS(2)
		return func() { runtime.GOMAXPROCS(n) }
	}
	return func() {}
}
