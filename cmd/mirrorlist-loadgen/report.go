package main

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// report is what a run found, derived from the merged tally.
type report struct {
	elapsed  time.Duration // from the end of the warm-up to the last answer
	rps      float64       // answered requests per second
	meanBody float64       // bytes of body per answer
	missed   uint64        // open loop: requests due in the measured time but never sent
}

// report derives the run's figures from its merged tally.
func (l *loader) report(t *tally) report {
	var r report
	if !t.lastDone.IsZero() {
		r.elapsed = t.lastDone.Sub(l.measure)
	}
	answered := t.sent - t.errors
	if r.elapsed > 0 {
		r.rps = float64(answered) / r.elapsed.Seconds()
	}
	if answered > 0 {
		r.meanBody = float64(t.bytes) / float64(answered)
	}
	if l.interval > 0 && l.opts.requests == 0 {
		due := dueBefore(l.deadline.Sub(l.start), l.interval) - dueBefore(l.measure.Sub(l.start), l.interval)
		r.missed = due - min(due, t.sent)
	}
	return r
}

// dueBefore returns how many requests of an open loop are due in the
// first d of the run.
func dueBefore(d time.Duration, interval float64) uint64 {
	return uint64(math.Ceil(float64(d) / interval))
}

// print writes the human-readable report, then one "summary" line of
// key=value pairs for scripts.
func (r report) print(w io.Writer, l *loader, t *tally, base string, targets int) {
	o := l.opts
	mode := "closed loop"
	if o.rate > 0 {
		mode = fmt.Sprintf("open loop at %g req/s", o.rate)
	}
	fmt.Fprintf(w, "%s, %d connections, %v after %v warm-up, %s, %d targets\n", mode, o.conns, o.duration, o.warmup, base, targets)
	fmt.Fprintf(w, "requests  %d in %.2f s: %.1f req/s\n", t.sent-t.errors, r.elapsed.Seconds(), r.rps)
	fmt.Fprintf(w, "status    %s\n", statusLine(t.status))
	if t.errors > 0 {
		fmt.Fprintf(w, "errors    %d, first: %v\n", t.errors, t.firstErr)
	}
	if r.missed > 0 {
		fmt.Fprintf(w, "missed    %d requests due were never sent: the server (or this generator) fell behind\n", r.missed)
	}
	fmt.Fprintf(w, "body      %.1f MB, %.0f B per answer; p50 %d  p90 %d  p99 %d  max %d B\n", float64(t.bytes)/1e6, r.meanBody,
		t.bodies.quantile(0.5), t.bodies.quantile(0.9), t.bodies.quantile(0.99), t.bodies.max)
	label := "latency "
	if o.rate > 0 {
		label = "latency  (CO-corrected) "
	}
	fmt.Fprintf(w, "%s  %s\n", label, quantiles(&t.latency))
	if o.rate > 0 {
		fmt.Fprintf(w, "service  (from when sent) %s\n", quantiles(&t.service))
		fmt.Fprintf(w, "pacer    (how late)       %s\n", quantiles(&t.lateness))
	}
	fmt.Fprintf(w, "summary rps=%.1f requests=%d errors=%d missed=%d mean_body=%.0f p50_body=%d p90_body=%d p50_ms=%s p90_ms=%s p99_ms=%s p999_ms=%s max_ms=%s\n",
		r.rps, t.sent-t.errors, t.errors, r.missed, r.meanBody, t.bodies.quantile(0.5), t.bodies.quantile(0.9),
		ms(t.latency.quantile(0.5)), ms(t.latency.quantile(0.9)), ms(t.latency.quantile(0.99)), ms(t.latency.quantile(0.999)), ms(t.latency.max))
}

// statusLine lists the status counts by status, e.g. "200: 9500 (95.0%)  404: 500 (5.0%)".
func statusLine(status map[int]uint64) string {
	var total uint64
	for _, n := range status {
		total += n
	}
	var parts []string
	for _, s := range slices.SortedFunc(maps.Keys(status), cmp.Compare[int]) {
		parts = append(parts, fmt.Sprintf("%d: %d (%.1f%%)", s, status[s], 100*float64(status[s])/float64(total)))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "  ")
}

func quantiles(h *histogram) string {
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  p99.9 %s  max %s ms",
		ms(h.quantile(0.5)), ms(h.quantile(0.9)), ms(h.quantile(0.99)), ms(h.quantile(0.999)), ms(h.max))
}

// ms formats d in milliseconds with three decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/1e6) }
