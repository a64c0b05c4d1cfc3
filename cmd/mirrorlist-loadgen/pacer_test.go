package main

import (
	"context"
	"testing"
	"time"
)

// TestPace checks the pacer's schedule: every request once, in order, each
// released at or after it was due, none due at or after the deadline, and
// the request limit obeyed.
func TestPace(t *testing.T) {
	for _, tc := range []struct {
		name     string
		requests int
		want     int
	}{
		{"deadline", 0, 50}, // 5 ms of warm-up and 20 ms measured at 2000/s
		{"limit", 7, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := &loadOptions{rate: 2000, warmup: 5 * time.Millisecond, duration: 20 * time.Millisecond, requests: tc.requests}
			l := newLoader("http://127.0.0.1:1", []string{"/"}, o)
			l.start = time.Now()
			l.measure = l.start.Add(o.warmup)
			l.deadline = l.measure.Add(o.duration)
			sc := l.schedule()
			tickets := make(chan ticket, sc.backlog())
			go pace(context.Background(), sc, tickets)
			n := 0
			for tk := range tickets {
				due := l.start.Add(time.Duration(n) * 500 * time.Microsecond)
				if tk.k != int64(n) || !tk.due.Equal(due) || tk.released.Before(tk.due) || !tk.due.Before(l.deadline) {
					t.Fatalf("ticket %d: %+v, want k %d due %v (before %v), released after", n, tk, n, due, l.deadline)
				}
				n++
			}
			if n != tc.want {
				t.Errorf("%d tickets, want %d", n, tc.want)
			}
		})
	}
}

// TestPaceStops checks that the pacer ends, closing its channel, soon
// after ctx ends, even in the middle of a long wait.
func TestPaceStops(t *testing.T) {
	o := &loadOptions{rate: 0.001, duration: time.Hour} // the second request is due in 1000 s
	l := newLoader("http://127.0.0.1:1", []string{"/"}, o)
	l.start = time.Now()
	l.measure, l.deadline = l.start, l.start.Add(o.duration)
	tickets := make(chan ticket, 2)
	ctx, cancel := context.WithCancel(context.Background())
	go pace(ctx, l.schedule(), tickets)
	if tk := <-tickets; tk.k != 0 {
		t.Fatalf("first ticket %+v", tk)
	}
	cancel()
	select {
	case _, ok := <-tickets:
		if ok {
			t.Error("a second ticket, 1000 s early")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the pacer did not stop within 10 s of the cancel")
	}
}
