package httpapi

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	"github.com/mirrorlist-go/mirrorlist-server/httpapi/accesslog"
	"github.com/mirrorlist-go/mirrorlist-server/resolve"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// requests returns the request counter of one kind and status.
func (rig *metricsRig) requests(kind requestKind, status int) float64 {
	return testutil.ToFloat64(rig.metrics.requests[kind][codeIndex(status)])
}

// allRequests returns the sum of the request counters.
func (rig *metricsRig) allRequests() float64 {
	var sum float64
	for k := range rig.metrics.requests {
		for c := range rig.metrics.requests[k] {
			sum += testutil.ToFloat64(rig.metrics.requests[k][c])
		}
	}
	return sum
}

// observations returns how many values the histogram named name (with
// the label pairs given, if any) has observed, as the registry reports it.
func (rig *metricsRig) observations(t *testing.T, name string, labels ...string) uint64 {
	t.Helper()
	families, err := rig.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				if !hasLabel(m.GetLabel(), labels[i], labels[i+1]) {
					continue metrics
				}
			}
			return m.GetHistogram().GetSampleCount()
		}
	}
	t.Fatalf("no histogram %s%v", name, labels)
	return 0
}

func hasLabel(pairs []*dto.LabelPair, name, value string) bool {
	for _, p := range pairs {
		if p.GetName() == name && p.GetValue() == value {
			return true
		}
	}
	return false
}

// metricsRig is a handler with metrics over the tiny set, its admin
// handler and its parts.
type metricsRig struct {
	handler *Handler
	admin   http.Handler
	metrics *Metrics
	reg     *prometheus.Registry
	holder  *snapshot.Holder
	log     *accesslog.Writer
}

func newMetricsRig(t *testing.T, s *snapshot.Snapshot, now func() time.Time) *metricsRig {
	t.Helper()
	rig := &metricsRig{holder: new(snapshot.Holder)}
	if s != nil {
		rig.holder.Store(s)
	}
	var err error
	rig.log, err = accesslog.Open(accesslog.Config{Path: filepath.Join(t.TempDir(), "access.log")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rig.log.Close() })
	reg := prometheus.NewPedanticRegistry()
	rig.reg = reg
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
// the expected counters moved.
func TestMetricsRequests(t *testing.T) {
	rig := newMetricsRig(t, fixtures.TinySnapshot(), nil)
	const unanswered = resolve.FoundVia(255) // no selection: no answer counted
	tests := []struct {
		target string
		kind   requestKind
		status int
		via    resolve.FoundVia
	}{
		{"/mirrorlist?" + fedora + "&ip=" + fixtures.TinyAddrDE, kindMirrorlist, 200, resolve.ViaGeoIP},
		{"/mirrorlist?" + fedora + "&ip=" + fixtures.TinyAddrDENetblock, kindMirrorlist, 200, resolve.ViaNetblocks},
		{"/mirrorlist?" + fedora + "&ip=" + fixtures.TinyAddrUSASN, kindMirrorlist, 200, resolve.ViaASN},
		{"/metalink?" + fedora + "&country=fr&ip=" + fixtures.TinyAddrUS, kindMetalink, 200, resolve.ViaCountry},
		{"/mirrorlist?" + fedora + "&ip=" + fixtures.TinyAddrUnknown, kindMirrorlist, 200, resolve.ViaGlobal},
		{"/mirrorlist?" + fedora + "&redirect=1&ip=" + fixtures.TinyAddrDE, kindRedirect, 302, resolve.ViaGeoIP},
		{"/mirrorlist?repo=nonexistent&arch=x86_64", kindMirrorlist, 404, unanswered},
		{"/metalink?repo=%zz&arch=x", kindMetalink, 400, unanswered},
		{"/favicon.ico", kindOther, 404, unanswered},
		{"/mirrorlist?" + fedora + "&pad=" + strings.Repeat("x", 200), kindMirrorlist, 414, unanswered},
	}
	for _, tt := range tests {
		t.Run(tt.target[:min(len(tt.target), 60)], func(t *testing.T) {
			kind := requestKindNames[tt.kind]
			requests, all := rig.requests(tt.kind, tt.status), rig.allRequests()
			durations := rig.observations(t, "mirrorlist_http_request_duration_seconds", "kind", kind)
			hosts := rig.observations(t, "mirrorlist_answer_hosts")
			var via float64
			if tt.via != unanswered {
				via = testutil.ToFloat64(rig.metrics.foundVia[tt.via])
			}

			serve(rig.handler, "GET", tt.target).Body.Close()

			if d := rig.requests(tt.kind, tt.status) - requests; d != 1 {
				t.Errorf("requests{kind=%q,code=\"%d\"} grew by %v, want 1", kind, tt.status, d)
			}
			if d := rig.allRequests() - all; d != 1 {
				t.Errorf("requests in all grew by %v, want 1", d)
			}
			if d := rig.observations(t, "mirrorlist_http_request_duration_seconds", "kind", kind) - durations; d != 1 {
				t.Errorf("request duration count grew by %v, want 1", d)
			}
			answered := tt.via != unanswered
			if d := rig.observations(t, "mirrorlist_answer_hosts") - hosts; (d == 1) != answered {
				t.Errorf("answer_hosts count grew by %v; answered: %v", d, answered)
			}
			if answered {
				if d := testutil.ToFloat64(rig.metrics.foundVia[tt.via]) - via; d != 1 {
					t.Errorf("answers{found_via=%q} grew by %v, want 1", tt.via, d)
				}
			}
		})
	}
}

// TestMetricsReadyzNotCounted checks that health checks on the main port
// stay out of the request counters.
func TestMetricsReadyzNotCounted(t *testing.T) {
	rig := newMetricsRig(t, fixtures.TinySnapshot(), nil)
	before := rig.allRequests()
	if resp := serve(rig.handler, "GET", ReadyPath); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /readyz: %d", resp.StatusCode)
	}
	if d := rig.allRequests() - before; d != 0 {
		t.Errorf("/readyz counted as %v requests", d)
	}
}

// TestMetricsSnapshot checks the snapshot series: absent before the first
// load, then the served snapshot's time, age and counts.
func TestMetricsSnapshot(t *testing.T) {
	s := fixtures.TinySnapshot()
	now := time.Unix(int64(s.Time())+90, 0)
	rig := newMetricsRig(t, nil, func() time.Time { return now })
	names := []string{"mirrorlist_snapshot_age_seconds", "mirrorlist_snapshot_timestamp_seconds",
		"mirrorlist_snapshot_directories", "mirrorlist_snapshot_hosts", "mirrorlist_snapshot_routes"}
	if n, err := testutil.GatherAndCount(rig.reg, names...); err != nil || n != 0 {
		t.Errorf("%d snapshot series before a snapshot is loaded (%v), want none", n, err)
	}
	rig.holder.Store(s)
	st := s.Stats()
	want := fmt.Sprintf(`# HELP mirrorlist_snapshot_age_seconds How old the served snapshot is: now minus its creation time.
# TYPE mirrorlist_snapshot_age_seconds gauge
mirrorlist_snapshot_age_seconds 90
# HELP mirrorlist_snapshot_directories Directories in the served snapshot.
# TYPE mirrorlist_snapshot_directories gauge
mirrorlist_snapshot_directories %d
# HELP mirrorlist_snapshot_hosts Hosts (mirrors) in the served snapshot.
# TYPE mirrorlist_snapshot_hosts gauge
mirrorlist_snapshot_hosts %d
# HELP mirrorlist_snapshot_routes Global netblock routes in the served snapshot.
# TYPE mirrorlist_snapshot_routes gauge
mirrorlist_snapshot_routes %d
# HELP mirrorlist_snapshot_timestamp_seconds The served snapshot's creation time (its Time field), seconds since the epoch.
# TYPE mirrorlist_snapshot_timestamp_seconds gauge
mirrorlist_snapshot_timestamp_seconds %d
`, st.Directories, st.Hosts, st.Routes, s.Time())
	if err := testutil.GatherAndCompare(rig.reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
}

// TestMetricsAccessLog checks that the access-log counters are the log's.
func TestMetricsAccessLog(t *testing.T) {
	rig := newMetricsRig(t, fixtures.TinySnapshot(), nil)
	for range 3 {
		serve(rig.handler, "GET", "/mirrorlist?"+fedora+"&ip="+fixtures.TinyAddrDE).Body.Close()
	}
	rig.log.Flush()
	const want = `# HELP mirrorlist_access_log_lines_dropped_total Access-log lines lost: buffer full, file failing, or logged after close.
# TYPE mirrorlist_access_log_lines_dropped_total counter
mirrorlist_access_log_lines_dropped_total 0
# HELP mirrorlist_access_log_lines_written_total Access-log lines written to the file.
# TYPE mirrorlist_access_log_lines_written_total counter
mirrorlist_access_log_lines_written_total 3
# HELP mirrorlist_access_log_write_errors_total Failed writes, opens and closes of the access-log file.
# TYPE mirrorlist_access_log_write_errors_total counter
mirrorlist_access_log_write_errors_total 0
`
	if err := testutil.GatherAndCompare(rig.reg, strings.NewReader(want),
		"mirrorlist_access_log_lines_written_total", "mirrorlist_access_log_lines_dropped_total", "mirrorlist_access_log_write_errors_total"); err != nil {
		t.Error(err)
	}
}

// TestMetricsAllocs checks that recording a request and its answer
// allocates nothing. (Comparing whole requests with and without metrics
// would be flaky under -race, where sync.Pool drops items at random.)
func TestMetricsAllocs(t *testing.T) {
	m := newMetricsRig(t, nil, nil).metrics
	a := &resolve.Answer{Form: resolve.Text, FoundVia: resolve.ViaContinent, Mirrors: make([]resolve.Mirror, 7)}
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
	rig := newMetricsRig(t, fixtures.TinySnapshot(), nil)
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
	open := func() float64 { return testutil.ToFloat64(rig.metrics.openConns) }
	if got := open(); got != conns {
		t.Errorf("%s = %v with %d keep-alive connections open, want %d", gauge, got, conns, conns)
	}
	for _, c := range clients {
		c.CloseIdleConnections()
	}
	deadline := time.Now().Add(5 * time.Second)
	for open() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v five seconds after every connection closed, want 0", gauge, open())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
