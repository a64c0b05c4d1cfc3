package snapshot

import (
	"context"
	"encoding/binary"
	"math"
	"net/netip"
	"slices"
)

// routeTable is the longest-prefix-match table of Routes, flattened: the
// address space cut into ranges over which the longest containing route
// does not change, each range kept as its first address and the ASN of
// that route. A lookup is a binary search for the range holding the
// address.
//
// It holds no pointers, so the collector never scans it. A trie such as
// bart's holds a pointer or an interface per node and child, and at a
// global table's size (about a million routes) marking it was half of
// every collection's work; a reload, which keeps two tables alive while
// it builds, made that cost twice as large just as the requests shared
// the processor with the build. The trie stays as the tests' reference
// (routetable_slow_test.go).
type routeTable struct {
	v4 rangeTable[v4Key]
	v6 rangeTable[v6Key]
}

// lookup returns the ASN of the longest route containing addr.
func (t *routeTable) lookup(addr netip.Addr) (uint32, bool) {
	if addr.Is4() { // an IPv4-mapped IPv6 address is looked up as IPv6, as the trie did
		return t.v4.lookup(newV4Key(addr.As4()))
	}
	if !addr.Is6() {
		return 0, false
	}
	return t.v6.lookup(newV6Key(addr))
}

// lookupRange returns the ASN of the longest route containing addr and
// the addresses around addr that share that route's ASN, as far as the
// flattened table knows them: the route's own prefix is not kept, and
// the range can be that prefix, a part of it (where a longer route
// interrupts it), or adjacent routes of the same ASN merged.
func (t *routeTable) lookupRange(addr netip.Addr) (first, last netip.Addr, asn uint32, ok bool) {
	switch {
	case addr.Is4():
		return lookupRangeIn(&t.v4, newV4Key(addr.As4()), v4Key(0).last(0).addr())
	case addr.Is6():
		return lookupRangeIn(&t.v6, newV6Key(addr), newV6Key(netip.IPv6Unspecified()).last(0).addr())
	}
	return netip.Addr{}, netip.Addr{}, 0, false
}

func lookupRangeIn[K rangeKey[K]](t *rangeTable[K], k K, top netip.Addr) (first, last netip.Addr, asn uint32, ok bool) {
	i := t.find(k)
	if i < 0 || t.values[i] == 0 {
		return netip.Addr{}, netip.Addr{}, 0, false
	}
	first, last = t.span(i, top)
	return first, last, t.asns[t.values[i]-1], true
}

// routeTableBuilder collects routes for a routeTable.
type routeTableBuilder struct {
	v4 []route[v4Key]
	v6 []route[v6Key]
}

// add records a route; a later route for the same prefix replaces an
// earlier one.
func (b *routeTableBuilder) add(pfx netip.Prefix, asn uint32) {
	pfx = pfx.Masked()
	if pfx.Addr().Is4() {
		start := newV4Key(pfx.Addr().As4())
		b.v4 = append(b.v4, route[v4Key]{start: start, bits: uint8(pfx.Bits()), asn: asn})
		return
	}
	b.v6 = append(b.v6, route[v6Key]{start: newV6Key(pfx.Addr()), bits: uint8(pfx.Bits()), asn: asn})
}

// build returns the table, stopping at checkpoints while it sorts and
// sweeps.
func (b *routeTableBuilder) build(ctx context.Context) (routeTable, error) {
	v4, err := flatten(ctx, b.v4)
	if err != nil {
		return routeTable{}, err
	}
	v6, err := flatten(ctx, b.v6)
	if err != nil {
		return routeTable{}, err
	}
	return routeTable{v4: v4, v6: v6}, nil
}

// rangeKey is an address as an unsigned integer, of 32 or 128 bits.
type rangeKey[K any] interface {
	comparable
	less(K) bool
	next() (K, bool)   // the following address; false after the last
	last(bits uint8) K // the last address of the /bits prefix starting at this one
	top16() uint32     // the first 16 bits
	addr() netip.Addr  // the address
}

// v4Key is an IPv4 address as a number.
type v4Key uint32

func newV4Key(a [4]byte) v4Key { return v4Key(binary.BigEndian.Uint32(a[:])) }

func (a v4Key) less(b v4Key) bool { return a < b }

func (a v4Key) next() (v4Key, bool) { return a + 1, a != math.MaxUint32 }

func (a v4Key) last(bits uint8) v4Key { return a | math.MaxUint32>>bits }

func (a v4Key) top16() uint32 { return uint32(a >> 16) }

func (a v4Key) addr() netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(a))
	return netip.AddrFrom4(b)
}

// v6Key is an IPv6 address as a 128-bit number.
type v6Key struct{ hi, lo uint64 }

func newV6Key(a netip.Addr) v6Key {
	b := a.As16()
	return v6Key{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func (a v6Key) less(b v6Key) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }

func (a v6Key) next() (v6Key, bool) {
	if a.lo != math.MaxUint64 {
		return v6Key{a.hi, a.lo + 1}, true
	}
	return v6Key{a.hi + 1, 0}, a.hi != math.MaxUint64
}

func (a v6Key) last(bits uint8) v6Key {
	if bits >= 64 {
		return v6Key{a.hi, a.lo | math.MaxUint64>>(bits-64)}
	}
	return v6Key{a.hi | math.MaxUint64>>bits, math.MaxUint64}
}

func (a v6Key) top16() uint32 { return uint32(a.hi >> 48) }

func (a v6Key) addr() netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], a.hi)
	binary.BigEndian.PutUint64(b[8:], a.lo)
	return netip.AddrFrom16(b)
}

// route is one prefix: its first address and length. Kept this small
// because the build holds two copies of a million of them while it sorts.
type route[K rangeKey[K]] struct {
	start K
	asn   uint32
	bits  uint8
}

func (r route[K]) end() K { return r.start.last(r.bits) }

// before orders routes by start address and an enclosing route before
// the routes it contains. Equal prefixes are unordered: the sort is
// stable, so they stay in file order.
func (r route[K]) before(o route[K]) bool {
	if r.start != o.start {
		return r.start.less(o.start)
	}
	return r.bits < o.bits
}

// rangeTable maps each address to a value through sorted range starts:
// the value of an address is that of the last start at or below it.
// Values are indices into asns plus one; zero means no route. The starts
// whose first 16 bits are h are starts[buckets[h]:buckets[h+1]], which
// narrows the binary search from the whole table to about a 65,000th.
type rangeTable[K rangeKey[K]] struct {
	starts  []K
	values  []uint32
	asns    []uint32
	buckets []uint32 // 1<<16 + 1 entries, or none if starts is empty
}

func (t *rangeTable[K]) lookup(k K) (uint32, bool) {
	i := t.find(k)
	if i < 0 || t.values[i] == 0 {
		return 0, false
	}
	return t.asns[t.values[i]-1], true
}

// find returns the index of the range that holds k, or -1 when k is
// below the first (and so in no route).
func (t *rangeTable[K]) find(k K) int {
	if len(t.starts) == 0 {
		return -1
	}
	// The first start above k; the range before it holds k.
	h := k.top16()
	lo, hi := int(t.buckets[h]), int(t.buckets[h+1])
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if k.less(t.starts[mid]) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo - 1
}

// span returns the first and the last address of range i; the last
// range ends with the address space.
func (t *rangeTable[K]) span(i int, top netip.Addr) (first, last netip.Addr) {
	first, last = t.starts[i].addr(), top
	if i+1 < len(t.starts) {
		last = t.starts[i+1].addr().Prev()
	}
	return first, last
}

// flatten sorts routes and sweeps them into a rangeTable. Routes either
// nest or are disjoint, so in sorted order a stack holds the routes that
// enclose the current address: a route starts a range with its ASN, and
// where it ends the range reverts to the innermost route still open.
func flatten[K rangeKey[K]](ctx context.Context, routes []route[K]) (rangeTable[K], error) {
	if err := sortRoutes(ctx, routes); err != nil {
		return rangeTable[K]{}, err
	}
	f := flattener[K]{index: map[uint32]uint32{}}
	var open []route[K]
	for i, r := range routes {
		if i%1024 == 0 {
			if err := checkpoint(ctx); err != nil {
				return rangeTable[K]{}, err
			}
		}
		if i+1 < len(routes) && routes[i+1].start == r.start && routes[i+1].bits == r.bits {
			continue // a later line for the same prefix wins
		}
		open = f.close(open, r.start)
		f.emit(r.start, f.value(r.asn))
		open = append(open, r)
	}
	for len(open) > 0 {
		open = f.pop(open)
	}
	t := f.table
	t.buckets = bucketsOf(t.starts)
	return t, nil
}

// bucketsOf returns the index of rangeTable.buckets over sorted starts.
func bucketsOf[K rangeKey[K]](starts []K) []uint32 {
	if len(starts) == 0 {
		return nil
	}
	buckets := make([]uint32, 1<<16+1)
	i := 0
	for h := range buckets {
		for i < len(starts) && starts[i].top16() < uint32(h) {
			i++
		}
		buckets[h] = uint32(i)
	}
	return buckets
}

// flattener accumulates a rangeTable's ranges and ASNs.
type flattener[K rangeKey[K]] struct {
	table rangeTable[K]
	index map[uint32]uint32 // ASN → value
}

// value returns the value that stands for asn.
func (f *flattener[K]) value(asn uint32) uint32 {
	v, ok := f.index[asn]
	if !ok {
		f.table.asns = append(f.table.asns, asn)
		v = uint32(len(f.table.asns))
		f.index[asn] = v
	}
	return v
}

// close pops the open routes that end before at.
func (f *flattener[K]) close(open []route[K], at K) []route[K] {
	for len(open) > 0 && open[len(open)-1].end().less(at) {
		open = f.pop(open)
	}
	return open
}

// pop ends the innermost open route: after its last address the range
// has the value of the route that encloses it, or none.
func (f *flattener[K]) pop(open []route[K]) []route[K] {
	top := open[len(open)-1]
	open = open[:len(open)-1]
	after, ok := top.end().next()
	if !ok {
		return open
	}
	v := uint32(0)
	if len(open) > 0 {
		v = f.value(open[len(open)-1].asn)
	}
	f.emit(after, v)
	return open
}

// emit starts a range at k with value v, merging it into the range
// before when they would be equal.
func (f *flattener[K]) emit(k K, v uint32) {
	t := &f.table
	if n := len(t.starts); n > 0 && t.starts[n-1] == k {
		t.starts, t.values = t.starts[:n-1], t.values[:n-1]
	}
	if n := len(t.values); (n > 0 && t.values[n-1] == v) || (n == 0 && v == 0) {
		return
	}
	t.starts = append(t.starts, k)
	t.values = append(t.values, v)
}

// sortRunLen is the length of the runs sortRoutes sorts between two
// checkpoints before merging them.
const sortRunLen = 4096

// sortRoutes sorts routes by route.before, stably, as a bottom-up merge
// sort that stops at a checkpoint every few thousand routes: one call to
// slices.SortFunc over a million routes would hold the processor for
// longer than a paced build may.
func sortRoutes[K rangeKey[K]](ctx context.Context, routes []route[K]) error {
	cmp := func(a, b route[K]) int {
		switch {
		case a.before(b):
			return -1
		case b.before(a):
			return 1
		}
		return 0
	}
	for lo := 0; lo < len(routes); lo += sortRunLen {
		if err := checkpoint(ctx); err != nil {
			return err
		}
		slices.SortStableFunc(routes[lo:min(lo+sortRunLen, len(routes))], cmp)
	}
	if len(routes) <= sortRunLen {
		return nil
	}
	src, dst := routes, make([]route[K], len(routes))
	for width := sortRunLen; width < len(routes); width *= 2 {
		steps := 0
		for lo := 0; lo < len(src); lo += 2 * width {
			mid, hi := min(lo+width, len(src)), min(lo+2*width, len(src))
			i, j := lo, mid
			for k := lo; k < hi; k++ {
				if steps++; steps%sortRunLen == 0 {
					if err := checkpoint(ctx); err != nil {
						return err
					}
				}
				if j >= hi || (i < mid && !src[j].before(src[i])) {
					dst[k], i = src[i], i+1
				} else {
					dst[k], j = src[j], j+1
				}
			}
		}
		src, dst = dst, src
	}
	copy(routes, src)
	return nil
}
