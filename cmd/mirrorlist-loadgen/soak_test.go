package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

func TestClassify(t *testing.T) {
	meta := "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<metalink>\n"
	failure := meta + "<!-- error: invalid repo or arch\n-->\n</metalink>\n"
	doc := meta + " <files>\n   <resources maxconnections=\"1\">\n   </resources>\n </files>\n</metalink>\n"
	location := http.Header{"Location": {"https://mirror.example/pub/x/"}}
	tests := []struct {
		target string
		status int
		hdr    http.Header
		body   string
		want   string
	}{
		{"/metalink?repo=a", 200, nil, doc, ""},
		{"/metalink?repo=a", 404, nil, failure, ""},
		{"/metalink?repo=a", 200, nil, failure, ""}, // repo disabled
		{"/metalink?repo=a", 200, nil, doc[:len(doc)-3], kindMalformed},
		{"/metalink?repo=a", 200, nil, "oops", kindMalformed},
		{"/metalink?repo=a", 200, nil, meta + "</metalink>\n", kindMalformed},
		{"/metalink?repo=a", 302, location, "", kindStatus},
		{"/metalink?repo=a", 503, nil, "", kindServer},
		{"/metalink?repo=a", 500, nil, "", kindServer},
		{"/metalink?repo=a", 400, nil, "", kindStatus},
		{"/mirrorlist?repo=a", 200, nil, "# repo = a arch = b \nhttps://m.example/x/\nrsync://n.example/x/\n", ""},
		{"/mirrorlist?repo=a&time", 200, nil, "# repo = a \n# database creation time: 1\nhttps://m.example/x/\n", ""},
		{"/mirrorlist?repo=a", 200, nil, "# repo = a \n", ""},
		{"/mirrorlist?repo=a", 200, nil, "repo disabled", ""},
		{"/mirrorlist?repo=a", 200, nil, "# repo = a \nnot a url\n", kindMalformed},
		{"/mirrorlist?repo=a", 200, nil, "# repo = a \nhttps://m.example/x/", kindMalformed},
		{"/mirrorlist?repo=a", 200, nil, "", kindMalformed},
		{"/mirrorlist?repo=a&redirect", 302, location, "", ""},
		{"/mirrorlist?repo=a&redirect", 302, nil, "", kindMalformed},
		{"/mirrorlist?repo=a&redirect", 404, nil, "", ""},
		{"/mirrorlist?repo=a", 404, nil, "error: invalid path", ""},
		{"/mirrorlist?repo=a", 414, nil, "", kindStatus},
	}
	for _, tt := range tests {
		if got := classify(tt.target, tt.status, tt.hdr, []byte(tt.body)); got != tt.want {
			t.Errorf("classify(%s, %d, %.40q) = %q, want %q", tt.target, tt.status, tt.body, got, tt.want)
		}
	}
}

func TestVerdict(t *testing.T) {
	const mb = 1 << 20
	mk := func(rss uint64, gor float64, ok, failed, refused float64) sample {
		return sample{w: newWindow(), rss: rss, goroutines: gor, conns: 20, reloads: [3]float64{ok, failed, refused}}
	}
	withConns := func(s sample, conns float64) sample { s.conns = conns; return s }
	good := []sample{mk(300*mb, 40, 3, 2, 0), mk(320*mb, 45, 5, 4, 0), mk(310*mb, 44, 8, 6, 1), mk(340*mb, 50, 11, 10, 0)}
	tests := []struct {
		name    string
		samples []sample
		bad     string
		good    int
		badN    int
		want    string // a substring of the failure; "" for a pass
	}{
		{"pass", good, "", 10, 10, ""},
		{"last replacement not yet settled", good, "", 11, 10, ""},
		{"a 5xx", good, kindServer, 10, 10, "bad answers"},
		{"too short", good[:2], "", 10, 10, "too short"},
		{"RSS grew", append(good[:3:3], mk(360*mb, 45, 11, 10, 0)), "", 10, 10, "RSS not flat"},
		{"RSS fell a lot", append(good[:3:3], mk(200*mb, 45, 11, 10, 0)), "", 10, 10, "RSS not flat"},
		{"goroutines grew", append(good[:3:3], mk(320*mb, 200, 11, 10, 0)), "", 10, 10, "goroutines besides the connections' grew"},
		{"more connections, each with its goroutine", append(good[:3:3], withConns(mk(320*mb, 200, 11, 10, 0), 175)), "", 10, 10, ""},
		{"fewer connections, goroutines the same", append(good[:3:3], withConns(mk(320*mb, 45, 11, 10, 0), 5)), "", 10, 10, "goroutines besides"},
		{"a bad file published", append(good[:3:3], mk(320*mb, 45, 12, 9, 0)), "", 10, 10, "reloads"},
		{"a good file not reloaded", append(good[:3:3], mk(320*mb, 45, 8, 10, 0)), "", 10, 10, "reloads"},
	}
	for _, tt := range tests {
		total := newWindow()
		if tt.bad != "" {
			total.addBad(tt.bad, "example")
		}
		failed := verdict(tt.samples, total, tt.good, tt.badN)
		switch {
		case tt.want == "" && len(failed) > 0:
			t.Errorf("%s: failed %q, want a pass", tt.name, failed)
		case tt.want != "" && (len(failed) != 1 || !strings.Contains(failed[0], tt.want)):
			t.Errorf("%s: failed %q, want one failure about %q", tt.name, failed, tt.want)
		}
	}
}

func TestParseVmRSS(t *testing.T) {
	got, err := parseVmRSS("Name:\tmirrorlist-serv\nVmPeak:\t 2000 kB\nVmRSS:\t  123456 kB\nThreads:\t9\n")
	if err != nil || got != 123456<<10 {
		t.Errorf("parseVmRSS = %d, %v", got, err)
	}
	for _, bad := range []string{"Name: x\n", "VmRSS: 12 MB\n", "VmRSS: many kB\n"} {
		if _, err := parseVmRSS(bad); err == nil {
			t.Errorf("parseVmRSS(%q): no error", bad)
		}
	}
}

func TestParseMetrics(t *testing.T) {
	text := "# HELP go_goroutines x\n# TYPE go_goroutines gauge\ngo_goroutines 42\n" +
		"mirrorlist_reloads_total{result=\"reloaded\"} 3\nmirrorlist_snapshot_timestamp_seconds 1.73248e+09\n"
	m, err := parseMetrics(strings.NewReader(text))
	if err != nil || m["go_goroutines"] != 42 || m[`mirrorlist_reloads_total{result="reloaded"}`] != 3 || m["mirrorlist_snapshot_timestamp_seconds"] != 1732480000 {
		t.Errorf("parseMetrics = %v, %v", m, err)
	}
	if _, err := parseMetrics(strings.NewReader("novalue\n")); err == nil {
		t.Error("parseMetrics accepted a line without a value")
	}
}

// TestSoakFiles checks the versions a soak swaps in: the second good
// protobuf is the first made a day later, the bad ones fail to load, and
// the steps alternate bad and good, each kind of each in turn.
func TestSoakFiles(t *testing.T) {
	set, err := fixtures.ReadFS(fixtures.Small, "small")
	if err != nil {
		t.Fatal(err)
	}
	created, err := protoTime(set.Snapshot)
	if err != nil || created != 1732480000 {
		t.Fatalf("protoTime = %d, %v", created, err)
	}
	f := newSoakFiles(set, created)
	ctx := context.Background()
	m, err := snapshot.BuildMirrors(ctx, f.good[1].Snapshot)
	if err != nil || m.Time() != created+86400 || m.Stats().Directories != 685 {
		t.Errorf("the later protobuf: %v, %v", m.Stats(), err)
	}
	if _, err := snapshot.BuildMirrors(ctx, f.badCache); err == nil {
		t.Error("the bad protobuf loads")
	}
	if _, err := snapshot.ParseGeoIP(context.Background(), f.badGeoIP); err == nil {
		t.Error("the bad GeoIP database loads")
	}
	if _, err := snapshot.ParseRoutes(ctx, f.badRoutes); err == nil {
		t.Error("the bad netblocks load")
	}
	var names []string
	for i := range 12 {
		s := f.step(i)
		if s.good != (i%2 == 1) {
			t.Errorf("step %d good = %v", i, s.good)
		}
		names = append(names, s.name)
	}
	want := "bad: protobuf cut short|good: Time 1732566400|bad: GeoIP database cut in half|good: Time 1732480000|bad: empty netblocks|good: Time 1732566400"
	if got := strings.Join(names[:6], "|"); got != want {
		t.Errorf("steps:\n%s\nwant\n%s", got, want)
	}
	if names[6] != names[0] || names[7] != "good: Time 1732480000" {
		t.Errorf("steps 6 and 7: %q, %q", names[6], names[7])
	}
}

// TestInputDirApply checks that a step replaces only the files that
// differ, by rename.
func TestInputDirApply(t *testing.T) {
	set, err := fixtures.ReadFS(fixtures.Small, "small")
	if err != nil {
		t.Fatal(err)
	}
	f := newSoakFiles(set, 1732480000)
	d, err := newInputDir(t.TempDir(), set)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{1, 1, 1, 2, 1, 2} { // bad: one file; good: it, and the protobuf for its Time
		n, err := d.apply(f.step(i))
		if err != nil || n != want {
			t.Errorf("step %d (%s): %d files replaced, %v; want %d", i, f.step(i).name, n, err, want)
		}
	}
	got, err := os.ReadFile(filepath.Join(d.dir, fixtures.CacheFile))
	if err != nil || string(got) != string(f.good[1].Snapshot) {
		t.Errorf("the protobuf after step 5 is not the later good one (%v)", err)
	}
}

// TestSoakShort runs a short soak over the small set: a server built from
// this module, loaded at 100 requests a second for 15 seconds while its
// inputs are replaced every 1.5 seconds. Every answer must be right and every
// replacement seen; RSS and goroutines are printed but not judged (the
// run is too short for them to settle: that is the long run's job).
func TestSoakShort(t *testing.T) {
	if testing.Short() {
		t.Skip("a 15-second soak, and a build of the server")
	}
	bin, err := buildServer(context.Background(), t.TempDir(), testWriter{t})
	if err != nil {
		t.Skip(err) // no go command at hand
	}
	o, err := parseSoakFlags([]string{"-scale", "small", "-duration", "15s", "-rate", "100", "-c", "4",
		"-swap", "1500ms", "-report", "5s", "-settle", "200ms", "-mix", "2000", "-server", bin}, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := prepareSoak(ctx, o, t.TempDir(), testWriter{t}, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.srv.stop(10 * time.Second); err != nil {
			t.Errorf("stopping the server: %v", err)
		}
	}()
	samples := s.measure(ctx, testWriter{t})
	if len(s.total.bad) > 0 {
		t.Errorf("bad answers: %s, e.g. %s", s.total.badLine(), firstExample(s.total))
	}
	if s.total.requests < 1200 {
		t.Errorf("%d requests, want about 1500", s.total.requests)
	}
	good, swaps := int(s.good.Load()), int(s.swaps.Load())
	if swaps < 8 || len(samples) < 3 {
		t.Fatalf("%d replacements, %d samples", swaps, len(samples))
	}
	for _, f := range verdict(samples, s.total, good, swaps-good) {
		if strings.HasPrefix(f, "reloads") || strings.HasPrefix(f, "bad answers") {
			t.Error(f)
		}
	}
}

// testWriter writes to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
