package reload

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metricsNamespace prefixes the reload metrics, as it does the server's
// others.
const metricsNamespace = "mirrorlist"

// Metrics are the reload metrics: builds by outcome, whether the last
// one was published, when, and the generation served. Run sets them
// after every build; a nil *Metrics records nothing.
type Metrics struct {
	builds          [numOutcomes]prometheus.Counter // Unchanged's stays nil: not a build
	lastSuccessful  prometheus.Gauge
	lastSuccessTime prometheus.Gauge
	lastFailureTime prometheus.Gauge
	generation      prometheus.Gauge
	loadDuration    prometheus.Gauge
}

// NewMetrics creates the reload metrics and registers them with reg.
// New calls it for Config.Registerer.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := new(Metrics)
	builds := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metricsNamespace, Name: "reloads_total",
		Help: "Snapshot builds, the first load included, by result: reloaded (published), failed (an input was bad), refused (shrink guard).",
	}, []string{"result"})
	for _, o := range []Outcome{Reloaded, Failed, Refused} {
		m.builds[o] = builds.WithLabelValues(o.String())
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: metricsNamespace, Name: name, Help: help})
	}
	m.lastSuccessful = gauge("last_reload_successful", "Whether the last snapshot build was published, or every input is back to the version served (1), or it failed or was refused (0).")
	m.lastSuccessTime = gauge("last_reload_success_timestamp_seconds", "When a snapshot was last published, seconds since the epoch.")
	m.lastFailureTime = gauge("last_reload_failure_timestamp_seconds", "When a snapshot build last failed or was refused, seconds since the epoch; 0 if never.")
	m.generation = gauge("snapshot_generation", "Snapshots published since start, the first load included.")
	m.loadDuration = gauge("snapshot_load_duration_seconds", "Wall time of the build that produced the served snapshot.")
	var errs []error
	for _, c := range []prometheus.Collector{builds, m.lastSuccessful, m.lastSuccessTime, m.lastFailureTime, m.generation, m.loadDuration} {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("registering the reload metrics: %w", err)
	}
	return m, nil
}

// observe records the result of a build, or of the return to the served
// inputs that clears a failure (Unchanged).
func (m *Metrics) observe(res Result) {
	if m == nil {
		return
	}
	end := unixSeconds(res.Start.Add(res.Duration))
	switch res.Outcome {
	case Unchanged:
		m.lastSuccessful.Set(1)
	case Reloaded:
		m.builds[Reloaded].Inc()
		m.lastSuccessful.Set(1)
		m.lastSuccessTime.Set(end)
		m.generation.Set(float64(res.Generation))
		m.loadDuration.Set(res.Duration.Seconds())
	case Failed, Refused:
		m.builds[res.Outcome].Inc()
		m.lastSuccessful.Set(0)
		m.lastFailureTime.Set(end)
	}
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
