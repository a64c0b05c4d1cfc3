package httpapi

import (
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mirrorlist-go/mirrorlist-server/httpapi/accesslog"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// The paths of the health and admin endpoints.
const (
	HealthPath  = "/healthz"  // the process is alive (admin listener)
	ReadyPath   = "/readyz"   // a snapshot is being served (both listeners)
	MetricsPath = "/metrics"  // Prometheus metrics (admin listener)
	ReloadPath  = "/-/reload" // POST: reload the inputs now (admin listener)

	// ProfilingPath serves net/http/pprof (admin listener, if enabled).
	ProfilingPath = "/debug/pprof/"

	timeLayout = time.RFC3339 // times in health bodies
)

// ReadinessConfig configures a Readiness.
type ReadinessConfig struct {
	// Holder gives the served snapshot. Required.
	Holder *snapshot.Holder
	// Reloads, if set, gives what the reloader reports: the generation
	// and the last reload's failure, which the body shows.
	Reloads func() ReloadState
	// Verbose adds the last failure's error text to the body. It names
	// files and paths, so leave it off where the public can ask (the main
	// port behind a proxy) and on for the admin listener.
	Verbose bool
}

// ReloadState is what /readyz says about the reloads.
type ReloadState struct {
	// Generation counts the snapshots published; 0 leaves it out.
	Generation uint64
	// Failure is the last reload's outcome if it did not publish
	// ("failed", "refused"), and "" if it did or none failed yet.
	Failure string
	// FailureTime is when it failed, and Error why (shown only by a
	// verbose Readiness).
	FailureTime time.Time
	Error       string
}

// Readiness answers /readyz: 200 while a snapshot is served, 503 before the
// first one. A failed or refused reload leaves the previous snapshot
// served, so the server stays ready, and the body says what happened:
//
//	ready: generation 3, snapshot time 2026-11-24T21:02:01Z; last reload failed at 2026-11-24T21:30:00Z: mirrors: ...: unexpected EOF
type Readiness struct {
	cfg ReadinessConfig
}

// NewReadiness returns a Readiness for cfg.
func NewReadiness(cfg ReadinessConfig) *Readiness { return &Readiness{cfg: cfg} }

// ServeHTTP implements http.Handler. GET and HEAD are answered; other
// methods get 405.
func (rd *Readiness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !allowGet(w, r) {
		return
	}
	status, body := rd.check()
	writeHealth(w, r, status, body)
}

// check returns the status and body of a readiness answer.
func (rd *Readiness) check() (int, []byte) {
	var st ReloadState
	if rd.cfg.Reloads != nil {
		st = rd.cfg.Reloads()
	}
	snap := rd.cfg.Holder.Current()
	if snap == nil {
		b := append([]byte(nil), "not ready: no snapshot loaded yet"...)
		return http.StatusServiceUnavailable, append(rd.appendFailure(b, st), '\n')
	}
	b := append([]byte(nil), "ready: "...)
	if st.Generation > 0 {
		b = append(b, "generation "...)
		b = strconv.AppendUint(b, st.Generation, 10)
		b = append(b, ", "...)
	}
	b = append(b, "snapshot time "...)
	b = time.Unix(int64(snap.Time()), 0).UTC().AppendFormat(b, timeLayout)
	return http.StatusOK, append(rd.appendFailure(b, st), '\n')
}

// appendFailure appends "; last reload failed at T[: error]" when the last
// build failed or was refused.
func (rd *Readiness) appendFailure(b []byte, st ReloadState) []byte {
	if st.Failure == "" {
		return b
	}
	b = append(b, "; last reload "...)
	b = append(b, st.Failure...)
	b = append(b, " at "...)
	b = st.FailureTime.UTC().AppendFormat(b, timeLayout)
	if rd.cfg.Verbose && st.Error != "" {
		b = append(b, ": "...)
		b = accesslog.AppendValue(b, st.Error) // one line, whatever the error holds
	}
	return b
}

// Healthz answers /healthz: 200 "ok" as long as the process serves HTTP.
// It checks nothing else on purpose: a liveness probe that failed on bad
// input files would restart a server that is fine serving its last good
// snapshot.
func Healthz(w http.ResponseWriter, r *http.Request) {
	if !allowGet(w, r) {
		return
	}
	writeHealth(w, r, http.StatusOK, []byte("ok\n"))
}

// allowGet answers 405 to methods other than GET and HEAD and reports
// whether the request may go on.
func allowGet(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "method not allowed: use GET or HEAD", http.StatusMethodNotAllowed)
	return false
}

// writeHealth writes a plain-text health answer, uncached.
func writeHealth(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// AdminConfig configures the admin listener's handler.
type AdminConfig struct {
	// Gatherer is scraped at /metrics; nil leaves /metrics out.
	Gatherer prometheus.Gatherer
	// Ready answers /readyz. Required.
	Ready http.Handler
	// Reload answers /-/reload (the reloader's handler); nil leaves it
	// out.
	Reload http.Handler
	// Explain answers /-/explain/mirrorlist and /-/explain/metalink (an
	// Explainer); nil leaves them out.
	Explain http.Handler
	// Profiling serves net/http/pprof under /debug/pprof/, to profile
	// the server where it runs, under its real load.
	Profiling bool
}

// NewAdmin returns the handler of the admin listener: /healthz, /readyz,
// /metrics, POST /-/reload, the explain endpoints and, if asked for,
// /debug/pprof/. It is for operators and Prometheus only (an explanation
// shows private mirrors); bind it to a loopback or internal address.
func NewAdmin(cfg AdminConfig) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(HealthPath, Healthz)
	mux.Handle(ReadyPath, cfg.Ready)
	if cfg.Gatherer != nil {
		mux.Handle(MetricsPath, promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{}))
	}
	if cfg.Reload != nil {
		mux.Handle(ReloadPath, cfg.Reload)
	}
	if cfg.Explain != nil {
		mux.Handle(ExplainMirrorlistPath, cfg.Explain)
		mux.Handle(ExplainMetalinkPath, cfg.Explain)
	}
	if cfg.Profiling {
		mux.HandleFunc(ProfilingPath, pprof.Index)
		mux.HandleFunc(ProfilingPath+"cmdline", pprof.Cmdline)
		mux.HandleFunc(ProfilingPath+"profile", pprof.Profile)
		mux.HandleFunc(ProfilingPath+"symbol", pprof.Symbol)
		mux.HandleFunc(ProfilingPath+"trace", pprof.Trace)
	}
	return mux
}
