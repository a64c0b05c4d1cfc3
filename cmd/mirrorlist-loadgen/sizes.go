package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// A sizes file gives the body size of a server's answer to each target of
// a mix, one "SIZE TARGET" line each, in the order of the targets file:
// run -sizes-out writes it, and ceiling -sizes answers each target with a
// body of its size, so that the ceiling's latency has the mix's spread of
// sizes and not only its mean. A target of the mix appears once.

// writeSizes writes the sizes of the targets answered (by index into
// targets) to path.
func writeSizes(path string, targets []string, sizes map[int]int64) error {
	var b strings.Builder
	written := make(map[string]bool, len(sizes))
	for i, t := range targets {
		n, ok := sizes[i]
		if !ok || written[t] {
			continue
		}
		written[t] = true
		b.WriteString(strconv.FormatInt(n, 10))
		b.WriteByte(' ')
		b.WriteString(t)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("sizes: %w", err)
	}
	return nil
}

// readSizes reads a sizes file into a map from target to size; no size
// may exceed limit.
func readSizes(path string, limit int) (map[string]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sizes: %w", err)
	}
	defer f.Close()
	sizes := make(map[string]int)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		field, target, ok := strings.Cut(sc.Text(), " ")
		n, err := strconv.Atoi(field)
		if !ok || err != nil || n < 0 || n > limit || !strings.HasPrefix(target, "/") {
			return nil, fmt.Errorf("sizes %s:%d: want \"SIZE TARGET\", SIZE 0 to %d and TARGET starting with /: %q", path, line, limit, sc.Text())
		}
		sizes[target] = n
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("sizes %s: %w", path, err)
	}
	if len(sizes) == 0 {
		return nil, fmt.Errorf("sizes %s: no sizes", path)
	}
	return sizes, nil
}
