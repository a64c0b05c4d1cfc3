// Package accesslog writes the access log that Fedora's statistics
// scripts read (docs/protocol.md section 8): one line per repo/arch
// request, buffered so that no request waits on the disk, reopened on
// SIGHUP for log rotation.
package accesslog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Defaults of Config.
const (
	DefaultBuffer        = 4 << 20     // bytes buffered before lines are dropped
	DefaultFlushInterval = time.Second // the protocol asks for at least once a second
)

// Config configures Open.
type Config struct {
	Path string // the log file, opened for appending (created if missing)

	// Logger receives write and reopen errors; nil discards them.
	Logger *zap.Logger
	// MaxBuffer caps the bytes waiting for the disk; beyond it new lines
	// are dropped and counted. Zero means DefaultBuffer.
	MaxBuffer int
	// FlushInterval is how often the background flusher writes the
	// buffer. Zero means DefaultFlushInterval.
	FlushInterval time.Duration
	// Open opens the file; nil means os.OpenFile for appending with mode
	// 0644. Tests use it to inject failing writers.
	Open func(path string) (io.WriteCloser, error)
}

// Writer writes the statistics log of docs/protocol.md section 8: one line
// per repo/arch request, in the exact format Fedora's scripts parse.
//
// A request never waits on the disk: Log appends the line to an in-memory
// buffer under a mutex, and a background goroutine writes the buffer out at
// every FlushInterval, on Reopen and on Close. If the disk is slower than
// the traffic (or failing) and the buffer reaches MaxBuffer, further lines
// are dropped and counted rather than blocking requests or growing memory
// without bound. Bytes that a failed write did not take stay buffered and
// are retried at the next flush, so no line is lost while the disk accepts
// writes.
//
// All methods are safe for concurrent use, and a nil *Writer discards
// everything, so the handler needs no special case for "no log".
type Writer struct {
	path     string
	logger   *zap.Logger
	open     func(string) (io.WriteCloser, error)
	maxBytes int

	mu     sync.Mutex // guards buf and closed; never held across I/O
	buf    []byte
	closed bool

	flushMu sync.Mutex // serialises flushes, reopens and close
	file    io.WriteCloser
	out     []byte // bytes taken from buf and not yet written

	written, dropped, writeErrors atomic.Uint64

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// Open opens the log file and starts the background flusher.
// Close must be called to stop it and write the last lines.
func Open(cfg Config) (*Writer, error) {
	l := &Writer{
		path:     cfg.Path,
		logger:   cfg.Logger,
		open:     cfg.Open,
		maxBytes: cfg.MaxBuffer,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	if l.logger == nil {
		l.logger = zap.NewNop()
	}
	if l.open == nil {
		l.open = openAppend
	}
	if l.maxBytes <= 0 {
		l.maxBytes = DefaultBuffer
	}
	interval := cfg.FlushInterval
	if interval <= 0 {
		interval = DefaultFlushInterval
	}
	f, err := l.open(l.path)
	if err != nil {
		return nil, fmt.Errorf("access log: %w", err)
	}
	l.file = f
	go l.flushLoop(interval)
	return l, nil
}

// openAppend opens path for appending, creating it if needed.
func openAppend(path string) (io.WriteCloser, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
}

// Log buffers one access-log line, as AppendLine writes it.
func (l *Writer) Log(client netip.Addr, day time.Time, country, repo, arch string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		l.dropped.Add(1)
		return
	}
	start := len(l.buf)
	b := AppendLine(l.buf, client, day, country, repo, arch)
	if len(b) > l.maxBytes {
		l.buf = b[:start]
		l.dropped.Add(1)
		return
	}
	l.buf = b
}

// AppendLine appends an access-log line, newline included:
//
//	IP: <client>; DATE: <YYYY-MM-DD of day in UTC>; COUNTRY: <country or N/A>; REPO: <repo>; ARCH: <arch>
//
// repo and arch are the values as the client sent them (still
// percent-encoded), as production logs them. Control characters and
// spaces in country, repo and arch are written as %XX, so that no value
// can forge a line of its own or shift the fields (see appendField).
func AppendLine(dst []byte, client netip.Addr, day time.Time, country, repo, arch string) []byte {
	if country == "" {
		country = "N/A"
	}
	dst = append(dst, "IP: "...)
	dst = client.AppendTo(dst)
	dst = append(dst, "; DATE: "...)
	dst = day.UTC().AppendFormat(dst, time.DateOnly)
	dst = append(dst, "; COUNTRY: "...)
	dst = appendField(dst, country)
	dst = append(dst, "; REPO: "...)
	dst = appendField(dst, repo)
	dst = append(dst, "; ARCH: "...)
	dst = appendField(dst, arch)
	return append(dst, '\n')
}

// appendField appends one field of a line: as AppendValue, and with the
// space percent-encoded too. The repo and arch come as the client sent
// them, still percent-encoded, so the line holds what production's holds
// (which never decodes): "repo=a;b" is logged "a;b" and "repo=a%20b"
// "a%20b". Fedora's statistics scripts split a line on white space, and an
// HTTP request line cannot carry a raw space or control byte; encoding them
// anyway keeps every field in its place whatever a caller passes.
func appendField(dst []byte, s string) []byte { return appendEncoded(dst, s, true) }

// AppendValue appends s with its control bytes percent-encoded (%0A), so
// that it stays on one line: what the log does to every value, and what
// the readiness answer does to an error text.
func AppendValue(dst []byte, s string) []byte { return appendEncoded(dst, s, false) }

// appendEncoded appends s with its control bytes, and its spaces if space
// is set, written as %XX.
func appendEncoded(dst []byte, s string, space bool) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || (space && c == ' ') {
			dst = append(dst, '%', hex[c>>4], hex[c&0xf])
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// Flush writes the buffered lines now. The background flusher calls it;
// callers need not, but may (tests, a shutdown hook).
func (l *Writer) Flush() {
	if l == nil {
		return
	}
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.flushLocked()
}

// flushLocked moves the buffer to l.out and writes l.out to the file.
// Unwritten bytes stay in l.out for the next attempt; if they pile up
// beyond the buffer cap (the disk keeps failing) they are dropped, whole
// lines counted. The caller holds flushMu.
func (l *Writer) flushLocked() {
	l.take()
	if len(l.out) == 0 {
		return
	}
	if l.file == nil && !l.reopenFileLocked() {
		l.discardIfOverCap()
		return
	}
	n, err := l.file.Write(l.out)
	if n > len(l.out) || n < 0 {
		n = 0 // a broken writer; treat as nothing written
	}
	l.written.Add(countLines(l.out[:n]))
	l.out = l.out[:copy(l.out, l.out[n:])]
	if err == nil && len(l.out) > 0 {
		err = io.ErrShortWrite
	}
	if err != nil {
		l.writeErrors.Add(1)
		l.logger.Error("access log write failed", zap.String("path", l.path), zap.Error(err), zap.Int("pending_bytes", len(l.out)))
		l.discardIfOverCap()
	}
}

// countLines counts the newlines of b: whole lines written or dropped.
func countLines(b []byte) uint64 { return uint64(bytes.Count(b, []byte{'\n'})) }

// take moves the lines buffered by Log to l.out, swapping buffers when
// l.out is empty so that the common case copies nothing.
func (l *Writer) take() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.out) == 0 {
		l.out, l.buf = l.buf, l.out[:0]
		return
	}
	l.out = append(l.out, l.buf...)
	l.buf = l.buf[:0]
}

// discardIfOverCap drops the pending bytes when they exceed the cap, so a
// dead disk cannot make memory grow without bound.
func (l *Writer) discardIfOverCap() {
	if len(l.out) <= l.maxBytes {
		return
	}
	lines := countLines(l.out)
	l.dropped.Add(lines)
	l.logger.Error("access log lines dropped: the file keeps failing", zap.String("path", l.path), zap.Uint64("lines", lines))
	l.out = l.out[:0]
}

// Reopen writes the buffered lines to the current file, closes it and
// opens the path again: after logrotate has renamed the file, this starts
// a new one (SIGHUP). If the new file cannot be opened, the error is
// logged and returned, lines keep being buffered, and every later flush
// tries to open the file again.
func (l *Writer) Reopen() error {
	if l == nil {
		return nil
	}
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	if l.isClosed() {
		return nil
	}
	l.flushLocked()
	err := l.closeFileLocked()
	if !l.reopenFileLocked() {
		return errors.Join(err, fmt.Errorf("access log: reopen %s failed", l.path))
	}
	return err
}

func (l *Writer) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// reopenFileLocked opens the path into l.file, logging and counting a
// failure. The caller holds flushMu.
func (l *Writer) reopenFileLocked() bool {
	f, err := l.open(l.path)
	if err != nil {
		l.writeErrors.Add(1)
		l.logger.Error("access log open failed", zap.String("path", l.path), zap.Error(err))
		return false
	}
	l.file = f
	return true
}

func (l *Writer) closeFileLocked() error {
	if l.file == nil {
		return nil
	}
	err := l.file.Close()
	l.file = nil
	if err != nil {
		l.writeErrors.Add(1)
		l.logger.Error("access log close failed", zap.String("path", l.path), zap.Error(err))
		return fmt.Errorf("access log: close %s: %w", l.path, err)
	}
	return nil
}

// Close stops the flusher, writes the remaining lines and closes the file.
// Lines logged afterwards are dropped and counted. Close is idempotent.
func (l *Writer) Close() error {
	if l == nil {
		return nil
	}
	var err error
	l.closeOnce.Do(func() {
		close(l.stop)
		<-l.done
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		l.flushMu.Lock()
		defer l.flushMu.Unlock()
		l.flushLocked()
		if n := len(l.out); n > 0 {
			l.dropped.Add(countLines(l.out))
			l.out = l.out[:0]
		}
		err = l.closeFileLocked()
	})
	return err
}

// flushLoop flushes at every tick until Close.
func (l *Writer) flushLoop(interval time.Duration) {
	defer close(l.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.Flush()
		}
	}
}

// Written returns the number of lines written to the file so far.
func (l *Writer) Written() uint64 {
	if l == nil {
		return 0
	}
	return l.written.Load()
}

// Dropped returns the number of lines lost: logged while the buffer was
// full or after Close, or discarded after repeated write failures.
func (l *Writer) Dropped() uint64 {
	if l == nil {
		return 0
	}
	return l.dropped.Load()
}

// WriteErrors returns the number of failed writes, opens and closes of the
// file.
func (l *Writer) WriteErrors() uint64 {
	if l == nil {
		return 0
	}
	return l.writeErrors.Load()
}

// Collectors returns the metrics of the log, read from its counters at
// scrape time: lines written, lines dropped and write errors, under the
// server's "mirrorlist" namespace. The caller registers them.
func (l *Writer) Collectors() []prometheus.Collector {
	counter := func(name, help string, f func() uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "mirrorlist", Name: name, Help: help},
			func() float64 { return float64(f()) })
	}
	return []prometheus.Collector{
		counter("access_log_lines_written_total", "Access-log lines written to the file.", l.Written),
		counter("access_log_lines_dropped_total", "Access-log lines lost: buffer full, file failing, or logged after close.", l.Dropped),
		counter("access_log_write_errors_total", "Failed writes, opens and closes of the access-log file.", l.WriteErrors),
	}
}
