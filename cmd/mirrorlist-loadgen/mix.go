package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
)

// runMix writes the request mix of a fixtures data set, one target a line.
func runMix(args []string, stdout, stderr io.Writer) error {
	fs := newSubcommand("mix", stderr)
	scale := fs.String("scale", string(fixtures.ScaleFedora), fmt.Sprintf("data set the requests are for, one of %v", fixtures.Scales()))
	seed := fs.Int64("seed", 1, "seed of the data set (as given to mirrorlist-fixtures) and of the mix")
	n := fs.Int("n", 100_000, "number of requests")
	out := fs.String("out", "", "output file (required; - for standard output)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("mix: need -out FILE and no arguments")
	}
	targets, err := fixtures.Mix(fixtures.Config{Seed: *seed, Scale: fixtures.Scale(*scale)}, *n)
	if err != nil {
		return err
	}
	if *out == "-" {
		return writeTargets(stdout, targets)
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := writeTargets(f, targets); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeTargets writes one target a line.
func writeTargets(w io.Writer, targets []string) error {
	bw := bufio.NewWriter(w)
	for _, t := range targets {
		bw.WriteString(t)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// readTargets reads a targets file: one path and query a line, each
// starting with "/"; blank lines and lines starting with "#" are skipped.
func readTargets(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var targets []string
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.HasPrefix(line, "/") {
			return nil, fmt.Errorf("%s:%d: a target must start with /: %q", path, i+1, line)
		}
		targets = append(targets, line)
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("%s: no targets", path)
	}
	return targets, nil
}
