// Command mirrorlist-server answers the mirrorlist and metalink requests of
// Fedora's clients from MirrorManager's snapshot: a drop-in replacement for
// the production server, with the same flags.
//
// main only wires the packages together: snapshot loads the inputs,
// httpapi serves them and keeps the access log.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"go.uber.org/zap"

	"github.com/mirrorlist-go/mirrorlist-server/httpapi"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
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
// shut the server down gracefully; SIGHUP reopens the access log.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// SIGHUP is caught from the start, so that one arriving during the
	// load does not kill the process (its default action).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	return runWith(ctx, args, env{stdout: stdout, stderr: stderr, hup: hup})
}

// env is what runWith needs from the outside world; tests supply their
// own signals and learn the listening address through ready.
type env struct {
	stdout, stderr io.Writer
	hup            <-chan os.Signal
	ready          func(addr net.Addr) // called once the server accepts connections
}

// runWith runs the server until ctx is done and returns the exit status.
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
	logger := newLogger(o.logLevel, o.logFormat, e.stderr)
	defer func() { _ = logger.Sync() }()
	if err := serveOptions(ctx, o, logger, e); err != nil {
		fmt.Fprintf(e.stderr, "mirrorlist-server: %v\n", err)
		return exitFail
	}
	return exitOK
}

// serveOptions loads the inputs, opens the access log, listens and serves
// until ctx is done.
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
	snap, err := snapshot.Load(ctx, o.paths)
	if err != nil {
		return fmt.Errorf("loading the inputs: %w", err)
	}
	holder := new(snapshot.Holder)
	holder.Store(snap)

	accessLog, err := openAccessLog(o.logPath, logger)
	if err != nil {
		return err
	}
	defer closeAccessLog(accessLog, logger)

	ln, err := net.Listen("tcp", net.JoinHostPort(o.listen, strconv.Itoa(int(o.port))))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	logStart(logger, o, snap.Stats(), ln.Addr())
	if o.demo {
		printDemo(e.stdout, snap, ln.Addr(), o.logPath)
	}
	if e.ready != nil {
		e.ready(ln.Addr())
	}

	handler := httpapi.New(httpapi.Config{
		Holder:    holder,
		Minimum:   o.minimum,
		AccessLog: accessLog,
		Logger:    logger,
	})
	srv := newServer(handler, logger)
	// RELOAD: the reload engineer wires the file watcher here, e.g.
	//	r, err := reload.New(reload.Config{Paths: o.paths, Holder: holder, Logger: logger})
	//	go r.Run(ctx)
	// and adds r.Trigger() to onHangup below.
	onHangup := func() {
		logger.Info("SIGHUP: reopening the access log", zap.String("path", o.logPath))
		if err := accessLog.Reopen(); err != nil {
			logger.Error("access log reopen failed", zap.Error(err))
		}
	}
	return serve(ctx, srv, ln, e.hup, onHangup, o.shutdownTimeout, logger)
}

// openAccessLog opens the statistics log, or returns nil (no log) for an
// empty path.
func openAccessLog(path string, logger *zap.Logger) (*httpapi.AccessLog, error) {
	if path == "" {
		return nil, nil
	}
	l, err := httpapi.OpenAccessLog(httpapi.AccessLogConfig{Path: path, Logger: logger.Named("accesslog")})
	if err != nil {
		return nil, err // names the file
	}
	return l, nil
}

// closeAccessLog writes the access log's last lines and reports what was
// lost, if anything.
func closeAccessLog(l *httpapi.AccessLog, logger *zap.Logger) {
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
func logStart(logger *zap.Logger, o *options, st snapshot.Stats, addr net.Addr) {
	logger.Info("mirrorlist-server started",
		zap.Stringer("listen", addr),
		zap.String("cache", o.paths.Cache),
		zap.String("geoip", o.paths.GeoIP),
		zap.String("global_netblocks", o.paths.Netblocks),
		zap.String("cccsv", o.paths.Continents),
		zap.String("access_log", o.logPath),
		zap.Int("minimum", o.minimum),
		zap.Bool("demo", o.demo),
		zap.Uint64("snapshot_time", st.Time),
		zap.Int("directories", st.Directories),
		zap.Int("hosts", st.Hosts),
		zap.Int("hcurls", st.HCUrls),
		zap.Int("repo_arches", st.RepoArches),
		zap.Int("routes", st.Routes),
		zap.Int("countries", st.Countries),
		zap.Int("warnings", st.WarningCount),
		zap.Duration("load_time", st.LoadTime),
	)
	if st.WarningCount > 0 {
		logger.Warn("the snapshot has inconsistencies (served anyway)",
			zap.Int("count", st.WarningCount), zap.Strings("first", st.Warnings))
	}
}
