package httpapi

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	"github.com/mirrorlist-go/mirrorlist-server/resolve"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// scrape fetches /metrics from an admin handler and returns every sample
// keyed as exposed: `name{label="value",...}`, or the bare name.
func scrape(t *testing.T, admin http.Handler) map[string]float64 {
	t.Helper()
	resp := serve(admin, "GET", MetricsPath)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	samples := make(map[string]float64)
	sc := bufio.NewScanner(strings.NewReader(body(t, resp)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	return samples
}

// metricsRig is a handler with metrics over the tiny set, its admin
// handler and its parts.
type metricsRig struct {
	handler *Handler
	admin   http.Handler
	metrics *Metrics
	holder  *snapshot.Holder
	log     *AccessLog
}

func newMetricsRig(t *testing.T, s *snapshot.Snapshot, now func() time.Time) *metricsRig {
	t.Helper()
	rig := &metricsRig{holder: new(snapshot.Holder)}
	if s != nil {
		rig.holder.Store(s)
	}
	var err error
	rig.log, err = OpenAccessLog(AccessLogConfig{Path: filepath.Join(t.TempDir(), "access.log")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rig.log.Close() })
	reg := prometheus.NewPedanticRegistry()
	rig.metrics, err = NewMetrics(reg, MetricsConfig{Holder: rig.holder, AccessLog: rig.log, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	rig.handler = New(Config{Holder: rig.holder, Minimum: 5, AccessLog: rig.log, Metrics: rig.metrics, MaxQueryBytes: 200})
	rig.admin = NewAdmin(AdminConfig{Gatherer: reg, Ready: NewReadiness(ReadinessConfig{Holder: rig.holder})})
	return rig
}

const fedora = "repo=fedora-41&arch=x86_64"

// TestMetricsRequests sends each kind of request and checks that exactly
// the expected series moved.
func TestMetricsRequests(t *testing.T) {
	rig := newMetricsRig(t, tinySnapshot(t), nil)
	tests := []struct {
		target string
		want   []string // series that grow by one
	}{
		{"/mirrorlist?" + fedora + "&ip=" + fixtures.TinyAddrDE,
			[]string{`mirrorlist_http_requests_total{code="200",kind="mirrorlist"}`, `mirrorlist_answers_total{found_via="geoip"}`}},
		{"/mirrorlist?" + fedora + "&ip=" + fixtures.TinyAddrDENetblock,
			[]string{`mirrorlist_http_requests_total{code="200",kind="mirrorlist"}`, `mirrorlist_answers_total{found_via="netblocks"}`}},
		{"/mirrorlist?" + fedora + "&ip=" + fixtures.TinyAddrUSASN,
			[]string{`mirrorlist_http_requests_total{code="200",kind="mirrorlist"}`, `mirrorlist_answers_total{found_via="asn"}`}},
		{"/metalink?" + fedora + "&country=fr&ip=" + fixtures.TinyAddrUS,
			[]string{`mirrorlist_http_requests_total{code="200",kind="metalink"}`, `mirrorlist_answers_total{found_via="country"}`}},
		{"/mirrorlist?" + fedora + "&ip=" + fixtures.TinyAddrUnknown,
			[]string{`mirrorlist_http_requests_total{code="200",kind="mirrorlist"}`, `mirrorlist_answers_total{found_via="global"}`}},
		{"/mirrorlist?" + fedora + "&redirect=1&ip=" + fixtures.TinyAddrDE,
			[]string{`mirrorlist_http_requests_total{code="302",kind="redirect"}`, `mirrorlist_answers_total{found_via="geoip"}`}},
		{"/mirrorlist?repo=nonexistent&arch=x86_64",
			[]string{`mirrorlist_http_requests_total{code="404",kind="mirrorlist"}`}},
		{"/metalink?repo=%zz&arch=x",
			[]string{`mirrorlist_http_requests_total{code="400",kind="metalink"}`}},
		{"/favicon.ico",
			[]string{`mirrorlist_http_requests_total{code="404",kind="other"}`}},
		{"/mirrorlist?" + fedora + "&pad=" + strings.Repeat("x", 200),
			[]string{`mirrorlist_http_requests_total{code="414",kind="mirrorlist"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.target[:min(len(tt.target), 60)], func(t *testing.T) {
			before := scrape(t, rig.admin)
			serve(rig.handler, "GET", tt.target).Body.Close()
			after := scrape(t, rig.admin)
			for _, name := range tt.want {
				if d := after[name] - before[name]; d != 1 {
					t.Errorf("%s grew by %v, want 1", name, d)
				}
			}
			if d := after[`mirrorlist_http_request_duration_seconds_count{kind="`+kindLabel(tt.want[0])+`"}`] -
				before[`mirrorlist_http_request_duration_seconds_count{kind="`+kindLabel(tt.want[0])+`"}`]; d != 1 {
				t.Errorf("request duration count grew by %v, want 1", d)
			}
			answered := len(tt.want) > 1
			if d := after["mirrorlist_answer_hosts_count"] - before["mirrorlist_answer_hosts_count"]; (d == 1) != answered {
				t.Errorf("answer_hosts count grew by %v; answered: %v", d, answered)
			}
			if d := sumPrefix(after, "mirrorlist_http_requests_total") - sumPrefix(before, "mirrorlist_http_requests_total"); d != 1 {
				t.Errorf("requests in all grew by %v, want 1", d)
			}
		})
	}
}

// kindLabel extracts the kind label's value from a requests series name.
func kindLabel(series string) string {
	_, rest, _ := strings.Cut(series, `kind="`)
	kind, _, _ := strings.Cut(rest, `"`)
	return kind
}

func sumPrefix(samples map[string]float64, prefix string) float64 {
	var sum float64
	for k, v := range samples {
		if strings.HasPrefix(k, prefix) {
			sum += v
		}
	}
	return sum
}

// TestMetricsReadyzNotCounted checks that health checks on the main port
// stay out of the request counters.
func TestMetricsReadyzNotCounted(t *testing.T) {
	rig := newMetricsRig(t, tinySnapshot(t), nil)
	before := scrape(t, rig.admin)
	if resp := serve(rig.handler, "GET", ReadyPath); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /readyz: %d", resp.StatusCode)
	}
	if d := sumPrefix(scrape(t, rig.admin), "mirrorlist_http_requests_total") - sumPrefix(before, "mirrorlist_http_requests_total"); d != 0 {
		t.Errorf("/readyz counted as %v requests", d)
	}
}

// TestMetricsSnapshot checks the snapshot series: absent before the first
// load, then the served snapshot's time, age and counts.
func TestMetricsSnapshot(t *testing.T) {
	s := tinySnapshot(t)
	now := time.Unix(int64(s.Time())+90, 0)
	rig := newMetricsRig(t, nil, func() time.Time { return now })
	if _, ok := scrape(t, rig.admin)["mirrorlist_snapshot_age_seconds"]; ok {
		t.Error("snapshot age reported before a snapshot is loaded")
	}
	rig.holder.Store(s)
	got := scrape(t, rig.admin)
	st := s.Stats()
	want := map[string]float64{
		"mirrorlist_snapshot_age_seconds":       90,
		"mirrorlist_snapshot_timestamp_seconds": float64(s.Time()),
		"mirrorlist_snapshot_directories":       float64(st.Directories),
		"mirrorlist_snapshot_hosts":             float64(st.Hosts),
		"mirrorlist_snapshot_routes":            float64(st.Routes),
	}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s = %v, want %v", name, got[name], v)
		}
	}
}

// TestMetricsAccessLog checks that the access-log counters are the log's.
func TestMetricsAccessLog(t *testing.T) {
	rig := newMetricsRig(t, tinySnapshot(t), nil)
	for range 3 {
		serve(rig.handler, "GET", "/mirrorlist?"+fedora+"&ip="+fixtures.TinyAddrDE).Body.Close()
	}
	rig.log.Flush()
	got := scrape(t, rig.admin)
	if v := got["mirrorlist_access_log_lines_written_total"]; v != 3 {
		t.Errorf("lines written = %v, want 3", v)
	}
	for _, name := range []string{"mirrorlist_access_log_lines_dropped_total", "mirrorlist_access_log_write_errors_total"} {
		if v, ok := got[name]; !ok || v != 0 {
			t.Errorf("%s = %v (present: %v), want 0", name, v, ok)
		}
	}
}

// TestMetricsAllocs checks that recording a request and its answer
// allocates nothing. (Comparing whole requests with and without metrics
// would be flaky under -race, where sync.Pool drops items at random.)
func TestMetricsAllocs(t *testing.T) {
	m := newMetricsRig(t, nil, nil).metrics
	a := &resolve.Answer{Form: resolve.Text, FoundVia: "continent", Mirrors: make([]resolve.Mirror, 7)}
	n := testing.AllocsPerRun(100, func() {
		m.observeAnswer(a)
		m.observeRequest(kindMetalink, http.StatusOK, 42*time.Microsecond)
		m.observeRequest(kindOther, 418, time.Millisecond)
	})
	if n != 0 {
		t.Errorf("recording a request allocates %v times, want 0", n)
	}
}

// TestNewMetricsTwice checks that a second registration in one registry
// is an error, not a panic.
func TestNewMetricsTwice(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := NewMetrics(reg, MetricsConfig{}); err != nil {
		t.Fatal(err)
	}
	if _, err := NewMetrics(reg, MetricsConfig{}); err == nil {
		t.Error("registering the metrics twice succeeded")
	}
}

func TestCodeIndex(t *testing.T) {
	for i, c := range statusCodes {
		if codeIndex(c) != i || codeLabel(i) != strconv.Itoa(c) {
			t.Errorf("code %d: index %d, label %s", c, codeIndex(c), codeLabel(codeIndex(c)))
		}
	}
	for _, c := range []int{0, 201, 418, 599} {
		if codeLabel(codeIndex(c)) != "other" {
			t.Errorf("code %d is labelled %s, want other", c, codeLabel(codeIndex(c)))
		}
	}
}

// TestMetricsOpenConnections opens keep-alive connections to a server
// whose ConnState is the metrics', and checks that the gauge counts them
// while they are open and drops to zero once they are closed.
func TestMetricsOpenConnections(t *testing.T) {
	rig := newMetricsRig(t, tinySnapshot(t), nil)
	srv := httptest.NewUnstartedServer(rig.handler)
	srv.Config.ConnState = rig.metrics.ConnState
	srv.Start()
	defer srv.Close()

	const conns = 3
	var clients []*http.Client
	for range conns {
		c := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
		clients = append(clients, c)
		resp, err := c.Get(srv.URL + "/mirrorlist?" + fedora)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body) // read to the end, or the client closes the connection
		resp.Body.Close()
	}
	const gauge = "mirrorlist_http_open_connections"
	if got := scrape(t, rig.admin)[gauge]; got != conns {
		t.Errorf("%s = %v with %d keep-alive connections open, want %d", gauge, got, conns, conns)
	}
	for _, c := range clients {
		c.CloseIdleConnections()
	}
	deadline := time.Now().Add(5 * time.Second)
	for scrape(t, rig.admin)[gauge] != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v five seconds after every connection closed, want 0", gauge, scrape(t, rig.admin)[gauge])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
