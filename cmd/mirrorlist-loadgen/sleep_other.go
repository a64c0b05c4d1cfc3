//go:build !linux

package main

import (
	"context"
	"time"
)

// preciseSleeper sleeps with Go's timers where nanosleep and the timer
// slack are not at hand: pacing is then as coarse as the runtime's.
type preciseSleeper struct{}

func newPreciseSleeper() preciseSleeper { return preciseSleeper{} }

func (preciseSleeper) until(ctx context.Context, t time.Time) bool { return sleepUntil(ctx, t) }
