package resolve

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"

	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// shuffler puts groups of hosts in bandwidth-weighted random order. It
// keeps its memory between groups and calls.
type shuffler struct {
	keys  []uint64
	spare []uint64 // radix sort scratch
	tmp   []snapshot.HostRef
}

// weighted puts group in bandwidth-weighted random order: the order of
// drawing one host after the other, each draw with probability proportional
// to weight among those left. weights[h] should be at least 1; lower values
// and NaN count as 1.
//
// Each host gets the key E/w, E exponentially distributed: the smallest key
// wins an exponential race, which host i does with probability w_i/Σw, and
// by memorylessness the rest of the race orders the others the same way
// (Efraimidis and Spirakis' weighted sampling without replacement). One
// sort makes it O(n log n) instead of the O(n²) of repeated draws.
//
// The sort is of plain integers: a positive float64's bits order as its
// value, so each key's bits, with the lowest ones replaced by the host's
// index in group, sort the group in key order. The index takes at most
// bits.Len(len(group)) of the 52 mantissa bits; keys that then compare
// equal (a relative difference below 2^-40 for groups under 4096 hosts)
// keep group order, a bias far below anything measurable.
func (sh *shuffler) weighted(group []snapshot.HostRef, weights []float64, rng *rand.Rand) {
	if len(group) < 2 {
		return
	}
	shift := bits.Len(uint(len(group)))
	mask := uint64(1)<<shift - 1
	keys := sh.keys[:0]
	for i, h := range group {
		w := weights[h]
		if !(w >= 1) { // also catches NaN
			w = 1
		}
		keys = append(keys, math.Float64bits(rng.ExpFloat64()/w)&^mask|uint64(i))
	}
	sh.sort(keys)
	sh.tmp = append(sh.tmp[:0], group...)
	for i, k := range keys {
		group[i] = sh.tmp[k&mask]
	}
	sh.keys = keys
}

// radixMin is the group size from which sort uses a radix sort: below it a
// comparison sort is as fast.
const radixMin = 64

// sort sorts keys ascending. Large groups take a radix sort: a comparison
// sort of random keys mispredicts a branch for about every other
// comparison, which makes it the slowest part of a request.
func (sh *shuffler) sort(keys []uint64) {
	if len(keys) < radixMin {
		slices.Sort(keys)
		return
	}
	if cap(sh.spare) < len(keys) {
		sh.spare = make([]uint64, len(keys))
	}
	radixSort(keys, sh.spare[:len(keys)])
}

// radixSort sorts keys ascending, using spare (as long as keys) as
// scratch. A least-significant-digit radix sort orders the keys by their
// top bits, a byte per pass, skipping bytes that all keys share; an
// insertion sort on the whole keys then only has to reorder the runs whose
// top bits are equal, in about linear time.
//
// The top 32 bits are sorted on, or only the top 16 (the sign, the
// exponent and 4 bits of mantissa of a key) for fewer than radixWide keys:
// a pass costs about as much as the insertion sort of the short runs that
// two passes fewer leave behind, and a metalink's groups of mirrors are
// mostly of 100 to 250 hosts.
func radixSort(keys, spare []uint64) {
	low := 32
	if len(keys) < radixWide {
		low = 48
	}
	src, dst := keys, spare
	for shift := low; shift < 64; shift += 8 {
		var start [256]uint32
		for _, k := range src {
			start[byte(k>>shift)]++
		}
		if int(start[byte(src[0]>>shift)]) == len(src) {
			continue // one digit for all: the pass would change nothing
		}
		var sum uint32
		for d, n := range start {
			start[d], sum = sum, sum+n
		}
		for _, k := range src {
			d := byte(k >> shift)
			dst[start[d]] = k
			start[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
}

// radixWide is the number of keys from which radixSort sorts on their top
// 32 bits rather than 16.
const radixWide = 256

// shuffle puts hosts in uniformly random order (Fisher–Yates).
func shuffle(hosts []snapshot.HostRef, rng *rand.Rand) {
	for i := len(hosts) - 1; i > 0; i-- {
		j := rng.IntN(i + 1)
		hosts[i], hosts[j] = hosts[j], hosts[i]
	}
}
