package snapshot

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestHostSetAgainstList checks hostSet and hostBits against the sorted
// list they are built from: membership by binary search, rank as the
// index found.
func TestHostSetAgainstList(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 63, 64, 65, 130, 1350} {
		for _, density := range []float64{0, 0.01, 0.3, 0.9, 1} {
			var refs []HostRef
			for h := range n {
				if rng.Float64() < density {
					refs = append(refs, HostRef(h))
				}
			}
			// Made for just enough hosts, then grown, as Load does.
			least := 0
			if len(refs) > 0 {
				least = int(refs[len(refs)-1]) + 1
			}
			s, b := newHostSet(refs, least).grown(n+130), newHostBits(refs)
			for h := HostRef(0); h < HostRef(n+130); h++ {
				i, want := slices.BinarySearch(refs, h)
				if got := s.has(h); got != want {
					t.Fatalf("n=%d density=%v: has(%d) = %v, want %v", n, density, h, got, want)
				}
				if got := b.has(h); got != want {
					t.Fatalf("n=%d density=%v: bits has(%d) = %v, want %v", n, density, h, got, want)
				}
				if !want {
					i = -1
				}
				if r := s.rank(h); r != i {
					t.Fatalf("n=%d density=%v: rank(%d) = %d, want %d", n, density, h, r, i)
				}
			}
			var got []HostRef
			s.members(func(rank int, h HostRef) {
				if rank != len(got) {
					t.Fatalf("members: rank %d for the %dth member", rank, len(got))
				}
				got = append(got, h)
			})
			if !slices.Equal(got, refs) {
				t.Fatalf("n=%d density=%v: members = %v, want %v", n, density, got, refs)
			}
		}
	}
}

// TestURLPool checks that every list comes back from its handle, short
// and long ones alike.
func TestURLPool(t *testing.T) {
	var p urlPool
	var lists [][]URLRef
	var handles []uint32
	for n := range 40 {
		l := make([]URLRef, n)
		for i := range l {
			l[i] = URLRef(100*n + i)
		}
		lists = append(lists, l)
		handles = append(handles, p.add(l))
	}
	for i, h := range handles {
		if got := p.list(h); !slices.Equal(got, lists[i]) || cap(got) != len(got) {
			t.Errorf("list %d: got %v (cap %d), want %v", i, got, cap(got), lists[i])
		}
	}
	if len(p.long) != 40-longLists {
		t.Errorf("%d long lists, want %d", len(p.long), 40-longLists)
	}
}
