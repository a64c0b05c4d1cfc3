package snapshot

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/gaissmai/bart"
)

// The flattened routeTable is checked against a trie, the readable
// reference: bart's Table inserts prefixes one by one and answers the
// longest match directly.

type testRoute struct {
	pfx netip.Prefix
	asn uint32
}

// compareWithTrie builds both tables from routes and compares their
// answers for every address in addrs and for the first and last address
// of every route and their neighbours.
func compareWithTrie(t *testing.T, routes []testRoute, addrs []netip.Addr) {
	t.Helper()
	var b routeTableBuilder
	trie := new(bart.Table[uint32])
	for _, r := range routes {
		b.add(r.pfx, r.asn)
		trie.Insert(r.pfx, r.asn)
	}
	table, err := b.build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		first := r.pfx.Masked().Addr()
		last := lastAddr(r.pfx)
		addrs = append(addrs, first, first.Prev(), last, last.Next())
	}
	for _, a := range addrs {
		if !a.IsValid() {
			continue
		}
		gotASN, gotOK := table.lookup(a)
		wantASN, wantOK := trie.Lookup(a)
		if gotASN != wantASN || gotOK != wantOK {
			t.Fatalf("lookup(%v) = %d, %v; the trie says %d, %v (%d routes)", a, gotASN, gotOK, wantASN, wantOK, len(routes))
		}
	}
}

func lastAddr(p netip.Prefix) netip.Addr {
	p = p.Masked()
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func TestRouteTableMatchesTrie(t *testing.T) {
	pfx := netip.MustParsePrefix
	addr := netip.MustParseAddr
	tests := []struct {
		name   string
		routes []testRoute
		addrs  []netip.Addr
	}{
		{"empty", nil, []netip.Addr{addr("1.2.3.4"), addr("::1")}},
		{"one", []testRoute{{pfx("10.0.0.0/8"), 1}}, []netip.Addr{addr("10.1.2.3"), addr("::ffff:10.1.2.3")}},
		{"nested", []testRoute{{pfx("10.0.0.0/8"), 1}, {pfx("10.1.0.0/16"), 2}, {pfx("10.1.2.0/24"), 3}, {pfx("10.1.2.255/32"), 4}}, nil},
		{"nested ending together", []testRoute{{pfx("10.0.0.0/8"), 1}, {pfx("10.255.0.0/16"), 2}, {pfx("10.255.255.0/24"), 3}, {pfx("20.0.0.0/8"), 5}}, nil},
		{"same ASN inside", []testRoute{{pfx("10.0.0.0/8"), 1}, {pfx("10.1.0.0/16"), 1}}, nil},
		{"adjacent", []testRoute{{pfx("10.0.0.0/9"), 1}, {pfx("10.128.0.0/9"), 2}, {pfx("11.0.0.0/8"), 2}}, nil},
		{"later line wins", []testRoute{{pfx("10.0.0.0/8"), 1}, {pfx("10.0.0.0/8"), 2}, {pfx("10.0.0.0/8"), 3}}, nil},
		{"unmasked", []testRoute{{pfx("10.9.9.9/8"), 1}}, nil},
		{"edges of the space", []testRoute{{pfx("0.0.0.0/1"), 1}, {pfx("0.0.0.0/32"), 2}, {pfx("255.255.255.255/32"), 3}, {pfx("128.0.0.0/1"), 4}}, nil},
		{"default route", []testRoute{{pfx("0.0.0.0/0"), 1}, {pfx("::/0"), 2}, {pfx("192.0.2.0/24"), 3}}, nil},
		{"ipv6", []testRoute{{pfx("2001:db8::/32"), 1}, {pfx("2001:db8:1::/48"), 2}, {pfx("2001:db8:1::1/128"), 3},
			{pfx("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"), 4}, {pfx("2001:db8:0:0:8000::/65"), 5}}, nil},
		{"ipv4 and ipv6 apart", []testRoute{{pfx("10.0.0.0/8"), 1}, {pfx("::ffff:0:0/96"), 2}}, []netip.Addr{addr("10.0.0.1"), addr("::ffff:10.0.0.1"), addr("::ffff:11.0.0.1")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { compareWithTrie(t, tt.routes, tt.addrs) })
	}
}

// TestRouteTableRandom compares the tables on routes drawn around a few
// hundred bases, so that they nest deeply, overlap in ASN and repeat, in
// more than one sort run.
func TestRouteTableRandom(t *testing.T) {
	for seed := range uint64(4) {
		rng := rand.New(rand.NewPCG(seed, 7))
		var bases4 []uint32
		for range 300 {
			bases4 = append(bases4, rng.Uint32())
		}
		var routes []testRoute
		for range 3*sortRunLen + 100 {
			base := bases4[rng.IntN(len(bases4))] ^ (rng.Uint32() >> (8 + rng.IntN(24)))
			var a [4]byte
			binary.BigEndian.PutUint32(a[:], base)
			p := netip.PrefixFrom(netip.AddrFrom4(a), 1+rng.IntN(32))
			routes = append(routes, testRoute{p, uint32(rng.IntN(50))})
			if rng.IntN(8) == 0 {
				var b [16]byte
				binary.BigEndian.PutUint64(b[:], 0x20010db800000000|uint64(rng.Uint32()>>rng.IntN(32)))
				binary.BigEndian.PutUint64(b[8:], rng.Uint64())
				routes = append(routes, testRoute{netip.PrefixFrom(netip.AddrFrom16(b), 1+rng.IntN(128)), uint32(rng.IntN(50))})
			}
		}
		var addrs []netip.Addr
		for range 20000 {
			var a [4]byte
			binary.BigEndian.PutUint32(a[:], bases4[rng.IntN(len(bases4))]^(rng.Uint32()>>rng.IntN(32)))
			addrs = append(addrs, netip.AddrFrom4(a))
		}
		compareWithTrie(t, routes, addrs)
	}
}

// FuzzRouteTable compares the tables on routes read from the input, six
// bytes each: four of address, one of length, one of ASN.
func FuzzRouteTable(f *testing.F) {
	f.Add([]byte{10, 0, 0, 0, 8, 1, 10, 1, 0, 0, 16, 2, 10, 1, 0, 0, 16, 3})
	f.Add([]byte{0, 0, 0, 0, 1, 1, 255, 255, 255, 255, 32, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		var routes []testRoute
		for ; len(data) >= 6; data = data[6:] {
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte(data[:4])), int(data[4])%33)
			routes = append(routes, testRoute{p, uint32(data[5] % 8)})
		}
		compareWithTrie(t, routes, nil)
	})
}
