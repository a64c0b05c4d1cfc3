package memlimit

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// value reads a gauge.
func value(t *testing.T, g prometheus.Gauge) float64 {
	t.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

func TestParseFlag(t *testing.T) {
	tests := []struct {
		in      string
		mode    Mode
		bytes   int64
		wantErr bool
	}{
		{"auto", Auto, 0, false},
		{"", Auto, 0, false},
		{"off", Off, 0, false},
		{"OFF", Off, 0, false},
		{"300MiB", Fixed, 300 << 20, false},
		{"2GiB", Fixed, 2 << 30, false},
		{"512 KiB", Fixed, 512 << 10, false},
		{"250MB", Fixed, 250e6, false},
		{"1048576", Fixed, 1 << 20, false},
		{"100B", Fixed, 100, false},
		{"0", 0, 0, true},
		{"-5MiB", 0, 0, true},
		{"1.5GiB", 0, 0, true},
		{"lots", 0, 0, true},
		{"9999999TiB", 0, 0, true},
	}
	for _, tt := range tests {
		mode, n, err := ParseFlag(tt.in)
		if (err != nil) != tt.wantErr || err == nil && (mode != tt.mode || n != tt.bytes) {
			t.Errorf("ParseFlag(%q) = %v, %d, %v; want %v, %d, error %v", tt.in, mode, n, err, tt.mode, tt.bytes, tt.wantErr)
		}
	}
}

func TestLimit(t *testing.T) {
	const mb = 1 << 20
	// 58 MB live of which 55 MB snapshot: room for a second snapshot
	// and half a snapshot of build scratch, plus the headroom.
	if got, want := Limit(58*mb, 55*mb), int64(58*mb+55*mb+27.5*mb+Headroom); got != want {
		t.Errorf("Limit = %d, want %d", got, want)
	}
	if got := Limit(0, 0); got != Headroom {
		t.Errorf("Limit(0, 0) = %d, want the headroom %d", got, Headroom)
	}
}

// restoreLimit puts the runtime's limit back after a test.
func restoreLimit(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	gc := debug.SetGCPercent(100)
	debug.SetGCPercent(gc)
	t.Cleanup(func() { debug.SetMemoryLimit(old); debug.SetGCPercent(gc) })
}

func TestGCPercent(t *testing.T) {
	const mb = 1 << 20
	for _, tt := range []struct {
		live uint64
		want int
	}{{0, 100}, {8 * mb, 100}, {32 * mb, 100}, {64 * mb, 50}, {60 * mb, 53}, {128 * mb, 25}, {1024 * mb, 25}} {
		if got := GCPercent(tt.live); got != tt.want {
			t.Errorf("GCPercent(%d MiB) = %d, want %d", tt.live/mb, got, tt.want)
		}
	}
}

func TestAutoFollowsTheLiveHeap(t *testing.T) {
	restoreLimit(t)
	debug.SetMemoryLimit(math.MaxInt64)
	reg := prometheus.NewRegistry()
	l, err := New(Config{Mode: Auto, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	if got := value(t, l.limit); !math.IsInf(got, 1) {
		t.Errorf("limit before the first snapshot = %v, want +Inf", got)
	}
	published := make([][]byte, 64) // 64 MiB standing in for a snapshot
	for i := range published {
		published[i] = make([]byte, 1<<20)
	}
	l.Published(time.Now())
	snap := value(t, l.snapshot)
	if snap < 60<<20 || snap > 80<<20 {
		t.Errorf("snapshot_live_bytes = %.0f, want about 64 MiB", snap)
	}
	live := value(t, l.live)
	want := float64(Limit(uint64(live), uint64(snap)))
	if got := value(t, l.limit); got != want {
		t.Errorf("memory_limit_bytes = %.0f, want %.0f", got, want)
	}
	if got := debug.SetMemoryLimit(-1); float64(got) != want {
		t.Errorf("runtime limit = %d, want %.0f", got, want)
	}
	wantGC := GCPercent(uint64(live))
	if got := value(t, l.gcPercent); got != float64(wantGC) || wantGC == 100 {
		t.Errorf("gc_percent = %v, want %d (below 100 for a 64 MiB heap)", got, wantGC)
	}
	if got := debug.SetGCPercent(wantGC); got != wantGC {
		t.Errorf("runtime GOGC = %d, want %d", got, wantGC)
	}
	runtime.KeepAlive(published)
	published = nil
	l.Published(time.Now())
	if got := value(t, l.limit); got >= want {
		t.Errorf("limit after the snapshot shrank = %.0f, want below %.0f", got, want)
	}
	if mfs, err := reg.Gather(); err != nil || len(mfs) != 4 {
		t.Errorf("gathered %d metric families, %v; want 4", len(mfs), err)
	}
}

func TestEnvironmentWins(t *testing.T) {
	restoreLimit(t)
	debug.SetMemoryLimit(200 << 20) // as the runtime does for GOMEMLIMIT=200MiB
	debug.SetGCPercent(80)          // as the runtime does for GOGC=80
	l, err := New(Config{Mode: Auto, GOMEMLIMIT: "200MiB", GOGC: "80"})
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 128<<20)
	l.Published(time.Now())
	runtime.KeepAlive(big)
	if got := debug.SetGCPercent(80); got != 80 {
		t.Errorf("runtime GOGC = %d, want GOGC's 80", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 200<<20 {
		t.Errorf("runtime limit = %d, want GOMEMLIMIT's %d", got, 200<<20)
	}
	if got := value(t, l.limit); got != 200<<20 {
		t.Errorf("memory_limit_bytes = %.0f, want %d", got, 200<<20)
	}
}

func TestFixedAndOff(t *testing.T) {
	restoreLimit(t)
	l, err := New(Config{Mode: Fixed, Bytes: 300 << 20, GOMEMLIMIT: "100MiB"})
	if err != nil {
		t.Fatal(err)
	}
	l.Published(time.Now())
	if got := debug.SetMemoryLimit(-1); got != 300<<20 {
		t.Errorf("fixed: runtime limit = %d, want the flag's %d", got, 300<<20)
	}
	if _, err := New(Config{Mode: Off}); err != nil {
		t.Fatal(err)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("off: runtime limit = %d, want none", got)
	}
	if _, err := New(Config{Mode: Fixed}); err == nil {
		t.Error("Fixed without a size: no error")
	}
}

// TestPublishedReusesALaterCollection checks that Published collects only
// when no collection ended after the snapshot was published.
func TestPublishedReusesALaterCollection(t *testing.T) {
	restoreLimit(t)
	l, err := New(Config{Mode: Off})
	if err != nil {
		t.Fatal(err)
	}
	cycles := func() int64 {
		var st debug.GCStats
		debug.ReadGCStats(&st)
		return st.NumGC
	}
	published := time.Now()
	time.Sleep(10 * time.Millisecond) // LastGC has a coarse clock on some systems
	runtime.GC()                      // the reloader's release
	before := cycles()
	l.Published(published)
	if got := cycles(); got != before {
		t.Errorf("Published collected %d more times after a collection that followed the publish", got-before)
	}
	l.Published(time.Now().Add(time.Hour))
	if got := cycles(); got < before+1 {
		t.Errorf("Published collected %d times without a collection after the publish, want 1", got-before)
	}
}
