package accesslog

import (
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// logDay is 2026-03-02 in its own zone but still 2026-03-01 in UTC: the
// log must print the UTC date.
var logDay = time.Date(2026, 3, 2, 0, 30, 0, 0, time.FixedZone("CET", 3600))

// hourly is a flush interval that never fires during a test, so that only
// explicit flushes write.
const hourly = time.Hour

func readLog(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func openTestLog(t *testing.T, cfg Config) *Writer {
	t.Helper()
	if cfg.Path == "" {
		cfg.Path = filepath.Join(t.TempDir(), "mirrorlist.log")
	}
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = hourly
	}
	l, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func TestLineFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mirrorlist.log")
	l := openTestLog(t, Config{Path: path})
	tests := []struct {
		client              string
		country, repo, arch string
		want                string
	}{
		{"192.0.2.1", "DE", "updates-released-f41", "x86_64",
			"IP: 192.0.2.1; DATE: 2026-03-01; COUNTRY: DE; REPO: updates-released-f41; ARCH: x86_64\n"},
		{"2001:db8::1", "N/A", "epel-9", "source",
			"IP: 2001:db8::1; DATE: 2026-03-01; COUNTRY: N/A; REPO: epel-9; ARCH: source\n"},
		{"198.51.100.2", "", "", "",
			"IP: 198.51.100.2; DATE: 2026-03-01; COUNTRY: N/A; REPO: ; ARCH: \n"},
		{"203.0.113.3", "SE", "evil\nIP: 1.2.3.4; DATE: x", "a\r\x7fb",
			"IP: 203.0.113.3; DATE: 2026-03-01; COUNTRY: SE; REPO: evil%0AIP:%201.2.3.4;%20DATE:%20x; ARCH: a%0D%7Fb\n"},
		// The values come as sent, still percent-encoded: ';' and '%' are
		// written as they are, as production writes them; a space, which
		// would shift the fields the statistics scripts read, is encoded.
		{"203.0.113.5", "DE", "a;b%3Bc%25d", "x 86",
			"IP: 203.0.113.5; DATE: 2026-03-01; COUNTRY: DE; REPO: a;b%3Bc%25d; ARCH: x%2086\n"},
		{"203.0.113.4", "D E", "a+b café", "x\t",
			"IP: 203.0.113.4; DATE: 2026-03-01; COUNTRY: D%20E; REPO: a+b%20café; ARCH: x%09\n"},
	}
	var want strings.Builder
	for _, tt := range tests {
		l.Log(netip.MustParseAddr(tt.client), logDay, tt.country, tt.repo, tt.arch)
		want.WriteString(tt.want)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readLog(t, path); got != want.String() {
		t.Errorf("log file\n%s\nwant\n%s", got, want.String())
	}
	if l.Written() != uint64(len(tests)) || l.Dropped() != 0 || l.WriteErrors() != 0 {
		t.Errorf("written %d, dropped %d, errors %d; want %d, 0, 0", l.Written(), l.Dropped(), l.WriteErrors(), len(tests))
	}
}

func TestLogAllocs(t *testing.T) {
	l := openTestLog(t, Config{})
	addr := netip.MustParseAddr("192.0.2.1")
	l.Log(addr, logDay, "DE", "fedora-41", "x86_64") // grow the buffer once
	l.Flush()
	if n := testing.AllocsPerRun(100, func() { l.Log(addr, logDay, "DE", "fedora-41", "x86_64") }); n > 0 {
		t.Errorf("Log allocates %v times per line, want 0", n)
	}
}

func TestBackgroundFlush(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mirrorlist.log")
	l := openTestLog(t, Config{Path: path, FlushInterval: 5 * time.Millisecond})
	l.Log(netip.MustParseAddr("192.0.2.1"), logDay, "DE", "r", "a")
	for i := 0; i < 400 && l.Written() == 0; i++ {
		time.Sleep(5 * time.Millisecond)
	}
	if l.Written() != 1 {
		t.Fatalf("the line was not flushed within 2s")
	}
	if got := readLog(t, path); !strings.HasPrefix(got, "IP: 192.0.2.1;") {
		t.Errorf("log file %q", got)
	}
}

// TestConcurrent logs from many goroutines while the flusher
// runs, reopens happen and flushes are forced; run it with -race.
func TestConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mirrorlist.log")
	l := openTestLog(t, Config{Path: path, FlushInterval: time.Millisecond})
	const goroutines, lines = 8, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			addr := netip.AddrFrom4([4]byte{192, 0, 2, byte(g)})
			for range lines {
				l.Log(addr, logDay, "DE", "fedora", "x86_64")
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if err := l.Reopen(); err != nil {
				t.Error(err)
			}
			l.Flush()
		}
	})
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	got := strings.Count(readLog(t, path), "\n")
	if got != goroutines*lines || l.Written() != goroutines*lines || l.Dropped() != 0 {
		t.Errorf("file has %d lines, Written %d, Dropped %d; want %d, %d, 0", got, l.Written(), l.Dropped(), goroutines*lines, goroutines*lines)
	}
}

// flakyFile is a log file whose writes fail while fail is set; with short
// set, a failing write still takes the first half of its bytes.
type flakyFile struct {
	mu    sync.Mutex
	data  strings.Builder
	fail  bool
	short bool
}

func (f *flakyFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.fail {
		return f.data.Write(p)
	}
	if f.short {
		n := len(p) / 2
		f.data.Write(p[:n])
		return n, errors.New("disk full")
	}
	return 0, errors.New("disk full")
}

func (f *flakyFile) Close() error { return nil }

func (f *flakyFile) set(fail bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fail
}

func (f *flakyFile) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.data.String()
}

func observed() (*zap.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.ErrorLevel)
	return zap.New(core), logs
}

func TestWriteErrorRetries(t *testing.T) {
	for _, short := range []bool{false, true} {
		name := "no bytes taken"
		if short {
			name = "short write"
		}
		t.Run(name, func(t *testing.T) {
			file := &flakyFile{fail: true, short: short}
			logger, logs := observed()
			l := openTestLog(t, Config{
				Logger: logger,
				Open:   func(string) (io.WriteCloser, error) { return file, nil },
			})
			addr := netip.MustParseAddr("192.0.2.1")
			l.Log(addr, logDay, "DE", "one", "a")
			l.Log(addr, logDay, "DE", "two", "a")
			l.Flush()
			if l.WriteErrors() != 1 || logs.FilterMessage("access log write failed").Len() != 1 {
				t.Errorf("WriteErrors %d, logged %d; want 1 and 1", l.WriteErrors(), logs.Len())
			}
			file.set(false)
			l.Log(addr, logDay, "DE", "three", "a")
			l.Flush()
			want := "IP: 192.0.2.1; DATE: 2026-03-01; COUNTRY: DE; REPO: one; ARCH: a\n" +
				"IP: 192.0.2.1; DATE: 2026-03-01; COUNTRY: DE; REPO: two; ARCH: a\n" +
				"IP: 192.0.2.1; DATE: 2026-03-01; COUNTRY: DE; REPO: three; ARCH: a\n"
			if got := file.String(); got != want {
				t.Errorf("after recovery the file has\n%s\nwant\n%s", got, want)
			}
			if l.Written() != 3 || l.Dropped() != 0 {
				t.Errorf("Written %d, Dropped %d; want 3, 0", l.Written(), l.Dropped())
			}
		})
	}
}

func TestDeadDiskDropsOverCap(t *testing.T) {
	file := &flakyFile{fail: true}
	logger, _ := observed()
	const lineLen = len("IP: 192.0.2.1; DATE: 2026-03-01; COUNTRY: DE; REPO: r; ARCH: a\n")
	l := openTestLog(t, Config{
		Logger:    logger,
		MaxBuffer: 3 * lineLen,
		Open:      func(string) (io.WriteCloser, error) { return file, nil },
	})
	addr := netip.MustParseAddr("192.0.2.1")
	for range 10 {
		l.Log(addr, logDay, "DE", "r", "a")
		l.Log(addr, logDay, "DE", "r", "a")
		l.Flush()
	}
	if l.Dropped() == 0 || l.Written() != 0 {
		t.Errorf("Dropped %d, Written %d; want some dropped and none written", l.Dropped(), l.Written())
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if l.Dropped() != 20 {
		t.Errorf("after Close, Dropped %d, want all 20 lines", l.Dropped())
	}
}

func TestBufferCap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mirrorlist.log")
	const lineLen = len("IP: 192.0.2.1; DATE: 2026-03-01; COUNTRY: DE; REPO: r; ARCH: a\n")
	l := openTestLog(t, Config{Path: path, MaxBuffer: 4 * lineLen})
	addr := netip.MustParseAddr("192.0.2.1")
	for range 10 {
		l.Log(addr, logDay, "DE", "r", "a")
	}
	if l.Dropped() != 6 {
		t.Errorf("Dropped %d, want 6", l.Dropped())
	}
	l.Flush()
	l.Log(addr, logDay, "DE", "r", "a") // room again after the flush
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(readLog(t, path), "\n"); n != 5 || l.Written() != 5 {
		t.Errorf("file has %d lines, Written %d; want 5", n, l.Written())
	}
}

// TestReopenAfterRename is logrotate's sequence: rename the file,
// then SIGHUP, which reopens the path as a new file.
func TestReopenAfterRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mirrorlist.log")
	l := openTestLog(t, Config{Path: path})
	addr := netip.MustParseAddr("192.0.2.1")
	l.Log(addr, logDay, "DE", "before", "a")
	l.Flush()
	rotated := path + ".1"
	if err := os.Rename(path, rotated); err != nil {
		t.Fatal(err)
	}
	l.Log(addr, logDay, "DE", "between", "a") // buffered: goes to the old file on Reopen
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	l.Log(addr, logDay, "DE", "after", "a")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	old, cur := readLog(t, rotated), readLog(t, path)
	if !strings.Contains(old, "REPO: before;") || !strings.Contains(old, "REPO: between;") || strings.Contains(old, "after") {
		t.Errorf("rotated file:\n%s", old)
	}
	if cur != "IP: 192.0.2.1; DATE: 2026-03-01; COUNTRY: DE; REPO: after; ARCH: a\n" {
		t.Errorf("new file:\n%s", cur)
	}
}

func TestReopenFailure(t *testing.T) {
	file := &flakyFile{}
	var mu sync.Mutex
	openErr := error(nil)
	logger, logs := observed()
	l := openTestLog(t, Config{
		Logger: logger,
		Open: func(string) (io.WriteCloser, error) {
			mu.Lock()
			defer mu.Unlock()
			if openErr != nil {
				return nil, openErr
			}
			return file, nil
		},
	})
	mu.Lock()
	openErr = errors.New("permission denied")
	mu.Unlock()
	if err := l.Reopen(); err == nil {
		t.Error("Reopen succeeded although the file cannot be opened")
	}
	if logs.FilterMessage("access log open failed").Len() != 1 {
		t.Errorf("the open failure was not logged: %v", logs.All())
	}
	addr := netip.MustParseAddr("192.0.2.1")
	l.Log(addr, logDay, "DE", "kept", "a")
	l.Flush() // still failing: the line stays buffered
	mu.Lock()
	openErr = nil
	mu.Unlock()
	l.Flush() // opens the file again and writes
	if got := file.String(); !strings.Contains(got, "REPO: kept;") {
		t.Errorf("the line buffered while the file was closed was lost: %q", got)
	}
	if l.WriteErrors() != 2 {
		t.Errorf("WriteErrors %d, want 2 (two failed opens)", l.WriteErrors())
	}
}

func TestAfterClose(t *testing.T) {
	l := openTestLog(t, Config{})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l.Log(netip.MustParseAddr("192.0.2.1"), logDay, "DE", "late", "a")
	if l.Dropped() != 1 {
		t.Errorf("Dropped %d after logging to a closed log, want 1", l.Dropped())
	}
	if err := l.Reopen(); err != nil {
		t.Errorf("Reopen after Close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestNil(t *testing.T) {
	var l *Writer
	l.Log(netip.MustParseAddr("192.0.2.1"), logDay, "DE", "r", "a")
	l.Flush()
	if l.Reopen() != nil || l.Close() != nil || l.Written() != 0 || l.Dropped() != 0 || l.WriteErrors() != 0 {
		t.Error("a nil Writer is not inert")
	}
}

func TestOpenError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing-dir", "mirrorlist.log")
	_, err := Open(Config{Path: path})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("error %v does not name %s", err, path)
	}
}
