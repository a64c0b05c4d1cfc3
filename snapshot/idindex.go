package snapshot

// idIndex maps MirrorManager's ids (host ids, hcurl ids) to the dense
// refs the snapshot uses. The ids of a database are small and mostly
// consecutive, and the directories look up hundreds of them each: once
// the first pass has seen the ids, densify moves them to a slice indexed
// by id, where a lookup is a load instead of a hash. Ids the slice does
// not cover (negative, larger than it, or all of them when they are too
// sparse for one) stay in the map.
type idIndex struct {
	dense  []uint32 // by id: ref+1, 0 for an unknown id
	sparse map[int64]uint32
}

func newIDIndex() idIndex { return idIndex{sparse: make(map[int64]uint32)} }

func (x *idIndex) get(id int64) (uint32, bool) {
	if uint64(id) < uint64(len(x.dense)) {
		v := x.dense[id]
		return v - 1, v != 0
	}
	v, ok := x.sparse[id]
	return v, ok
}

func (x *idIndex) set(id int64, ref uint32) {
	if uint64(id) < uint64(len(x.dense)) {
		x.dense[id] = ref + 1
		return
	}
	x.sparse[id] = ref
}

// denseSlack bounds the slice: at most this many slots per id known
// (and a few thousand more), so that a file with a few huge ids costs
// what its ids are worth, not what their values are.
const denseSlack = 16

// densify moves the ids known so far to the slice, if they are dense
// enough.
func (x *idIndex) densify() {
	maxID := int64(-1)
	for id := range x.sparse {
		maxID = max(maxID, id)
	}
	size := maxID + 1
	if size == 0 || size > int64(denseSlack*len(x.sparse)+4096) || size <= int64(len(x.dense)) {
		return
	}
	dense := make([]uint32, size)
	copy(dense, x.dense)
	for id, ref := range x.sparse {
		if id >= 0 {
			dense[id] = ref + 1
			delete(x.sparse, id)
		}
	}
	x.dense = dense
}
