package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/spf13/pflag"

	"github.com/mirrorlist-go/mirrorlist-server/cmd/internal/inputflags"
	"github.com/mirrorlist-go/mirrorlist-server/httpapi"
	"github.com/mirrorlist-go/mirrorlist-server/reload"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// options are the parsed command line.
type options struct {
	listen  string
	port    uint16
	minimum int
	paths   snapshot.Paths
	logPath string // the access log; "" disables it

	// New flags (the production server has none of these).
	demo            bool
	logLevel        string
	logFormat       string
	shutdownTimeout time.Duration
	adminListen     string // host:port of the admin listener; "" means none
	adminPprof      bool   // serve /debug/pprof/ on the admin listener
	reloadSettle    time.Duration
	allowShrink     bool
	trustedRaw      []string       // --trusted-proxies as given
	trustedProxies  []netip.Prefix // parsed; nil trusts X-Forwarded-For from every peer
	maxQueryBytes   int
	limits          httpLimits
	probe           string // --probe URL: check a server's health and exit
	memoryLimit     memoryLimit

	logPathSet bool // --log was given explicitly
	help       bool
}

// httpLimits are the timeouts and sizes of both HTTP servers.
type httpLimits struct {
	readHeaderTimeout time.Duration
	readTimeout       time.Duration
	writeTimeout      time.Duration
	idleTimeout       time.Duration
	maxHeaderBytes    int
}

// newFlagSet defines the flags of protocol.md section 9, with the same
// names, shorthands and defaults as the production server, plus this
// server's own. It fills o.
func newFlagSet(o *options) *pflag.FlagSet {
	fs := pflag.NewFlagSet("mirrorlist-server", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.StringVar(&o.listen, "listen", "127.0.0.1", "the `ADDRESS` to listen on")
	fs.Uint16Var(&o.port, "port", 3000, "the `PORT` to listen on")
	fs.IntVarP(&o.minimum, "minimum", "m", 5, "the `NUMBER` of mirrors below which the global list is added")
	inputflags.Define(fs, &o.paths)
	fs.StringVarP(&o.logPath, "log", "l", "/var/log/mirrormanager/mirrorlist.log", "the access log `FILE` for statistics (empty: no access log)")
	var internet2 string
	fs.StringVarP(&internet2, "internet2_netblocks", "i", "", "the Internet2 netblocks `FILE`: deprecated, accepted and ignored")
	fs.BoolVar(&o.demo, "demo", false, "serve the built-in small fixture set instead of the input files")
	fs.StringVar(&o.logLevel, "log-level", "info", "server log `LEVEL`: debug, info, warn or error (debug logs every request)")
	fs.StringVar(&o.logFormat, "log-format", "json", "server log `FORMAT`: json or console")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 10*time.Second, "the `DURATION` to wait for requests in flight on SIGTERM or SIGINT")
	fs.StringVar(&o.adminListen, "admin-listen", "", "the `HOST:PORT` of the admin listener (/metrics, /healthz, /readyz, POST /-/reload); empty: none")
	fs.BoolVar(&o.adminPprof, "admin-pprof", false, "also serve Go's profiler (net/http/pprof) under /debug/pprof/ on the admin listener")
	fs.DurationVar(&o.reloadSettle, "reload-settle", reload.DefaultSettle, "the `DURATION` the input files must be quiet before they are reloaded")
	fs.BoolVar(&o.allowShrink, "allow-shrink", false, "publish a reloaded snapshot even if a shrink guard refuses it (half its directories, hosts, routes, GeoIP networks or countries lost, or repositories newly without their directory)")
	fs.StringSliceVar(&o.trustedRaw, "trusted-proxies", nil, "honour X-Forwarded-For only from peers in these `CIDR,...` prefixes (a bare address is a /32 or /128); unset: from every peer")
	fs.IntVar(&o.maxQueryBytes, "max-query-bytes", 8192, "answer 414 to a query longer than this many `BYTES` (0: no cap)")
	fs.DurationVar(&o.limits.readHeaderTimeout, "read-header-timeout", 5*time.Second, "the `DURATION` a client has to send the request headers")
	fs.DurationVar(&o.limits.readTimeout, "read-timeout", 10*time.Second, "the `DURATION` a client has to send the whole request")
	fs.DurationVar(&o.limits.writeTimeout, "write-timeout", 30*time.Second, "the `DURATION` from the end of the request headers to the end of the answer")
	fs.DurationVar(&o.limits.idleTimeout, "idle-timeout", 2*time.Minute, "the `DURATION` an idle keep-alive connection stays open")
	fs.IntVar(&o.limits.maxHeaderBytes, "max-header-bytes", 16<<10, "the largest request line and headers, in `BYTES`")
	fs.StringVar(&o.memoryLimit.raw, "memory-limit", "auto", "the Go runtime's soft memory `LIMIT` (and GOGC): auto (from the snapshot's size, recomputed after each reload; GOMEMLIMIT and GOGC, when set, win), off, or a size such as 300MiB")
	fs.StringVar(&o.probe, "probe", "", "GET this `URL` (2 s timeout) and exit 0 if it answers 200, else 1; for container health checks")
	fs.BoolVarP(&o.help, "help", "h", false, "show this help")
	return fs
}

// parseFlags parses args into options. With --help it returns the options
// with help set and no error.
func parseFlags(args []string) (*options, *pflag.FlagSet, error) {
	o := new(options)
	fs := newFlagSet(o)
	fs.SetOutput(io.Discard) // run prints errors and usage itself
	if err := fs.Parse(args); err != nil {
		return nil, fs, err
	}
	if fs.NArg() > 0 {
		return nil, fs, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.logPathSet = fs.Changed("log")
	if err := o.validate(); err != nil {
		return nil, fs, err
	}
	if fs.Changed("trusted-proxies") {
		p, err := httpapi.ParseTrustedProxies(o.trustedRaw)
		if err != nil {
			return nil, fs, fmt.Errorf("--trusted-proxies: %w", err)
		}
		o.trustedProxies = p
	}
	return o, fs, nil
}

// validate checks the values of the new flags; the production flags take
// any value, as they always did.
func (o *options) validate() error {
	switch o.logLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", o.logLevel)
	}
	switch o.logFormat {
	case "json", "console":
	default:
		return fmt.Errorf("--log-format %q: want json or console", o.logFormat)
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{
		{"--shutdown-timeout", o.shutdownTimeout},
		{"--read-header-timeout", o.limits.readHeaderTimeout},
		{"--read-timeout", o.limits.readTimeout},
		{"--write-timeout", o.limits.writeTimeout},
		{"--idle-timeout", o.limits.idleTimeout},
	} {
		if d.v < 0 {
			return fmt.Errorf("%s %v: must not be negative", d.flag, d.v)
		}
	}
	if o.reloadSettle <= 0 {
		return fmt.Errorf("--reload-settle %v: must be positive", o.reloadSettle)
	}
	if o.maxQueryBytes < 0 {
		return fmt.Errorf("--max-query-bytes %d: must not be negative", o.maxQueryBytes)
	}
	if o.limits.maxHeaderBytes <= 0 {
		return fmt.Errorf("--max-header-bytes %d: must be positive", o.limits.maxHeaderBytes)
	}
	if err := o.memoryLimit.parse(); err != nil {
		return fmt.Errorf("--memory-limit: %w", err)
	}
	if o.adminPprof && o.adminListen == "" {
		return errors.New("--admin-pprof needs --admin-listen")
	}
	if o.adminListen != "" {
		if _, _, err := net.SplitHostPort(o.adminListen); err != nil {
			return fmt.Errorf("--admin-listen %q: want HOST:PORT: %w", o.adminListen, err)
		}
	}
	return nil
}

// checkInputs reports every input file that cannot be opened for reading,
// each with its flag, so that a start-up failure names all the files to fix
// at once rather than whichever the first load tripped over first. The
// check is the reloader's (reload.CheckInput): an input must be a regular
// file, since opening a named pipe would wait for a writer, and so hang
// the start-up.
func checkInputs(p snapshot.Paths) error {
	inputs := []struct{ flag, path string }{
		{"--cache", p.Cache},
		{"--geoip", p.GeoIP},
		{"--global_netblocks", p.Routes},
		{"--cccsv", p.Continents},
	}
	var errs []error
	for _, in := range inputs {
		if err := reload.CheckInput(in.path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", in.flag, err))
		}
	}
	return errors.Join(errs...)
}

// usage writes the help text.
func usage(w io.Writer, fs *pflag.FlagSet) {
	fmt.Fprintf(w, "Usage: mirrorlist-server [OPTIONS]\n\n"+
		"Answers Fedora mirrorlist and metalink requests from MirrorManager's snapshot.\n\n"+
		"Options:\n%s", fs.FlagUsages())
}
