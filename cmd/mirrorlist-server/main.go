// Command mirrorlist-server answers the mirrorlist and metalink requests of
// Fedora's clients from MirrorManager's snapshot: a drop-in replacement for
// the production server, with the same flags.
//
// main only wires the packages together: reload loads the inputs into a
// snapshot and keeps it current, httpapi serves it, keeps the access log
// and exposes the metrics and health endpoints.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"

	"github.com/mirrorlist-go/mirrorlist-server/httpapi/accesslog"
	"github.com/mirrorlist-go/mirrorlist-server/reload"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1 // a start-up input is missing or bad, or serving failed
	exitUsage = 2 // the command line is wrong
)

// run is the whole program: it returns the exit status. SIGTERM and SIGINT
// shut the server down gracefully, and a second one exits at once; SIGHUP
// reloads the inputs and reopens the access log.
func run(args []string, stdout, stderr io.Writer) int {
	term := make(chan os.Signal, 2)
	signal.Notify(term, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(term)
	// SIGHUP is caught from the start, so that one arriving during the
	// load does not kill the process (its default action).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	return runWith(context.Background(), args, env{stdout: stdout, stderr: stderr, hup: hup, term: term, exit: os.Exit})
}

// env is what runWith needs from the outside world; tests supply their
// own signals and exit, and learn the listening addresses through ready.
type env struct {
	stdout, stderr io.Writer
	hup            <-chan os.Signal // SIGHUP
	term           <-chan os.Signal // SIGTERM and SIGINT
	exit           func(code int)   // leaves at once, on a second term signal; nil means os.Exit
	// ready is called once the first snapshot is served, with the
	// addresses of the main and the admin listener (nil if none).
	ready func(main, admin net.Addr)
	// wrap, if set, wraps the main handler: tests hold requests in
	// flight with it.
	wrap func(http.Handler) http.Handler
}

// runWith runs the server until ctx is done or a term signal arrives, and
// returns the exit status.
func runWith(ctx context.Context, args []string, e env) int {
	o, fs, err := parseFlags(args)
	if err != nil {
		fmt.Fprintf(e.stderr, "mirrorlist-server: %v\n\n", err)
		usage(e.stderr, fs)
		return exitUsage
	}
	if o.help {
		usage(e.stdout, fs)
		return exitOK
	}
	if o.probe != "" {
		return probe(ctx, o.probe, probeTimeout, e.stdout, e.stderr)
	}
	logger := newLogger(o.logLevel, o.logFormat, e.stderr)
	defer func() { _ = logger.Sync() }()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	exit := e.exit
	if exit == nil {
		exit = os.Exit
	}
	defer onSignals(e.term, cancel, exit, logger)()
	if err := serveOptions(ctx, o, logger, e); err != nil {
		fmt.Fprintf(e.stderr, "mirrorlist-server: %v\n", err)
		return exitFail
	}
	return exitOK
}

// serveOptions prepares the inputs and the access log, starts the
// listeners, loads the first snapshot and serves until ctx is done.
func serveOptions(ctx context.Context, o *options, logger *zap.Logger, e env) error {
	if o.demo {
		dir, err := os.MkdirTemp("", "mirrorlist-demo-")
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		defer os.RemoveAll(dir)
		if err := prepareDemo(o, dir); err != nil {
			return err
		}
	}
	if err := checkInputs(o.paths); err != nil {
		return fmt.Errorf("cannot read the inputs:\n%w", err)
	}
	accessLog, err := openAccessLog(o.logPath, logger)
	if err != nil {
		return err
	}
	defer closeAccessLog(accessLog, logger)
	a, err := newApp(o, logger, accessLog)
	if err != nil {
		return err
	}
	return a.serve(ctx, e)
}

// openAccessLog opens the statistics log, or returns nil (no log) for an
// empty path.
func openAccessLog(path string, logger *zap.Logger) (*accesslog.Writer, error) {
	if path == "" {
		return nil, nil
	}
	l, err := accesslog.Open(accesslog.Config{Path: path, Logger: logger.Named("accesslog")})
	if err != nil {
		return nil, err // names the file
	}
	return l, nil
}

// closeAccessLog writes the access log's last lines and reports what was
// lost, if anything.
func closeAccessLog(l *accesslog.Writer, logger *zap.Logger) {
	if l == nil {
		return
	}
	err := l.Close()
	fields := []zap.Field{
		zap.Uint64("written", l.Written()),
		zap.Uint64("dropped", l.Dropped()),
		zap.Uint64("write_errors", l.WriteErrors()),
	}
	if err != nil || l.Dropped() > 0 || l.WriteErrors() > 0 {
		logger.Warn("access log closed with losses", append(fields, zap.Error(err))...)
		return
	}
	logger.Info("access log closed", fields...)
}

// logStart writes the one structured start-up line: inputs, counts and
// load time, and the snapshot's first warnings if it has any.
func logStart(logger *zap.Logger, o *options, res reload.Result, addr, admin net.Addr) {
	adminAddr := ""
	if admin != nil {
		adminAddr = admin.String()
	}
	fields := []zap.Field{
		zap.Stringer("listen", addr),
		zap.String("admin_listen", adminAddr),
		zap.String("cache", o.paths.Cache),
		zap.String("geoip", o.paths.GeoIP),
		zap.String("global_netblocks", o.paths.Routes),
		zap.String("cccsv", o.paths.Continents),
		zap.String("access_log", o.logPath),
		zap.Int("minimum", o.minimum),
		zap.Bool("demo", o.demo),
		zap.Bool("trust_all_forwarded_for", o.trustedProxies == nil),
		zap.Duration("load_time", res.Duration),
	}
	logger.Info("mirrorlist-server started", append(fields, reload.StatsFields(res.Stats)...)...)
	if st := res.Stats; st.WarningCount > 0 {
		logger.Warn("the snapshot has inconsistencies (served anyway)",
			zap.Int("count", st.WarningCount), zap.Strings("first", st.Warnings))
	}
}
