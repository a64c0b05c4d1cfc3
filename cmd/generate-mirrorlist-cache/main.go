// Command generate-mirrorlist-cache reads MirrorManager2's PostgreSQL
// database and writes the mirrorlist snapshot, mirrorlist_cache.proto, that
// mirrorlist-server serves. It is a drop-in for the Rust project's command
// of the same name (same flags, same configuration file), which replaced
// MirrorManager2's mm2_refresh_mirrorlist_cache.
//
//	generate-mirrorlist-cache [-o FILE] [-c CONFIG] [-d]
//
// The configuration file holds DB_URL=postgres://… (dotenv style); a
// DB_URL in the environment takes precedence. The snapshot is written to a
// temporary file beside the target and renamed over it, so a server
// watching the target never reads half a file; an empty result (no
// directories, or no host serving any) is refused and the target left as
// it was. One summary line goes to standard output; -d adds one line per
// step.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/pflag"

	"github.com/mirrorlist-go/mirrorlist-server/cmd/generate-mirrorlist-cache/cachegen"
)

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// Defaults of the Rust generator.
const (
	defaultOutfile = "/var/lib/mirrormanager/mirrorlist_cache.proto"
	defaultConfig  = "/etc/mirrormanager/generate-mirrorlist-cache.cfg"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the parsed command line.
type options struct {
	outfile string
	config  string
	debug   bool
	help    bool
}

func newFlagSet(o *options) *pflag.FlagSet {
	fs := pflag.NewFlagSet("generate-mirrorlist-cache", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.StringVarP(&o.outfile, "outfile", "o", defaultOutfile, "the cache `FILE` (MirrorManager's protobuf, mirrorlist_cache.proto) to write")
	fs.StringVarP(&o.config, "config", "c", defaultConfig, "the configuration `FILE` (DB_URL=postgres://...)")
	fs.BoolVarP(&o.debug, "debug", "d", false, "print one line per step")
	fs.BoolVarP(&o.help, "help", "h", false, "show this help")
	return fs
}

// run is the command without the process around it, for tests.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	o := new(options)
	fs := newFlagSet(o)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		if err == nil {
			err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
		}
		fmt.Fprintf(stderr, "generate-mirrorlist-cache: %v\nUsage: generate-mirrorlist-cache [options]\n%s", err, fs.FlagUsages())
		return exitUsage
	}
	if o.help {
		fmt.Fprintf(stdout, "Usage: generate-mirrorlist-cache [options]\n%s", fs.FlagUsages())
		return exitOK
	}
	if err := generate(ctx, o, getenv, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "generate-mirrorlist-cache: %v\n", err)
		return exitFail
	}
	return exitOK
}

func generate(ctx context.Context, o *options, getenv func(string) string, stdout, stderr io.Writer) error {
	began := time.Now()
	url, err := databaseURL(o.config, getenv)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("connecting to the database: %w", err)
	}
	defer conn.Close(context.Background())
	opt := cachegen.Options{
		Warn: func(line string) { fmt.Fprintf(stderr, "warning: %s\n", line) },
	}
	if o.debug {
		opt.Step = func(line string) { fmt.Fprintln(stdout, line) }
	}
	st, err := cachegen.WriteFile(ctx, conn, o.outfile, opt)
	if err != nil {
		if errors.Is(err, cachegen.ErrEmpty) {
			return fmt.Errorf("%w; %s left as it was", err, o.outfile)
		}
		return fmt.Errorf("%s: %w", o.outfile, err)
	}
	fmt.Fprintf(stdout, "wrote %s: %d bytes, %d directories, %d hosts (%d serving), %d hcurls, %d repo+arch, %d disabled, %d file-detail directories, %d host netblocks in %s\n",
		o.outfile, st.Bytes, st.Directories, st.Hosts, st.ServingHosts, st.HCUrls, st.RepoArches, st.Disabled, st.FileDetailDir, st.HostNetblocks,
		time.Since(began).Round(time.Millisecond))
	return nil
}
