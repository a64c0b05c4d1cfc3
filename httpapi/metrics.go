package httpapi

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mirrorlist-go/mirrorlist-server/httpapi/accesslog"
	"github.com/mirrorlist-go/mirrorlist-server/resolve"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// metricsNamespace prefixes every metric of the server.
const metricsNamespace = "mirrorlist"

// requestKind is the kind label of a request: which answer it asked for.
// Mirrorlist requests with redirect= are counted apart, since they answer
// with a 302 and no list.
type requestKind uint8

const (
	kindMirrorlist requestKind = iota
	kindMetalink
	kindRedirect
	kindOther // a path that is neither: the 404 "not our kind"
	numRequestKinds
)

var requestKindNames = [numRequestKinds]string{"mirrorlist", "metalink", "redirect", "other"}

// requestKindOf returns the metrics kind of a routed request.
func requestKindOf(k resolve.Kind, redirect bool) requestKind {
	switch {
	case k == resolve.Metalink:
		return kindMetalink
	case redirect:
		return kindRedirect
	}
	return kindMirrorlist
}

// The status codes the handler gives, each its own label value; any other
// is counted as "other", which keeps the label bounded whatever a future
// change writes.
var statusCodes = [...]int{200, 302, 400, 404, 405, 414, 500, 503}

const numCodes = len(statusCodes) + 1 // the last one is "other"

// codeIndex returns the index of status in statusCodes, or that of "other".
func codeIndex(status int) int {
	for i, c := range statusCodes {
		if c == status {
			return i
		}
	}
	return len(statusCodes)
}

// Buckets of the two histograms. Requests take tens of microseconds when
// all is well, so the duration buckets start low; hosts per answer spans
// the empty answer to a global list of a few hundred mirrors.
var (
	durationBuckets = []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}
	hostsBuckets    = []float64{0, 1, 2, 5, 10, 20, 50, 100, 200, 500}
)

// MetricsConfig says where Metrics reads the values it computes at
// scrape time.
type MetricsConfig struct {
	// Holder gives the served snapshot: its time, age and counts. Nil
	// leaves the snapshot metrics out.
	Holder *snapshot.Holder
	// AccessLog gives the access-log counters. Nil leaves them out.
	AccessLog *accesslog.Writer
	// Now is the clock of the snapshot age; nil means time.Now.
	Now func() time.Time
}

// Metrics are the server's Prometheus metrics. The request path only
// touches counters and observers resolved at construction, indexed by
// small integers: no label lookup, no allocation per request. Build it
// with NewMetrics; a nil *Metrics records nothing.
type Metrics struct {
	requests [numRequestKinds][numCodes]prometheus.Counter
	duration [numRequestKinds]prometheus.Observer
	foundVia [resolve.FoundVias]prometheus.Counter
	hosts    prometheus.Observer

	openConns prometheus.Gauge
}

// NewMetrics creates the metrics and registers them with reg: the request
// metrics and, when cfg names them, collectors reading the snapshot and
// the access log at scrape time (the reload package registers its own).
// The registry is the caller's, so that tests and embedders can keep
// several apart.
func NewMetrics(reg prometheus.Registerer, cfg MetricsConfig) (*Metrics, error) {
	m := new(Metrics)
	cs := m.newRequestMetrics()
	m.openConns = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: metricsNamespace, Name: "http_open_connections",
		Help: "Client connections open on the main listener, idle keep-alive ones included (needs ConnState wired to the server).",
	})
	cs = append(cs, m.openConns)
	if cfg.Holder != nil {
		cs = append(cs, newSnapshotCollector(cfg.Holder, cfg.Now))
	}
	if cfg.AccessLog != nil {
		cs = append(cs, cfg.AccessLog.Collectors()...)
	}
	var errs []error
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("registering metrics: %w", err)
	}
	return m, nil
}

// newRequestMetrics creates the request metrics and resolves every
// label combination once, which also makes each series visible (at 0)
// from the first scrape.
func (m *Metrics) newRequestMetrics() []prometheus.Collector {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metricsNamespace, Name: "http_requests_total",
		Help: "Requests answered, by kind (mirrorlist, metalink, redirect, other) and status code.",
	}, []string{"kind", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: metricsNamespace, Name: "http_request_duration_seconds",
		Help:    "Time from the start of a request to the end of its answer's write, by kind.",
		Buckets: durationBuckets,
	}, []string{"kind"})
	foundVia := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metricsNamespace, Name: "answers_total",
		Help: "Mirror lists, metalinks and redirects answered, by the step that found the first mirrors.",
	}, []string{"found_via"})
	hosts := prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: metricsNamespace, Name: "answer_hosts",
		Help:    "Mirrors per answer (mirror lists, metalinks and redirects).",
		Buckets: hostsBuckets,
	})
	for k, kind := range requestKindNames {
		for c := range numCodes {
			m.requests[k][c] = requests.WithLabelValues(kind, codeLabel(c))
		}
		m.duration[k] = duration.WithLabelValues(kind)
	}
	for i := range m.foundVia {
		m.foundVia[i] = foundVia.WithLabelValues(resolve.FoundVia(i).String())
	}
	m.hosts = hosts
	return []prometheus.Collector{requests, duration, foundVia, hosts}
}

func codeLabel(i int) string {
	if i < len(statusCodes) {
		return strconv.Itoa(statusCodes[i])
	}
	return "other"
}

// observeRequest counts one request and its duration.
func (m *Metrics) observeRequest(kind requestKind, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests[kind][codeIndex(status)].Inc()
	m.duration[kind].Observe(d.Seconds())
}

// observeAnswer counts an answer that went through the selection: its
// found-via and how many mirrors it has.
func (m *Metrics) observeAnswer(a *resolve.Answer) {
	if m == nil || a.Form == resolve.Message {
		return
	}
	m.foundVia[a.FoundVia].Inc()
	m.hosts.Observe(float64(len(a.Mirrors)))
}

// ConnState keeps the open-connections gauge; set it as the main
// http.Server's ConnState. Each open connection holds a goroutine, so
// the gauge is what tells a goroutine count that follows the clients
// from one that leaks.
func (m *Metrics) ConnState(_ net.Conn, state http.ConnState) {
	if m == nil {
		return
	}
	switch state {
	case http.StateNew:
		m.openConns.Inc()
	case http.StateHijacked, http.StateClosed:
		m.openConns.Dec()
	}
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// snapshotCollector reports the served snapshot at scrape time: its
// creation time, age and size. Before the first load it reports nothing,
// rather than an age of zero that would read as "fresh".
type snapshotCollector struct {
	holder                         *snapshot.Holder
	now                            func() time.Time
	time, age, dirs, hosts, routes *prometheus.Desc
}

func newSnapshotCollector(h *snapshot.Holder, now func() time.Time) *snapshotCollector {
	if now == nil {
		now = time.Now
	}
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(metricsNamespace, "snapshot", name), help, nil, nil)
	}
	return &snapshotCollector{
		holder: h,
		now:    now,
		time:   desc("timestamp_seconds", "The served snapshot's creation time (its Time field), seconds since the epoch."),
		age:    desc("age_seconds", "How old the served snapshot is: now minus its creation time."),
		dirs:   desc("directories", "Directories in the served snapshot."),
		hosts:  desc("hosts", "Hosts (mirrors) in the served snapshot."),
		routes: desc("routes", "Global netblock routes in the served snapshot."),
	}
}

// Describe implements prometheus.Collector.
func (c *snapshotCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.time, c.age, c.dirs, c.hosts, c.routes} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.holder.Current()
	if s == nil {
		return
	}
	st := s.Stats()
	created := float64(s.Time())
	age := unixSeconds(c.now()) - created
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	gauge(c.time, created)
	gauge(c.age, age)
	gauge(c.dirs, float64(st.Directories))
	gauge(c.hosts, float64(st.Hosts))
	gauge(c.routes, float64(st.Routes))
}
