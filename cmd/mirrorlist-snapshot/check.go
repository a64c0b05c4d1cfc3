package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/spf13/pflag"

	"github.com/mirrorlist-go/mirrorlist-server/cmd/internal/inputflags"
	"github.com/mirrorlist-go/mirrorlist-server/reload"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// checkOptions are check's flags: the four inputs under the server's
// flag names and defaults, and the versions to compare them against.
type checkOptions struct {
	paths   snapshot.Paths
	against snapshot.Paths // "" for a part not compared
}

// checkFlags defines check's flags. --against names the cache file being
// served, as the generator's unit uses it; the other three inputs come
// from other jobs (MirrorManager's netblocks and
// continent files, geoipupdate), and whoever publishes one of them can
// compare it the same way with its own --against-* flag. A part without
// one is not compared, as a reload compares only the files that changed.
func checkFlags(fs *pflag.FlagSet) func(context.Context, []string, io.Writer, io.Writer) error {
	o := new(checkOptions)
	inputflags.Define(fs, &o.paths)
	fs.StringVar(&o.against.Cache, "against", "", "apply the shrink guard against this cache `FILE`, the one being served (missing: nothing is served yet, no guard)")
	fs.StringVar(&o.against.Routes, "against-global_netblocks", "", "apply the shrink guard against this global netblocks `FILE`")
	fs.StringVar(&o.against.Continents, "against-cccsv", "", "apply the shrink guard against this country to continent `FILE`")
	fs.StringVar(&o.against.GeoIP, "against-geoip", "", "apply the shrink guard against this GeoIP `FILE`")
	return func(ctx context.Context, args []string, out, _ io.Writer) error {
		if len(args) > 0 {
			return usagef("unexpected argument %q", args[0])
		}
		return o.check(ctx, out)
	}
}

// check loads the inputs, prints their shape, and returns why the server
// would refuse them, if it would.
func (o *checkOptions) check(ctx context.Context, out io.Writer) error {
	next, err := reload.LoadParts(ctx, o.paths, nil, reload.AllParts)
	if err != nil {
		return fmt.Errorf("refused: %w", err)
	}
	writeCheckShape(out, next)
	todo := o.comparedParts(out)
	if todo == 0 {
		fmt.Fprintln(out, "ok: mirrorlist-server would publish these inputs")
		return nil
	}
	served, err := reload.LoadParts(ctx, o.against, next, todo)
	if err != nil {
		return fmt.Errorf("cannot compare: %w", err)
	}
	writeAgainst(out, served, next, todo, o.against)
	if err := reload.CheckShrink(served, next, todo, o.paths); err != nil {
		return fmt.Errorf("refused: %w", err)
	}
	fmt.Fprintf(out, "ok: mirrorlist-server serving the --against files would publish these inputs\n")
	return nil
}

// comparedParts returns the parts with an --against file. A file that
// does not exist leaves its part out, with a note: nothing has been
// published yet (the server's first load has no guard either); a file
// that exists but cannot be read fails the check, in LoadParts.
func (o *checkOptions) comparedParts(out io.Writer) reload.Parts {
	var todo reload.Parts
	for _, a := range []struct {
		part reload.Parts
		flag string
		path *string
	}{
		{reload.PartMirrors, "--against", &o.against.Cache},
		{reload.PartGeoIP, "--against-geoip", &o.against.GeoIP},
		{reload.PartRoutes, "--against-global_netblocks", &o.against.Routes},
		{reload.PartContinents, "--against-cccsv", &o.against.Continents},
	} {
		if *a.path == "" {
			continue
		}
		if _, err := os.Stat(*a.path); errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(out, "note: %s %s does not exist: nothing to compare with, no shrink guard for it\n", a.flag, *a.path)
			*a.path = ""
			continue
		}
		todo |= a.part
	}
	return todo
}

// writeCheckShape prints the shape of all four inputs.
func writeCheckShape(out io.Writer, s *snapshot.Snapshot) {
	m, g, r, _ := s.Parts()
	shapeOf(m).write(out)
	st := s.Stats()
	line(out, "routes", "%d", r.Len())
	line(out, "GeoIP networks", "%d", g.Networks())
	line(out, "countries", "%d with a continent", st.Countries)
	writeWarnings(out, st.WarningCount, st.Warnings)
}

// writeAgainst prints, for each part compared, the counts the shrink
// guard looks at: the served file's and the new one's.
func writeAgainst(out io.Writer, served, next *snapshot.Snapshot, todo reload.Parts, against snapshot.Paths) {
	sm, sg, sr, sc := served.Parts()
	nm, ng, nr, nc := next.Parts()
	if todo.Has(reload.PartMirrors) {
		a, b := sm.Stats(), nm.Stats()
		fmt.Fprintf(out, "against %s (time %d): directories %d → %d, hosts %d → %d, repo+arch without their directory %d → %d\n",
			against.Cache, a.Time, a.Directories, b.Directories, a.Hosts, b.Hosts, a.DanglingRepoArches, b.DanglingRepoArches)
	}
	if todo.Has(reload.PartGeoIP) {
		fmt.Fprintf(out, "against %s: GeoIP networks %d → %d\n", against.GeoIP, sg.Networks(), ng.Networks())
	}
	if todo.Has(reload.PartRoutes) {
		fmt.Fprintf(out, "against %s: routes %d → %d\n", against.Routes, sr.Len(), nr.Len())
	}
	if todo.Has(reload.PartContinents) {
		fmt.Fprintf(out, "against %s: countries %d → %d\n", against.Continents, sc.Len(), nc.Len())
	}
}
