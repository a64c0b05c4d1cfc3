package main

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// The kinds of bad outcome a soak counts.
const (
	kindTransport  = "transport" // no answer: refused, reset, timed out
	kindServer     = "5xx"       // a server error
	kindStatus     = "status"    // a status the request cannot get
	kindMalformed  = "malformed" // a body that is not what its status promises
	kindSnapshotTS = "snapshot"  // the server served a snapshot of neither good version
	kindMetrics    = "metrics"   // the admin listener did not answer
	kindReadiness  = "notready"  // /readyz was not 200
	kindSwap       = "swap"      // the soak could not replace an input
	kindExited     = "exited"    // the server exited during the run
)

// classify returns the kind of bad outcome of one answer, or "" for an
// answer the protocol allows for the target: a metalink is an XML document
// (a full one, or a failure document for 404 and the 200 errors), a
// mirrorlist a comment header and URL lines, a redirect a 302 to an http
// URL (or a 404 without one).
func classify(target string, status int, hdr http.Header, body []byte) string {
	switch {
	case status >= 500:
		return kindServer
	case status != http.StatusOK && status != http.StatusFound && status != http.StatusNotFound:
		return kindStatus
	}
	if strings.HasPrefix(target, "/metalink") {
		return classifyMetalink(status, body)
	}
	return classifyMirrorlist(status, hdr, body)
}

func classifyMetalink(status int, body []byte) string {
	if status == http.StatusFound {
		return kindStatus
	}
	if !bytes.HasPrefix(body, []byte(`<?xml version="1.0" encoding="utf-8"?>`)) || !bytes.HasSuffix(body, []byte("</metalink>\n")) {
		return kindMalformed
	}
	if status == http.StatusOK && !bytes.Contains(body, []byte("<resources")) && !bytes.Contains(body, []byte("<!-- ")) {
		return kindMalformed
	}
	return ""
}

func classifyMirrorlist(status int, hdr http.Header, body []byte) string {
	switch {
	case status == http.StatusFound:
		if !strings.HasPrefix(hdr.Get("Location"), "http") {
			return kindMalformed
		}
		return ""
	case status == http.StatusNotFound || string(body) == "repo disabled":
		return ""
	}
	if !bytes.HasPrefix(body, []byte("# ")) || !bytes.HasSuffix(body, []byte("\n")) {
		return kindMalformed
	}
	lines := bytes.Split(body[:len(body)-1], []byte("\n"))
	for i, line := range lines[1:] {
		comment := i == 0 && bytes.HasPrefix(line, []byte("# database creation time: "))
		if !comment && !bytes.Contains(line, []byte("://")) {
			return kindMalformed
		}
	}
	return ""
}

// window is what a soak saw during one report interval (or, for the
// summary, the whole run). It is safe for concurrent use.
type window struct {
	mu       sync.Mutex
	latency  histogram
	requests uint64
	bad      map[string]uint64
	example  map[string]string // one example per kind
}

func newWindow() *window {
	return &window{bad: make(map[string]uint64), example: make(map[string]string)}
}

// add records one answered (or failed) request.
func (w *window) add(latency time.Duration, kind, example string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.requests++
	w.latency.record(latency)
	if kind != "" {
		w.badLocked(kind, example)
	}
}

// addBad records a bad outcome that is not a request's.
func (w *window) addBad(kind, example string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.badLocked(kind, example)
}

func (w *window) badLocked(kind, example string) {
	w.bad[kind]++
	if _, ok := w.example[kind]; !ok {
		w.example[kind] = example
	}
}

// take returns a copy of the window and resets it.
func (w *window) take() *window {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := &window{latency: w.latency, requests: w.requests, bad: w.bad, example: w.example}
	w.latency, w.requests = histogram{}, 0
	w.bad, w.example = make(map[string]uint64), make(map[string]string)
	return c
}

// merge adds o into w; w must not be in use.
func (w *window) merge(o *window) {
	w.latency.merge(&o.latency)
	w.requests += o.requests
	for k, n := range o.bad {
		w.bad[k] += n
		if _, ok := w.example[k]; !ok {
			w.example[k] = o.example[k]
		}
	}
}

// badLine lists the bad outcomes by kind, e.g. "5xx=2 malformed=1", or
// "none".
func (w *window) badLine() string {
	if len(w.bad) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(w.bad)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, w.bad[k]))
	}
	return strings.Join(parts, " ")
}

// sample is one report interval's line.
type sample struct {
	at         time.Duration // since the start of the load
	w          *window
	rss        uint64  // the largest RSS seen in the interval, bytes
	heap       float64 // the Go heap in use at the interval's end, bytes
	goroutines float64
	conns      float64    // client connections open, each holding a goroutine
	reloads    [3]float64 // ok, failed, refused, since the server started
	swaps      int        // replacements made so far
}

// printHeader writes the column names of the per-interval lines.
func printHeader(w io.Writer) {
	fmt.Fprintf(w, "%8s %9s %-24s %9s %9s %9s %8s %6s %6s %15s %6s\n",
		"time", "requests", "errors", "p50_ms", "p99_ms", "rss_MB", "heap_MB", "gorout", "conns", "reloads_ok/f/r", "swaps")
}

func (s sample) print(w io.Writer) {
	fmt.Fprintf(w, "%8s %9d %-24s %9s %9s %9.1f %8.1f %6.0f %6.0f %15s %6d\n",
		s.at.Round(time.Second), s.w.requests, s.w.badLine(),
		ms(s.w.latency.quantile(0.5)), ms(s.w.latency.quantile(0.99)),
		float64(s.rss)/(1<<20), s.heap/(1<<20), s.goroutines, s.conns,
		fmt.Sprintf("%.0f/%.0f/%.0f", s.reloads[0], s.reloads[1], s.reloads[2]), s.swaps)
}

// verdict checks a soak's pass criteria: no 5xx and no unexpected answer
// of any kind; the RSS of the last interval within 10% of the second's
// (the first is the warm-up); no growth between them of the goroutines
// besides the one each open client connection holds (a burst of latency
// makes the client open more connections, which then idle until the
// server's idle timeout: not a leak), with a little slack; and every
// replacement
// seen by the reloader (ok reloads for the good ones, failed or refused
// for the bad ones, one replacement of slack for the last, which may not
// have settled). It returns the failed criteria, empty on a pass.
func verdict(samples []sample, total *window, goodSwaps, badSwaps int) []string {
	var failed []string
	if n := len(total.bad); n > 0 {
		failed = append(failed, fmt.Sprintf("bad answers or checks: %s (e.g. %s)", total.badLine(), firstExample(total)))
	}
	if len(samples) < 3 {
		return append(failed, fmt.Sprintf("only %d report intervals: too short to judge RSS and goroutines", len(samples)))
	}
	second, last := samples[1], samples[len(samples)-1]
	if d := float64(last.rss) - float64(second.rss); d > 0.1*float64(second.rss) || -d > 0.1*float64(second.rss) {
		failed = append(failed, fmt.Sprintf("RSS not flat: %.1f MB in the second interval, %.1f MB in the last", float64(second.rss)/(1<<20), float64(last.rss)/(1<<20)))
	}
	if own := func(s sample) float64 { return s.goroutines - s.conns }; own(last) > max(own(second)*1.1, own(second)+10) {
		failed = append(failed, fmt.Sprintf("goroutines besides the connections' grew: %.0f in the second interval, %.0f in the last", own(second), own(last)))
	}
	okReloads := int(last.reloads[0]) - 1 // the first load is not a replacement
	badReloads := int(last.reloads[1] + last.reloads[2])
	if okReloads < goodSwaps-1 || okReloads > goodSwaps || badReloads < badSwaps-1 || badReloads > badSwaps {
		failed = append(failed, fmt.Sprintf("reloads: %d ok and %d failed or refused for %d good and %d bad replacements", okReloads, badReloads, goodSwaps, badSwaps))
	}
	return failed
}

func firstExample(w *window) string {
	for _, k := range slices.Sorted(maps.Keys(w.example)) {
		return k + ": " + w.example[k]
	}
	return ""
}
