package snapshot

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// interned deduplicates the per-directory host lists while a snapshot is
// built. Fedora's ~40,000 directories share a few thousand distinct lists,
// so each distinct one is stored once and every directory points at it.
// Keys are the lists' binary encodings; lookups with a reused scratch
// buffer do not allocate.
type interned struct {
	refs         map[string][]HostRef
	globals      map[*HostRef]*globalList // by the interned list's first element
	urls         map[string]uint32        // a carrier's hcurl list's handle in urlPool
	urlPool      *urlPool                 // every distinct hcurl list of a carrier
	countries    map[string]*countryTable
	codes        map[string][]string // the code lists of country tables
	countryIDs   map[*HostRef]uint32 // index in countryLists, by the interned list's first element
	countryLists [][]HostRef         // every distinct ByCountry list
	carriers     map[string]*carrierTable
	scratch      []byte

	carrierKeys    []uint64 // sortCarriers' scratch
	sortedCarriers []carrier
}

func newInterned() interned {
	return interned{
		refs:       make(map[string][]HostRef),
		globals:    make(map[*HostRef]*globalList),
		urls:       make(map[string]uint32),
		countries:  make(map[string]*countryTable),
		codes:      make(map[string][]string),
		countryIDs: make(map[*HostRef]uint32),
		urlPool:    new(urlPool),
		carriers:   make(map[string]*carrierTable),
	}
}

func (in *interned) count() int {
	return len(in.refs) + len(in.urls) + len(in.countries) + len(in.carriers)
}

// internRefs returns the shared copy of a sorted list (which it may copy).
func (in *interned) internRefs(refs []HostRef) []HostRef {
	if len(refs) == 0 {
		return nil
	}
	in.scratch = appendRefs(in.scratch[:0], refs)
	if shared, ok := in.refs[string(in.scratch)]; ok {
		return shared
	}
	shared := slices.Clone(refs)
	in.refs[string(in.scratch)] = shared
	return shared
}

// internGlobal returns the shared Global list of these hosts (sorted,
// distinct, as hostList gives them).
func (in *interned) internGlobal(refs []HostRef) *globalList {
	shared := in.internRefs(refs)
	var first *HostRef
	if len(shared) > 0 {
		first = &shared[0]
	}
	if g, ok := in.globals[first]; ok {
		return g
	}
	g := &globalList{hosts: shared, set: newHostBits(shared)}
	in.globals[first] = g
	return g
}

// internURLs returns the handle in urlPool of a carrier's hcurl list.
func (in *interned) internURLs(urls []URLRef) uint32 {
	in.scratch = in.scratch[:0]
	for _, u := range urls {
		in.scratch = binary.AppendUvarint(in.scratch, uint64(u))
	}
	if id, ok := in.urls[string(in.scratch)]; ok {
		return id
	}
	id := in.urlPool.add(urls)
	in.urls[string(in.scratch)] = id
	return id
}

// internCountries returns the shared table with these countries (sorted,
// distinct) and their hosts (the hosts of ccs[i] end at ends[i]), building
// it only when it is new.
func (in *interned) internCountries(ccs []string, ends []uint32, hosts []HostRef) *countryTable {
	in.scratch = in.scratch[:0]
	start := uint32(0)
	for i, cc := range ccs {
		in.scratch = append(in.scratch, cc...)
		in.scratch = append(in.scratch, 0)
		in.scratch = appendRefs(in.scratch, hosts[start:ends[i]])
		in.scratch = append(in.scratch, 0xff)
		start = ends[i]
	}
	if shared, ok := in.countries[string(in.scratch)]; ok {
		return shared
	}
	key := string(in.scratch)
	t := &countryTable{codes: in.internCodes(ccs), hosts: make([]uint32, len(ccs))}
	start = 0
	for i := range ccs {
		t.hosts[i] = in.internCountryList(hosts[start:ends[i]])
		start = ends[i]
	}
	in.countries[key] = t
	return t
}

// internCountryList returns the index in countryLists of a ByCountry list.
func (in *interned) internCountryList(refs []HostRef) uint32 {
	shared := in.internRefs(refs)
	var first *HostRef
	if len(shared) > 0 {
		first = &shared[0]
	}
	if id, ok := in.countryIDs[first]; ok {
		return id
	}
	id := uint32(len(in.countryLists))
	in.countryLists = append(in.countryLists, shared)
	in.countryIDs[first] = id
	return id
}

// internCodes returns the shared copy of a list of country codes.
func (in *interned) internCodes(ccs []string) []string {
	key := strings.Join(ccs, ",")
	if shared, ok := in.codes[key]; ok {
		return shared
	}
	shared := slices.Clip(slices.Clone(ccs))
	in.codes[key] = shared
	return shared
}

// internCarriers sorts cs by host, keeps the first entry of a host listed
// twice, and returns the shared table with that content. Equal hcurl
// lists have equal handles (internURLs), so the hosts and handles say
// what the table holds.
func (in *interned) internCarriers(cs []carrier) *carrierTable {
	cs = in.sortCarriers(cs)
	in.scratch = in.scratch[:0]
	for _, c := range cs {
		in.scratch = binary.AppendUvarint(in.scratch, uint64(c.host))
		in.scratch = binary.AppendUvarint(in.scratch, uint64(c.urls))
	}
	if shared, ok := in.carriers[string(in.scratch)]; ok {
		return shared
	}
	key := string(in.scratch)
	t := &carrierTable{urls: make([]uint32, len(cs))} // lists: set by finish, once the pool is complete
	refs := make([]HostRef, len(cs))
	for i, c := range cs {
		refs[i] = c.host
		t.urls[i] = c.urls
	}
	t.hosts = newHostSet(refs, 0) // grown to all the snapshot's hosts by finish
	in.carriers[key] = t
	return t
}

func appendRefs(dst []byte, refs []HostRef) []byte {
	for _, r := range refs {
		dst = binary.AppendUvarint(dst, uint64(r))
	}
	return dst
}

// sortUniqueRefs sorts refs and removes duplicates, in place.
func sortUniqueRefs(refs []HostRef) []HostRef {
	slices.Sort(refs)
	return slices.Compact(refs)
}

func sortStrings(s []string) { slices.Sort(s) }

// warnings collects the non-fatal inconsistencies of one load. Only the
// first few are kept verbatim: a broken back end could produce thousands.
type warnings struct {
	kept    []string
	dropped int
}

func (w *warnings) count() int { return len(w.kept) + w.dropped }

const maxWarnings = 50

func (w *warnings) add(format string, args ...any) {
	if len(w.kept) >= maxWarnings {
		w.dropped++
		return
	}
	w.kept = append(w.kept, fmt.Sprintf(format, args...))
}

func (w *warnings) list() []string {
	if w.dropped == 0 {
		return w.kept
	}
	return append(w.kept, fmt.Sprintf("... and %d more", w.dropped))
}

// sortCarriers returns cs sorted by host, with only the first entry of a
// host listed twice, in scratch space valid until the next call. It sorts
// each entry's host and index packed in one integer, which orders them as
// a stable sort by host would, several times faster than one.
func (in *interned) sortCarriers(cs []carrier) []carrier {
	keys := in.carrierKeys[:0]
	for i, c := range cs {
		keys = append(keys, uint64(c.host)<<32|uint64(i))
	}
	slices.Sort(keys)
	sorted := in.sortedCarriers[:0]
	for i, k := range keys {
		c := cs[uint32(k)]
		if i > 0 && c.host == sorted[len(sorted)-1].host {
			continue
		}
		sorted = append(sorted, c)
	}
	in.carrierKeys, in.sortedCarriers = keys, sorted
	return sorted
}
