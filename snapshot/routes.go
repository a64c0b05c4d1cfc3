package snapshot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
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

// LoadRoutes reads the global netblocks file at path.
func LoadRoutes(ctx context.Context, path string) (*Routes, error) {
	data, err := readNonEmpty(path)
	if err != nil {
		return nil, err
	}
	r, err := ParseRoutes(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("netblocks %s: %w", path, err)
	}
	return r, nil
}

// ParseRoutes parses "PREFIX ASN" lines. Lines that do not parse and /0
// routes are skipped (and counted in one warning); a file without a single
// usable route is an error, since it is surely not a netblocks file.
func ParseRoutes(ctx context.Context, data []byte) (*Routes, error) {
	r := &Routes{table: new(bart.Table[uint32])}
	for line := 0; len(data) > 0; line++ {
		var text []byte
		text, data, _ = bytes.Cut(data, []byte{'\n'})
		if line%65536 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		pfx, asn, ok := parseRoute(text)
		if !ok {
			if len(bytes.TrimSpace(text)) > 0 {
				r.skipped++
			}
			continue
		}
		r.table.Insert(pfx, asn)
		r.count++
	}
	if r.count == 0 {
		return nil, errors.New("no usable route (expected lines like \"134.108.0.0/16 553\")")
	}
	if r.skipped > 0 {
		r.warnings = append(r.warnings, fmt.Sprintf("netblocks: %d lines skipped (unparsable or /0)", r.skipped))
	}
	return r, nil
}

// parseRoute parses one "PREFIX ASN" line.
func parseRoute(line []byte) (netip.Prefix, uint32, bool) {
	fields := bytes.Fields(line)
	if len(fields) != 2 {
		return netip.Prefix{}, 0, false
	}
	pfx, err := parsePrefixOrAddr(string(fields[0]))
	if err != nil || pfx.Bits() == 0 {
		return netip.Prefix{}, 0, false
	}
	asn, err := strconv.ParseUint(string(fields[1]), 10, 32)
	if err != nil {
		return netip.Prefix{}, 0, false
	}
	return pfx, uint32(asn), true
}
