package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"

	"github.com/mirrorlist-go/mirrorlist-server/cmd/mirrorlist-server/memlimit"
	"github.com/mirrorlist-go/mirrorlist-server/httpapi"
	"github.com/mirrorlist-go/mirrorlist-server/httpapi/accesslog"
	"github.com/mirrorlist-go/mirrorlist-server/httpapi/gather"
	"github.com/mirrorlist-go/mirrorlist-server/reload"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// app is the server's parts, wired: the holder of the served snapshot and
// the reloader that fills it, the access log, and (with an admin
// listener) the metrics registry.
type app struct {
	o         *options
	logger    *zap.Logger
	holder    *snapshot.Holder
	accessLog *accesslog.Writer
	reg       *prometheus.Registry // nil without an admin listener
	metrics   *httpapi.Metrics     // nil without an admin listener
	reloader  *reload.Reloader
	memory    *memlimit.Limiter
}

// newApp builds the parts. It reads nothing yet: serve does the first
// load.
func newApp(o *options, logger *zap.Logger, accessLog *accesslog.Writer) (*app, error) {
	a := &app{o: o, logger: logger, holder: new(snapshot.Holder), accessLog: accessLog}
	if o.adminListen != "" {
		if err := a.newMetrics(); err != nil {
			return nil, err
		}
	}
	if err := a.newMemoryLimit(); err != nil {
		return nil, err
	}
	cfg := reload.Config{
		Paths:       o.paths,
		Holder:      a.holder,
		Settle:      o.reloadSettle,
		AllowShrink: o.allowShrink,
		Logger:      logger.Named("reload"),
		OnResult:    a.onResult,
	}
	if a.reg != nil {
		cfg.Registerer = a.reg
	}
	r, err := reload.New(cfg)
	if err != nil {
		return nil, err
	}
	a.reloader = r
	return a, nil
}

// newMetrics creates the registry, with the Go runtime and process
// collectors and the HTTP metrics; the reloader registers its own.
func (a *app) newMetrics() error {
	a.reg = prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := a.reg.Register(c); err != nil {
			return fmt.Errorf("registering metrics: %w", err)
		}
	}
	m, err := httpapi.NewMetrics(a.reg, httpapi.MetricsConfig{Holder: a.holder, AccessLog: a.accessLog})
	if err != nil {
		return err
	}
	a.metrics = m
	return nil
}

// mainHandler answers the clients: mirrorlist, metalink and /readyz.
func (a *app) mainHandler() http.Handler { return httpapi.New(a.publicConfig()) }

// publicConfig is the main port's handler configuration, which the
// explain endpoints share so that they explain the answers it gives.
func (a *app) publicConfig() httpapi.Config {
	return httpapi.Config{
		Holder:         a.holder,
		Minimum:        a.o.minimum,
		AccessLog:      a.accessLog,
		Logger:         a.logger,
		Metrics:        a.metrics,
		TrustedProxies: a.o.trustedProxies,
		MaxQueryBytes:  a.o.maxQueryBytes,
		// The main port may be public: no error texts, which name files.
		Ready: httpapi.NewReadiness(httpapi.ReadinessConfig{Holder: a.holder, Reloads: a.reloadState}),
	}
}

// adminHandler answers the operators: health, metrics, reloads and
// explanations.
func (a *app) adminHandler() http.Handler {
	return httpapi.NewAdmin(httpapi.AdminConfig{
		Gatherer: a.reg,
		Ready:    httpapi.NewReadiness(httpapi.ReadinessConfig{Holder: a.holder, Reloads: a.reloadState, Verbose: true}),
		Reload:   a.reloader.Handler(),
		Explain: httpapi.NewExplainer(httpapi.ExplainConfig{
			Public:     a.publicConfig(),
			Generation: func() uint64 { return a.reloader.Status().Generation },
		}),
		Profiling: a.o.adminPprof,
	})
}

// reloadState gives /readyz the reloader's status in httpapi's terms.
func (a *app) reloadState() httpapi.ReloadState {
	return readinessOf(a.reloader.Status())
}

// readinessOf is what /readyz reports of a reloader's status: the
// failure of the last build, unless it was cleared since.
func readinessOf(st reload.Status) httpapi.ReloadState {
	rs := httpapi.ReloadState{Generation: st.Generation}
	if st.LastOutcome == reload.Failed || st.LastOutcome == reload.Refused {
		rs.Failure, rs.FailureTime, rs.Error = st.LastOutcome.String(), st.LastErrorTime, st.LastError
	}
	return rs
}

// listen opens the main listener and, if configured, the admin one, before
// the first load, so that a port in use fails at once rather than after
// the load.
func (a *app) listen(wrap func(http.Handler) http.Handler) ([]*listener, error) {
	mainAddr := net.JoinHostPort(a.o.listen, strconv.Itoa(int(a.o.port)))
	ln, err := net.Listen("tcp", mainAddr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	h := a.mainHandler()
	if wrap != nil {
		h = wrap(h)
	}
	srv := newServer(h, a.o.limits, a.logger.Named("http"))
	srv.ConnState = a.metrics.ConnState
	srv.ConnContext = gather.ConnContext
	list := []*listener{{name: "main", ln: gather.NewListener(ln), srv: srv}}
	if a.o.adminListen == "" {
		return list, nil
	}
	aln, err := net.Listen("tcp", a.o.adminListen)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("listen (--admin-listen): %w", err)
	}
	return append(list, &listener{name: "admin", ln: aln, srv: newServer(a.adminHandler(), a.o.limits, a.logger.Named("admin"))}), nil
}

// serve listens, starts the reloader, which makes the first load, then
// serves and reloads until ctx is done, and shuts down. The listeners
// answer from the start: /healthz says the process is up and /readyz says
// 503 during the first load, which at Fedora's scale takes seconds.
func (a *app) serve(ctx context.Context, e env) error {
	list, err := a.listen(e.wrap)
	if err != nil {
		return err
	}
	srvs := startServers(list...)
	reloading := make(chan error, 1)
	go func() { reloading <- a.reloader.Run(ctx) }()
	res, err := a.reloader.First(ctx)
	if err != nil {
		shutErr := srvs.shutdown(a.o.shutdownTimeout)
		<-reloading           // it ended with the first load, or ends with ctx
		if ctx.Err() != nil { // a signal during the load: a clean stop
			return shutErr
		}
		return errors.Join(fmt.Errorf("loading the inputs: %w", err), shutErr)
	}
	a.started(res, list, e)
	return a.loop(ctx, srvs, reloading, e.hup)
}

// started reports the first load: the start-up log line, the demo's
// examples, and e.ready.
func (a *app) started(res reload.Result, list []*listener, e env) {
	mainAddr := list[0].ln.Addr()
	var adminAddr net.Addr
	if len(list) > 1 {
		adminAddr = list[1].ln.Addr()
	}
	logStart(a.logger, a.o, res, mainAddr, adminAddr)
	if a.o.demo {
		printDemo(e.stdout, a.holder.Current(), mainAddr, adminAddr, a.o)
	}
	if e.ready != nil {
		e.ready(mainAddr, adminAddr)
	}
}

// loop answers SIGHUP until ctx is done or a server fails, then shuts
// the servers down. reloading gives Run's return, once ctx has ended.
func (a *app) loop(ctx context.Context, srvs *servers, reloading <-chan error, hup <-chan os.Signal) error {
	for {
		select {
		case <-ctx.Done():
			err := srvs.shutdown(a.o.shutdownTimeout)
			<-reloading // Run ends with ctx; a build under way is abandoned
			if err == nil {
				a.logger.Info("server stopped")
			}
			return err
		case err := <-srvs.failed:
			return errors.Join(err, srvs.shutdown(a.o.shutdownTimeout))
		case <-hup:
			a.hangup()
		}
	}
}

// hangup answers SIGHUP: it asks the reloader for a reload of every
// input, after the settle time, and reopens the access log after a
// rotation.
func (a *app) hangup() {
	a.logger.Info("SIGHUP: reloading the inputs and reopening the access log", zap.String("access_log", a.o.logPath))
	if err := a.accessLog.Reopen(); err != nil {
		a.logger.Error("access log reopen failed", zap.Error(err))
	}
	a.reloader.Trigger()
}
