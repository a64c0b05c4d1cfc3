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
// and as fast to query as the dense index.
type hostSet []rankedWord

type rankedWord struct {
	bits   uint64
	before int32 // members in the words before this one, minus one: rank adds h's own bit back
}

// newHostSet returns the set of refs, which are sorted and distinct, with
// a word for every 64 of hosts (more if refs need them), so that rank
// needs no test of its own before reading h's word.
func newHostSet(refs []HostRef, hosts int) hostSet {
	if len(refs) > 0 {
		hosts = max(hosts, int(refs[len(refs)-1])+1)
	}
	s := make(hostSet, (hosts+63)/64)
	for _, h := range refs {
		s[h/64].bits |= 1 << (h % 64)
	}
	n := int32(-1)
	for i := range s {
		s[i].before = n
		n += int32(bits.OnesCount64(s[i].bits))
	}
	return s
}

// grown returns s with words for hosts hosts, s itself if it has them.
func (s hostSet) grown(hosts int) hostSet {
	words := (hosts + 63) / 64
	if len(s) >= words {
		return s
	}
	last := int32(-1)
	if len(s) > 0 {
		last = s[len(s)-1].before + int32(bits.OnesCount64(s[len(s)-1].bits))
	}
	g := make(hostSet, words)
	copy(g, s)
	for i := len(s); i < words; i++ {
		g[i].before = last
	}
	return g
}

// has reports whether h is a member.
func (s hostSet) has(h HostRef) bool {
	w := int(h / 64)
	return w < len(s) && s[w].bits&(1<<(h%64)) != 0
}

// rank returns h's index among the members in HostRef order, or -1 if h
// is not a member. h must be below the hosts the set was made for.
func (s hostSet) rank(h HostRef) int {
	rw := s[h>>6]
	upTo := rw.bits << (63 - h&63) // h's bit on top, the members before it under it
	if int64(upTo) < 0 {
		return int(rw.before) + bits.OnesCount64(upTo)
	}
	return -1
}

// members calls fn for every member in HostRef order, with its rank.
func (s hostSet) members(fn func(rank int, h HostRef)) {
	for w, word := range s {
		i := int(word.before) + 1
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
