package resolve

import (
	"cmp"
	"math/rand/v2"
	"slices"

	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// keyedHost is a host with a sort key: its weight going into
// weightedOrder, its random key coming out.
type keyedHost struct {
	key  float64
	host snapshot.HostRef
}

// weightedOrder puts hosts, whose keys hold their weights (each at least
// 1), in bandwidth-weighted random order: the order of drawing one host
// after the other, each draw with probability proportional to weight among
// those left.
//
// Each host gets the key E/w, E exponentially distributed: the host with
// the smallest key is an exponential race's winner, which is host i with
// probability w_i/Σw, and by memorylessness the rest of the race orders the
// others the same way (Efraimidis and Spirakis' weighted sampling without
// replacement). One sort makes it O(n log n) instead of the O(n²) of
// repeated draws.
func weightedOrder(hosts []keyedHost, rng *rand.Rand) {
	for i := range hosts {
		w := hosts[i].key
		if !(w >= 1) { // also catches NaN
			w = 1
		}
		hosts[i].key = rng.ExpFloat64() / w
	}
	slices.SortFunc(hosts, func(a, b keyedHost) int { return cmp.Compare(a.key, b.key) })
}

// shuffle puts hosts in uniformly random order (Fisher–Yates).
func shuffle(hosts []snapshot.HostRef, rng *rand.Rand) {
	for i := len(hosts) - 1; i > 0; i-- {
		j := rng.IntN(i + 1)
		hosts[i], hosts[j] = hosts[j], hosts[i]
	}
}
