// Command mirrorlist-snapshot looks inside the mirrorlist server's input
// files, for the MirrorManager back end before it publishes them and for
// a person at a terminal:
//
//	mirrorlist-snapshot check -c CACHE -g NETBLOCKS --cccsv CSV --geoip MMDB [--against OLD_CACHE]
//	mirrorlist-snapshot inspect CACHE [--repo R --arch A | --path P] [--json]
//	mirrorlist-snapshot diff OLD NEW [--json]
//
// check loads the four inputs as the server does and says whether it
// would publish them; inspect shows a cache file's shape, or one
// directory's mirrors and file details; diff says what a new cache file
// changes. The exit status is 0 on success, 1 when the inputs would be
// refused or a file cannot be read, 2 on a usage error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1 // refused, or a file could not be read
	exitUsage = 2 // the command line is wrong
)

// A verb is one of the command's three sub-commands.
type verb struct {
	name    string
	args    string // the synopsis after the verb's name
	summary string
	// flags defines the verb's flags on fs and returns the function that
	// runs it with the positional arguments.
	flags func(fs *pflag.FlagSet) func(ctx context.Context, args []string, out, errOut io.Writer) error
}

// verbs returns the command's verbs, in the order the usage lists them.
func verbs() []verb {
	return []verb{
		{"check", "-c CACHE -g NETBLOCKS --cccsv CSV --geoip MMDB [--against OLD_CACHE]",
			"load the inputs as the server does; exit 0 if it would publish them, 1 if it would refuse them", checkFlags},
		{"inspect", "CACHE [--repo R --arch A | --path P] [--json]",
			"a cache file's shape, or one directory's mirrors and file details", inspectFlags},
		{"diff", "OLD NEW [--json]",
			"what a new cache file changes: repositories, directories, hosts, repomd.xml", diffFlags},
	}
}

// usageError is a wrong command line: exit status 2, with the usage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// run is the whole program; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "mirrorlist-snapshot: no verb given")
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		usage(stdout)
		return exitOK
	}
	for _, v := range verbs() {
		if v.name == args[0] {
			return v.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "mirrorlist-snapshot: unknown verb %q\n", args[0])
	usage(stderr)
	return exitUsage
}

// run parses the verb's flags and runs it.
func (v verb) run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("mirrorlist-snapshot "+v.name, pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetOutput(io.Discard) // errors and usage are printed below
	help := fs.BoolP("help", "h", false, "show this help")
	do := v.flags(fs)
	err := fs.Parse(args)
	switch {
	case err != nil:
		err = &usageError{msg: err.Error()}
	case *help:
		v.usage(stdout, fs)
		return exitOK
	default:
		err = do(ctx, fs.Args(), stdout, stderr)
	}
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "mirrorlist-snapshot %s: %v\n\n", v.name, err)
		v.usage(stderr, fs)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "mirrorlist-snapshot %s: %v\n", v.name, err)
		return exitFail
	}
}

func (v verb) usage(w io.Writer, fs *pflag.FlagSet) {
	fmt.Fprintf(w, "Usage: mirrorlist-snapshot %s %s\n\n%s.\n\nOptions:\n%s", v.name, v.args, capitalized(v.summary), fs.FlagUsages())
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: mirrorlist-snapshot VERB [OPTIONS] [FILES]\n\nLooks inside the mirrorlist server's input files.\n\nVerbs:\n")
	for _, v := range verbs() {
		fmt.Fprintf(w, "  %-8s %s\n", v.name, v.summary)
	}
	fmt.Fprintf(w, "\nmirrorlist-snapshot VERB --help describes a verb. Exit status: 0 success, 1 refused or unreadable, 2 usage error.\n")
}

func capitalized(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
