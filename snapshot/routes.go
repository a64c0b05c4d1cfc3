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
)

// Routes is the part of a Snapshot built from the global netblocks file: a
// longest-prefix-match table from BGP routes to their origin ASN.
type Routes struct {
	table    routeTable
	count    int
	skipped  int
	warnings []string
}

// Lookup returns the ASN of the longest route containing addr.
func (r *Routes) Lookup(addr netip.Addr) (uint32, bool) { return r.table.lookup(addr) }

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
	r := &Routes{}
	var b routeTableBuilder
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
		b.add(pfx, asn)
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
	var err error
	if r.table, err = b.build(ctx); err != nil {
		return nil, err
	}
	if r.skipped > 0 {
		r.warnings = append(r.warnings, fmt.Sprintf("netblocks: %d lines skipped (unparsable or /0)", r.skipped))
	}
	return r, nil
}

// parseRoute parses one "PREFIX ASN" line. The usual line, an IPv4
// prefix in the one spelling netip.ParsePrefix accepts for it, is parsed
// in place; others (IPv6, a bare address) go through ParsePrefix.
func parseRoute(line []byte) (netip.Prefix, uint32, bool) {
	line = bytes.TrimSpace(line)
	sep := indexBlank(line)
	if sep < 0 {
		return netip.Prefix{}, 0, false
	}
	prefix, asnText := line[:sep], bytes.TrimLeft(line[sep:], " \t")
	asn, ok := parseASN(asnText)
	if !ok {
		return netip.Prefix{}, 0, false
	}
	pfx, ok := parseIPv4Prefix(prefix)
	if !ok {
		var err error
		if pfx, err = ParsePrefix(string(prefix)); err != nil {
			return netip.Prefix{}, 0, false
		}
	}
	if pfx.Bits() == 0 {
		return netip.Prefix{}, 0, false
	}
	return pfx, asn, true
}

// indexBlank returns the index of the first space or tab in s, or -1.
func indexBlank(s []byte) int {
	for i, c := range s {
		if c == ' ' || c == '\t' {
			return i
		}
	}
	return -1
}

// parseASN parses a decimal uint32 as strconv.ParseUint(s, 10, 32) does:
// digits only, leading zeros allowed.
func parseASN(s []byte) (uint32, bool) {
	if len(s) == 0 {
		return 0, false
	}
	var v uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
		if v > 1<<32-1 {
			return 0, false
		}
	}
	return uint32(v), true
}

// parseIPv4Prefix parses "a.b.c.d/n" as ParsePrefix would (decimal
// fields without leading zeros, bits from 0 to 32 without them, host bits
// masked), and reports false for anything else, which may still be a
// prefix ParsePrefix accepts.
func parseIPv4Prefix(s []byte) (netip.Prefix, bool) {
	var ip [4]byte
	i := 0
	for f := range ip {
		if f > 0 {
			if i >= len(s) || s[i] != '.' {
				return netip.Prefix{}, false
			}
			i++
		}
		v, n := 0, 0
		for ; i < len(s) && n < 3 && '0' <= s[i] && s[i] <= '9'; i, n = i+1, n+1 {
			v = v*10 + int(s[i]-'0')
		}
		if n == 0 || v > 255 || (n > 1 && s[i-n] == '0') {
			return netip.Prefix{}, false
		}
		ip[f] = byte(v)
	}
	if i >= len(s) || s[i] != '/' {
		return netip.Prefix{}, false
	}
	bitsText := s[i+1:]
	if len(bitsText) == 0 || len(bitsText) > 2 || (len(bitsText) == 2 && bitsText[0] == '0') {
		return netip.Prefix{}, false
	}
	bits := 0
	for _, c := range bitsText {
		if c < '0' || c > '9' {
			return netip.Prefix{}, false
		}
		bits = bits*10 + int(c-'0')
	}
	if bits > 32 {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(netip.AddrFrom4(ip), bits).Masked(), true
}
