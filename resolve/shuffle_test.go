package resolve

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	mm "github.com/mirrorlist-go/mirrorlist-server/proto"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// chiSquare returns Pearson's statistic of observed counts against expected
// probabilities over n draws.
func chiSquare(observed []int, p []float64, n int) float64 {
	x := 0.0
	for i, o := range observed {
		e := p[i] * float64(n)
		x += (float64(o) - e) * (float64(o) - e) / e
	}
	return x
}

// refs returns the HostRefs 0 to n-1.
func refs(n int) []snapshot.HostRef {
	hosts := make([]snapshot.HostRef, n)
	for i := range hosts {
		hosts[i] = snapshot.HostRef(i)
	}
	return hosts
}

// weightOf returns the weights of hosts 0 to len(w)-1: w itself, since a
// HostRef indexes the weights.
func weightOf(w []float64) []float64 { return w }

// TestWeightedOrderLargeGroup checks a group of 5,000 hosts, whose indexes
// take 13 key bits: every host stays, and the heaviest host comes first as
// often as its weight says (1000 of 5999, chi-square for 1 degree of
// freedom, 10.83 at 0.001).
func TestWeightedOrderLargeGroup(t *testing.T) {
	const n, draws = 5000, 2000
	weights := make([]float64, n)
	for i := range weights {
		weights[i] = 1
	}
	weights[1234] = 1000
	rng := rand.New(rand.NewPCG(9, 9))
	var sh shuffler
	heaviest := 0
	for range draws {
		hosts := refs(n)
		sh.weighted(hosts, weightOf(weights), rng)
		if hosts[0] == 1234 {
			heaviest++
		}
		seen := make([]bool, n)
		for _, h := range hosts {
			if seen[h] {
				t.Fatalf("host %d twice", h)
			}
			seen[h] = true
		}
	}
	p := 1000.0 / (n - 1 + 1000)
	if x := chiSquare([]int{heaviest, draws - heaviest}, []float64{p, 1 - p}, draws); x > 10.83 {
		t.Errorf("heaviest first %d of %d, want about %.0f: chi-square %.1f", heaviest, draws, p*draws, x)
	}
}

// TestWeightedOrderFirstPlace checks that a host comes first with
// probability weight/total: a chi-square test over 20,000 seeded draws, at
// a significance of 0.001 (critical value 24.32 for 7 degrees of freedom).
func TestWeightedOrderFirstPlace(t *testing.T) {
	weights := []float64{1, 2, 3, 10, 100, 1000, 1, 50}
	total := 0.0
	for _, w := range weights {
		total += w
	}
	p := make([]float64, len(weights))
	for i, w := range weights {
		p[i] = w / total
	}
	rng := rand.New(rand.NewPCG(42, 42))
	const draws = 20000
	first := make([]int, len(weights))
	var sh shuffler
	for range draws {
		hosts := refs(len(weights))
		sh.weighted(hosts, weightOf(weights), rng)
		first[hosts[0]]++
	}
	if x := chiSquare(first, p, draws); x > 24.32 {
		t.Errorf("first places %v for weights %v: chi-square %.1f > 24.32", first, weights, x)
	}
}

// TestWeightedOrderPermutations checks the whole order, not only the first
// place: for weights 1, 2, 3 each of the six orders must come with the
// probability of drawing without replacement, w_a/6 · w_b/(6-w_a) (chi-square,
// 5 degrees of freedom, critical value 20.52 at 0.001).
func TestWeightedOrderPermutations(t *testing.T) {
	weights := []float64{1, 2, 3}
	perms := [][3]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}
	p := make([]float64, len(perms))
	for i, perm := range perms {
		a, b := weights[perm[0]], weights[perm[1]]
		p[i] = a / 6 * b / (6 - a)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	const draws = 20000
	seen := make([]int, len(perms))
	var sh shuffler
	for range draws {
		hosts := refs(3)
		sh.weighted(hosts, weightOf(weights), rng)
		got := [3]int{int(hosts[0]), int(hosts[1]), int(hosts[2])}
		for i, perm := range perms {
			if perm == got {
				seen[i]++
			}
		}
	}
	if x := chiSquare(seen, p, draws); x > 20.52 {
		t.Errorf("orders %v: chi-square %.1f > 20.52 (want proportions %v)", seen, x, p)
	}
}

// TestWeightedOrderLowWeights checks that weights below 1 (and NaN) count
// as 1.
func TestWeightedOrderLowWeights(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	const draws = 20000
	first := make([]int, 3)
	var sh shuffler
	for range draws {
		hosts := refs(3)
		sh.weighted(hosts, weightOf([]float64{0, math.NaN(), 1}), rng)
		first[hosts[0]]++
	}
	if x := chiSquare(first, []float64{1. / 3, 1. / 3, 1. / 3}, draws); x > 13.82 {
		t.Errorf("first places %v: chi-square %.1f > 13.82", first, x)
	}
}

// TestShuffleUniform checks the ASN group's uniform order on the smallest
// interesting case: each of three hosts first a third of the time.
func TestShuffleUniform(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	const draws = 20000
	first := make([]int, 3)
	for range draws {
		hosts := []snapshot.HostRef{0, 1, 2}
		shuffle(hosts, rng)
		first[hosts[0]]++
	}
	if x := chiSquare(first, []float64{1. / 3, 1. / 3, 1. / 3}, draws); x > 13.82 {
		t.Errorf("first places %v: chi-square %.1f > 13.82", first, x)
	}
}

// firstPlaces resolves query draws times and counts the first mirror's
// host id.
func firstPlaces(t *testing.T, s *snapshot.Snapshot, query string, minimum, draws int) map[int64]int {
	t.Helper()
	counts := map[int64]int{}
	rng := rand.New(rand.NewPCG(11, 11))
	var a Answer
	req := request(Mirrorlist, query)
	for range draws {
		Resolve(s, req, Options{Minimum: minimum}, rng, &a)
		if len(a.Mirrors) == 0 {
			t.Fatalf("no mirror: %s", render(s, &a))
		}
		counts[s.Mirrors().Host(a.Mirrors[0].Host).ID]++
	}
	return counts
}

// TestResolveWeighted checks the bandwidth weighting end to end: with
// country=DE,FR the tiny hosts 10, 11 and 20 (bandwidths 1000, 100 and 500)
// come first 10/16, 1/16 and 5/16 of the time.
func TestResolveWeighted(t *testing.T) {
	s := tinySnapshot(t, nil)
	const draws = 20000
	counts := firstPlaces(t, s, fedora41+ipFR+"&country=DE,FR", 5, draws)
	ids := []int64{fixtures.TinyHostDE1, fixtures.TinyHostDE2, fixtures.TinyHostFR}
	obs := []int{counts[ids[0]], counts[ids[1]], counts[ids[2]]}
	if x := chiSquare(obs, []float64{10. / 16, 1. / 16, 5. / 16}, draws); x > 13.82 {
		t.Errorf("first places %v: chi-square %.1f > 13.82", counts, x)
	}
}

// TestResolveASNUniform checks that the ASN group ignores bandwidth: hosts
// 30, 31 and 32 (bandwidths 10000, none and 0) pinned to one ASN each come
// first a third of the time.
func TestResolveASNUniform(t *testing.T) {
	s := tinySnapshot(t, func(ml *mm.MirrorList) {
		for _, e := range ml.HostAsnCache {
			if e.GetKey() == fixtures.TinyASN {
				e.Value = []int64{fixtures.TinyHostUS, fixtures.TinyHostASN, fixtures.TinyHostAllowed}
			}
		}
	})
	const draws = 6000
	counts := firstPlaces(t, s, fedora41+ipUSASN, 0, draws)
	ids := []int64{fixtures.TinyHostUS, fixtures.TinyHostASN, fixtures.TinyHostAllowed}
	obs := []int{counts[ids[0]], counts[ids[1]], counts[ids[2]]}
	if x := chiSquare(obs, []float64{1. / 3, 1. / 3, 1. / 3}, draws); x > 13.82 {
		t.Errorf("first places %v: chi-square %.1f > 13.82", counts, x)
	}
}

// TestNetblockEqualLengths checks that hosts of prefixes of equal length
// come in random order, after all hosts of longer prefixes, and that a host
// in two prefixes keeps the place of the longer one.
func TestNetblockEqualLengths(t *testing.T) {
	s := tinySnapshot(t, func(ml *mm.MirrorList) {
		ml.HostNetblockCache = []*mm.StringRepeatedIntMap{
			sriMap("80.10.20.0/24", fixtures.TinyHostDE2, fixtures.TinyHostDE1),
			sriMap("80.10.20.0/23", fixtures.TinyHostUS),
			sriMap("80.10.0.0/16", fixtures.TinyHostPrivate, fixtures.TinyHostFR, fixtures.TinyHostDE2),
		}
	})
	orders := map[string]int{}
	for seed := range uint64(200) {
		a := resolveQuery(s, Mirrorlist, fedora41+ipDENet, 0, seed)
		got := render(s, a)
		want := hFedora + "Using preferred netblock country = DE country = FR \n\n" +
			osd(de1S) + "\n" + osd(de2H) + "\n\n" +
			osd(usS) + "\n\n" +
			osd(frS) + "\n" + osd(privS) + "\n"
		if err := checkGrouped(want, got); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		orders[got]++
	}
	if len(orders) != 4 {
		t.Errorf("%d different orders in 200 draws, want all 4:\n%v", len(orders), orders)
	}
}

func sriMap(key string, ids ...int64) *mm.StringRepeatedIntMap {
	return &mm.StringRepeatedIntMap{Key: proto.String(key), Value: ids}
}

// TestRadixSort compares radixSort and radixSort8 with slices.Sort on
// random keys, on keys that share their top bytes, on keys equal in their
// top 32 bits, and on keys too clustered for their insertion sort.
func TestRadixSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	gens := map[string]func() uint64{
		"random":         rng.Uint64,
		"floats":         func() uint64 { return math.Float64bits(rng.ExpFloat64() / float64(1+rng.IntN(10000))) },
		"shared top":     func() uint64 { return 0x3ff0_0000_0000_0000 | rng.Uint64()>>20 },
		"equal top half": func() uint64 { return 0x4000_1234_0000_0000 | rng.Uint64()>>32 },
		"few values":     func() uint64 { return uint64(rng.IntN(3)) << 40 },
		"one outlier":    func() uint64 { return uint64(rng.IntN(1000)) + uint64(rng.IntN(1000)/999)<<60 },
	}
	sorts := map[string]func(keys, spare []uint64, lo, hi uint64){"radixSort": radixSort, "radixSort8": radixSort8}
	for name, gen := range gens {
		for _, n := range []int{1, 2, 15, 16, 17, 47, 48, 63, 64, 65, 400, 5000} {
			keys := make([]uint64, n)
			for i := range keys {
				keys[i] = gen()
			}
			want := slices.Clone(keys)
			slices.Sort(want)
			for sortName, sort := range sorts {
				got := slices.Clone(keys)
				sort(got, make([]uint64, n), want[0], want[n-1])
				if !slices.Equal(got, want) {
					t.Errorf("%s, %s, %d keys: not sorted", sortName, name, n)
				}
			}
		}
	}
}
