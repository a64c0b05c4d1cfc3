// Command mirrorlist-loadgen measures a mirrorlist server on this machine:
// it replays a file of request targets against a server on the loopback
// interface and reports throughput and latency, writes such files, and
// serves a do-nothing answer of a given size to measure the HTTP stack's
// own ceiling.
//
// Usage:
//
//	mirrorlist-loadgen mix -scale fedora -seed 1 -n 100000 -out FILE
//	mirrorlist-loadgen run -target http://127.0.0.1:3000 -targets FILE [-c 16] [-duration 10s] [-rate R]
//	mirrorlist-loadgen ceiling -listen 127.0.0.1:0 -body-size 9000 [-gather] [-sizes FILE]
//	mirrorlist-loadgen soak [-duration 10m] [-rate 1000] [-scale fedora] [-data DIR] [-server BINARY]
//	mirrorlist-loadgen swaps -target URL -reload URL/-/reload -targets FILE [-c 16] [-swaps 5] [-pid PID]
//
// mix writes the request mix of a fixtures data set (fixtures.Mix), one
// target per line. run replays a targets file with -c keep-alive
// connections, in a closed loop (each connection sends its next request as
// soon as the last one is answered: the maximum throughput) or, with -rate,
// in an open loop: request k is due at start + k/rate whatever happened
// before, released then by a pacer that sleeps on a thread of its own
// (Go's timers would release a millisecond's requests in one burst), and
// when the server kept every connection busy past that moment its latency
// counts from the release, so a server that stalls is charged for every
// request it delayed (no coordinated omission); the pacer's lateness is
// reported apart. -sizes-out also writes the size of each target's answer.
// ceiling answers every request with the same precomputed body, as
// cheaply as net/http allows: a server can at best approach its
// throughput. With -sizes (a file run -sizes-out wrote) it answers each
// target with a body of the size the server answered it, so that its
// latency has the spread of the mix's sizes too.
//
// soak starts a mirrorlist-server (built with go build unless -server
// names one) on a generated data set, loads it at a steady rate in an
// open loop for a long time while replacing its input files every -swap,
// good and bad versions in turn (a protobuf cut short, a GeoIP database
// cut in half, an empty netblocks file; the original set, and the same
// with a later Time), and prints per interval the requests, the bad
// answers by kind, p50 and p99 latency, and the server's RSS (from
// /proc), goroutines and reloads (from its /metrics). It ends with the
// verdict: no 5xx, no unexpected answer, RSS flat, no goroutine growth.
//
// swaps measures what a reload does to the requests: under a closed loop,
// it alternates a window holding a forced reload (POST /-/reload, from the
// request to its answer and a tail after it) with a window of the same
// length holding none, and prints p99 and max latency of each pair, their
// medians over the reloads, and the server's peak RSS across them.
//
// The load generator only talks to loopback addresses and never follows
// redirects: it is a benchmark tool, not a way to load anyone's mirrors.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mirrorlist-loadgen:", err)
		os.Exit(1)
	}
}

// run dispatches to a subcommand; flags without one mean "run".
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return runLoad(ctx, args, stdout, stderr)
	case "mix":
		return runMix(args, stdout, stderr)
	case "ceiling":
		return runCeiling(ctx, args, stdout, stderr)
	case "soak":
		return runSoak(ctx, args, stdout, stderr)
	case "swaps":
		return runSwaps(ctx, args, stdout, stderr)
	}
	return fmt.Errorf("unknown command %q (want run, mix, ceiling, soak or swaps)", cmd)
}

// subcommand is the flag set of one subcommand, which writes its usage
// and errors to stderr.
type subcommand struct {
	*flag.FlagSet
	name string // as on the command line: "run", "soak", ...
}

func newSubcommand(name string, stderr io.Writer) subcommand {
	fs := flag.NewFlagSet("mirrorlist-loadgen "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return subcommand{fs, name}
}

// parse parses args, which must be flags only: an argument is an error
// that names the subcommand.
func (c subcommand) parse(args []string) error {
	if err := c.Parse(args); err != nil {
		return err
	}
	if c.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", c.name, c.Arg(0))
	}
	return nil
}
