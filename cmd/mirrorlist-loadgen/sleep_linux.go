package main

import (
	"context"
	"syscall"
	"time"
)

// preciseSleeper sleeps with nanosleep on a thread whose timer slack is
// one nanosecond: Linux otherwise lets a sleep end up to 50 µs late.
type preciseSleeper struct{}

// sleepSlice bounds one nanosleep, so that the pacer sees ctx end soon.
const sleepSlice = 10 * time.Millisecond

// prSetTimerSlack is PR_SET_TIMERSLACK of prctl(2).
const prSetTimerSlack = 29

// newPreciseSleeper sets the calling thread's timer slack; the caller has
// locked itself to the thread.
func newPreciseSleeper() preciseSleeper {
	syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerSlack, 1, 0) // best effort: the default slack only makes sleeps later
	return preciseSleeper{}
}

// until sleeps until t, or returns false when ctx ends first.
func (preciseSleeper) until(ctx context.Context, t time.Time) bool {
	for {
		if ctx.Err() != nil {
			return false
		}
		d := time.Until(t)
		if d <= 0 {
			return true
		}
		ts := syscall.NsecToTimespec(int64(min(d, sleepSlice)))
		syscall.Nanosleep(&ts, nil) // EINTR: the loop sleeps the rest
	}
}
