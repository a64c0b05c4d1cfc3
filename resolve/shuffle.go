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
	lo, hi := uint64(math.MaxUint64), uint64(0)
	for i, h := range group {
		w := weights[h]
		if !(w >= 1) { // also catches NaN
			w = 1
		}
		k := math.Float64bits(rng.ExpFloat64()/w)&^mask | uint64(i)
		keys = append(keys, k)
		lo, hi = min(lo, k), max(hi, k)
	}
	sh.keys = keys
	sh.sort(keys, lo, hi)
	sh.tmp = append(sh.tmp[:0], group...)
	for i, k := range keys {
		group[i] = sh.tmp[k&mask]
	}
}

// radixMin is the group size from which sort uses a radix sort: below it a
// comparison sort is as fast. BenchmarkWeightedOrder, run once with each
// sort, chose it; the figures are in the commit that set it (f4cb4b7).
const radixMin = 16

// sort sorts keys ascending; lo and hi are the smallest and the largest
// key. Larger groups take a radix sort: a comparison sort of random keys
// mispredicts a branch for about every other comparison, which makes it
// the slowest part of a request.
func (sh *shuffler) sort(keys []uint64, lo, hi uint64) {
	if len(keys) < radixMin {
		slices.Sort(keys)
		return
	}
	if cap(sh.spare) < len(keys) {
		sh.spare = make([]uint64, len(keys))
	}
	if len(keys) < radixTwoPasses {
		radixSort8(keys, sh.spare[:len(keys)], lo, hi)
		return
	}
	radixSort(keys, sh.spare[:len(keys)], lo, hi)
}

// radixTwoPasses is the group size from which sort makes two radix
// passes, on 16 bits: below it, one pass on 8 bits leaves runs as short
// and costs half the counting.
const radixTwoPasses = 48

// radixSort8 is radixSort with one pass, on the top 8 bits of the
// offsets.
func radixSort8(keys, spare []uint64, lo, hi uint64) {
	shift := uint(max(bits.Len64(hi-lo)-8, 0))
	var count [256]uint32
	for _, k := range keys {
		count[byte((k-lo)>>shift)]++
	}
	var sum uint32
	for d := range count {
		count[d], sum = sum, sum+count[d]
	}
	for _, k := range keys {
		d := byte((k - lo) >> shift)
		spare[count[d]] = k
		count[d]++
	}
	copy(keys, spare)
	insertionSort(keys)
}

// radixSort sorts keys, all in [lo, hi], ascending, using spare (as long
// as keys) as scratch.
//
// A least-significant-digit radix sort orders the keys by the top 16 bits
// of their offset from lo, in two passes of a byte; an insertion sort on
// the whole keys then only has to reorder the few runs whose 16 bits are
// equal. The keys are float64 bits, whose offsets grow about as the
// logarithm of the value: a group's keys spread over a few dozen binades,
// which 16 bits cut into thousands of slices each, so that runs of more
// than one key are rare. Sorting on the offset rather than the keys' own
// top bits (their sign, exponent and first bits of mantissa) spends no
// pass on the bits that all keys share.
//
// Keys clustered more than a shuffle's are, in runs too long for the
// insertion sort, are left to a comparison sort, so that no input takes
// quadratic time.
func radixSort(keys, spare []uint64, lo, hi uint64) {
	shift := uint(max(bits.Len64(hi-lo)-16, 0))
	var low, high [256]uint32
	for _, k := range keys {
		d := (k - lo) >> shift
		low[byte(d)]++
		high[byte(d>>8)]++
	}
	var lsum, hsum uint32
	for d := range 256 {
		low[d], lsum = lsum, lsum+low[d]
		high[d], hsum = hsum, hsum+high[d]
	}
	for _, k := range keys {
		d := byte((k - lo) >> shift)
		spare[low[d]] = k
		low[d]++
	}
	for _, k := range spare {
		d := byte((k - lo) >> shift >> 8)
		keys[high[d]] = k
		high[d]++
	}
	insertionSort(keys)
}

// insertionSort sorts keys that are nearly sorted, as a radix pass leaves
// them; keys too far from their places, in runs too long for it, are left
// to a comparison sort, so that no input takes quadratic time.
func insertionSort(keys []uint64) {
	budget := 4 * len(keys) // moves before giving up on the insertion sort
	for i := 1; i < len(keys); i++ {
		j := i
		for ; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
		if budget -= i - j; budget < 0 {
			slices.Sort(keys)
			return
		}
	}
}

// shuffle puts hosts in uniformly random order (Fisher–Yates).
func shuffle(hosts []snapshot.HostRef, rng *rand.Rand) {
	for i := len(hosts) - 1; i > 0; i-- {
		j := rng.IntN(i + 1)
		hosts[i], hosts[j] = hosts[j], hosts[i]
	}
}
