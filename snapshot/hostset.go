package snapshot

import "math/bits"

// hostSet is a set of hosts as a bitset by HostRef that also knows each
// member's rank, its index among the members in HostRef order: every word
// carries the number of members in the words before it, so a rank costs
// one popcount. A directory's carriers are one: "does h carry it" is a bit
// test, and h's hcurls are at its rank in a list as long as the carriers.
//
// A set costs 12 bytes (16 with padding) per 64 hosts of the snapshot
// whatever its size, where a sorted list costs 4 bytes per member and a
// dense by-HostRef index 4 bytes per host: at Fedora's shape (1,350 hosts,
// a few hundred carriers per directory) it is the smallest of the three,
// and as fast to query as the dense index. Trailing empty words are left
// out.
type hostSet []rankedWord

type rankedWord struct {
	bits uint64
	rank uint32 // members in the words before this one
}

// newHostSet returns the set of refs, which are sorted and distinct.
func newHostSet(refs []HostRef) hostSet {
	if len(refs) == 0 {
		return nil
	}
	s := make(hostSet, refs[len(refs)-1]/64+1)
	for _, h := range refs {
		s[h/64].bits |= 1 << (h % 64)
	}
	n := uint32(0)
	for i := range s {
		s[i].rank = n
		n += uint32(bits.OnesCount64(s[i].bits))
	}
	return s
}

// has reports whether h is a member.
func (s hostSet) has(h HostRef) bool {
	w := int(h / 64)
	return w < len(s) && s[w].bits&(1<<(h%64)) != 0
}

// rank returns h's index among the members in HostRef order, or -1 if h
// is not a member.
func (s hostSet) rank(h HostRef) int {
	if w := int(h / 64); w < len(s) {
		if rw, bit := s[w], uint64(1)<<(h%64); rw.bits&bit != 0 {
			return int(rw.rank) + bits.OnesCount64(rw.bits&(bit-1))
		}
	}
	return -1
}

// members calls fn for every member in HostRef order, with its rank.
func (s hostSet) members(fn func(rank int, h HostRef)) {
	for w, word := range s {
		i := int(word.rank)
		for b := word.bits; b != 0; b &= b - 1 {
			fn(i, HostRef(w*64+bits.TrailingZeros64(b)))
			i++
		}
	}
}

// hostBits is a plain bitset by HostRef, for sets that are only tested:
// a directory's Global list. Trailing empty words are left out.
type hostBits []uint64

func newHostBits(refs []HostRef) hostBits {
	if len(refs) == 0 {
		return nil
	}
	b := make(hostBits, refs[len(refs)-1]/64+1)
	for _, h := range refs {
		b[h/64] |= 1 << (h % 64)
	}
	return b
}

func (b hostBits) has(h HostRef) bool {
	w := int(h / 64)
	return w < len(b) && b[w]&(1<<(h%64)) != 0
}
