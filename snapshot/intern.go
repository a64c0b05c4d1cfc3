package snapshot

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// interned deduplicates the per-directory host lists while a snapshot is
// built. Fedora's ~40,000 directories share a few hundred distinct lists,
// so each distinct one is stored once and every directory points at it.
// Keys are the lists' binary encodings; lookups with a reused scratch
// buffer do not allocate.
type interned struct {
	refs      map[string][]HostRef
	urls      map[string][]URLRef
	countries map[string]*countryTable
	carriers  map[string]*carrierTable
	scratch   []byte
}

func newInterned() interned {
	return interned{
		refs:      make(map[string][]HostRef),
		urls:      make(map[string][]URLRef),
		countries: make(map[string]*countryTable),
		carriers:  make(map[string]*carrierTable),
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

func (in *interned) internURLs(urls []URLRef) []URLRef {
	if len(urls) == 0 {
		return nil
	}
	in.scratch = in.scratch[:0]
	for _, u := range urls {
		in.scratch = binary.AppendUvarint(in.scratch, uint64(u))
	}
	if shared, ok := in.urls[string(in.scratch)]; ok {
		return shared
	}
	shared := slices.Clone(urls)
	in.urls[string(in.scratch)] = shared
	return shared
}

// internCountries returns the shared table with these countries (sorted,
// distinct) and their interned lists, building it only when it is new.
func (in *interned) internCountries(ccs []string, lists [][]HostRef) *countryTable {
	in.scratch = in.scratch[:0]
	for i, cc := range ccs {
		in.scratch = append(in.scratch, cc...)
		in.scratch = append(in.scratch, 0)
		in.scratch = appendRefs(in.scratch, lists[i])
		in.scratch = append(in.scratch, 0xff)
	}
	if shared, ok := in.countries[string(in.scratch)]; ok {
		return shared
	}
	t := &countryTable{codes: slices.Clone(ccs), lists: slices.Clone(lists)}
	in.countries[string(in.scratch)] = t
	return t
}

// internCarriers sorts cs by host, keeps the first entry of a host listed
// twice, and returns the shared table with that content; urls holds the
// hcurls that cs's entries point into.
func (in *interned) internCarriers(cs []carrier, urls []URLRef) *carrierTable {
	slices.SortStableFunc(cs, func(a, b carrier) int { return int(a.host) - int(b.host) })
	cs = slices.CompactFunc(cs, func(a, b carrier) bool { return a.host == b.host })
	in.scratch = in.scratch[:0]
	for _, c := range cs {
		in.scratch = binary.AppendUvarint(in.scratch, uint64(c.host))
		in.scratch = binary.AppendUvarint(in.scratch, uint64(c.end-c.start))
		for _, u := range urls[c.start:c.end] {
			in.scratch = binary.AppendUvarint(in.scratch, uint64(u))
		}
	}
	if shared, ok := in.carriers[string(in.scratch)]; ok {
		return shared
	}
	key := string(in.scratch)
	t := &carrierTable{hosts: make([]HostRef, len(cs)), urls: make([][]URLRef, len(cs))}
	for i, c := range cs {
		t.hosts[i] = c.host
		t.urls[i] = in.internURLs(urls[c.start:c.end])
	}
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
