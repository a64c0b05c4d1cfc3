// Command mirrorlist-fixtures writes a synthetic set of the mirrorlist
// server's four input files: the cache file, the GeoIP database, the
// global netblocks file and the country to continent table.
//
// Usage:
//
//	mirrorlist-fixtures -scale fedora -seed 1 -out DIR
//
// The scales are tiny (hand-written), small and fedora (random from the
// seed); see package fixtures. The same flags always give the same bytes.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mirrorlist-fixtures:", err)
		os.Exit(1)
	}
}

// run parses args, generates the set, writes it and reports what it did.
func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mirrorlist-fixtures", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scale := fs.String("scale", string(fixtures.ScaleSmall), fmt.Sprintf("data set size, one of %v", fixtures.Scales()))
	seed := fs.Int64("seed", fixtures.SmallSeed, "seed of the random choices (ignored by tiny)")
	out := fs.String("out", "", "output directory (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("need -out DIR and no arguments")
	}
	start := time.Now()
	set, err := fixtures.Generate(fixtures.Config{Seed: *seed, Scale: fixtures.Scale(*scale)})
	if err != nil {
		return err
	}
	if err := set.WriteDir(*out); err != nil {
		return err
	}
	elapsed := time.Since(start)
	for _, f := range []struct {
		name string
		data []byte
	}{
		{fixtures.CacheFile, set.Snapshot},
		{fixtures.GeoIPFile, set.GeoIP},
		{fixtures.RoutesFile, set.Routes},
		{fixtures.ContinentsFile, set.Continents},
	} {
		fmt.Fprintf(stdout, "%12d  %s\n", len(f.data), filepath.Join(*out, f.name))
	}
	fmt.Fprintf(stdout, "generated %s set (seed %d) in %v\n", *scale, *seed, elapsed.Round(time.Millisecond))
	shape, err := fixtures.Shape(set.Snapshot)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "shape: %v\n", shape)
	return nil
}
