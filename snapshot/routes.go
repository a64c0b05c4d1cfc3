package snapshot

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"

	"github.com/gaissmai/bart"
)

// Routes is the part of a Snapshot built from the global netblocks file: a
// longest-prefix-match table from BGP routes to their origin ASN.
type Routes struct {
	table    *bart.Table[uint32]
	count    int
	skipped  int
	warnings []string
}

// Lookup returns the ASN of the longest route containing addr.
func (r *Routes) Lookup(addr netip.Addr) (uint32, bool) { return r.table.Lookup(addr) }

// Len returns the number of routes in the table.
func (r *Routes) Len() int { return r.count }

// LoadRoutes reads the global netblocks file at path, streaming it line by
// line: at Fedora's million routes the file is 22 MB that need not be held.
func LoadRoutes(ctx context.Context, path string) (*Routes, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *PathError names the file
	}
	defer f.Close()
	r, err := parseRoutes(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("netblocks %s: %w", path, err)
	}
	return r, nil
}

// ParseRoutes parses "PREFIX ASN" lines. Lines that do not parse and /0
// routes are skipped (and counted in one warning); a file without a single
// usable route is an error, since it is surely not a netblocks file.
func ParseRoutes(ctx context.Context, data []byte) (*Routes, error) {
	return parseRoutes(ctx, bytes.NewReader(data))
}

func parseRoutes(ctx context.Context, in io.Reader) (*Routes, error) {
	r := &Routes{table: new(bart.Table[uint32])}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	lines := 0
	for ; sc.Scan(); lines++ {
		if lines%1024 == 0 {
			if err := checkpoint(ctx); err != nil {
				return nil, err
			}
		}
		pfx, asn, ok := parseRoute(sc.Bytes())
		if !ok {
			if len(bytes.TrimSpace(sc.Bytes())) > 0 {
				r.skipped++
			}
			continue
		}
		r.table.Insert(pfx, asn)
		r.count++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", lines+1, err)
	}
	if r.count == 0 {
		if lines == 0 {
			return nil, errors.New("file is empty")
		}
		return nil, errors.New("no usable route (expected lines like \"134.108.0.0/16 553\")")
	}
	if r.skipped > 0 {
		r.warnings = append(r.warnings, fmt.Sprintf("netblocks: %d lines skipped (unparsable or /0)", r.skipped))
	}
	return r, nil
}

// parseRoute parses one "PREFIX ASN" line.
func parseRoute(line []byte) (netip.Prefix, uint32, bool) {
	line = bytes.TrimSpace(line)
	sep := bytes.IndexAny(line, " \t")
	if sep < 0 {
		return netip.Prefix{}, 0, false
	}
	prefix, asnText := line[:sep], bytes.TrimLeft(line[sep:], " \t")
	if bytes.ContainsAny(asnText, " \t") {
		return netip.Prefix{}, 0, false
	}
	pfx, err := ParsePrefix(string(prefix))
	if err != nil || pfx.Bits() == 0 {
		return netip.Prefix{}, 0, false
	}
	asn, err := strconv.ParseUint(string(asnText), 10, 32)
	if err != nil {
		return netip.Prefix{}, 0, false
	}
	return pfx, uint32(asn), true
}
