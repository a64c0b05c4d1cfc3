package snapshot

import (
	"iter"
	"maps"
	"math/bits"
	"net/netip"
	"slices"
	"strings"
)

// The listings below walk a whole Mirrors for the operator's tools
// (cmd/mirrorlist-snapshot): a request never needs them, and they
// allocate what they return.

// Directories returns every directory, in name order.
func (m *Mirrors) Directories() []*Directory {
	dirs := slices.Collect(maps.Values(m.directories))
	slices.SortFunc(dirs, func(a, b *Directory) int { return strings.Compare(a.Name, b.Name) })
	return dirs
}

// HostIDs returns MirrorManager's ids of refs, in refs' order.
func (m *Mirrors) HostIDs(refs []HostRef) []int64 {
	ids := make([]int64, len(refs))
	for i, h := range refs {
		ids[i] = m.hosts[h].ID
	}
	return ids
}

// ASNs yields every ASN of HostAsnCache with the hosts pinned to it
// (sorted by HostRef, shared: do not modify), in ASN order.
func (m *Mirrors) ASNs() iter.Seq2[uint32, []HostRef] {
	return func(yield func(uint32, []HostRef) bool) {
		for _, asn := range slices.Sorted(maps.Keys(m.asnHosts)) {
			if !yield(asn, m.asnHosts[asn]) {
				return
			}
		}
	}
}

// HostNetblocks yields every HostNetblockCache prefix with its hosts
// (shared: do not modify), IPv4 before IPv6, each in address order.
func (m *Mirrors) HostNetblocks() iter.Seq2[netip.Prefix, []HostRef] {
	return m.hostNetblocks.AllSorted()
}

// CountriesAllowed returns the host's HostCountryAllowedCache entry:
// whether it has one, and the countries it then serves (upper-case,
// sorted; shared: do not modify). A host without an entry serves every
// country; one whose entry is empty serves none.
func (h *Host) CountriesAllowed() (ccs []string, restricted bool) {
	return h.allowed, h.hasAllows
}

// Countries returns the countries of the directory's ByCountry, in code
// order, as ByCountry looks them up (an entry may list no host). The
// slice is shared: do not modify it.
func (d *Directory) Countries() []string { return d.countries.codes }

// FileNames returns the names of the files the directory has
// FileDetailsCache entries for, in name order; File gives their details.
func (d *Directory) FileNames() []string { return slices.Sorted(maps.Keys(d.files)) }

// AllCarriers yields the directory's ByHostId: every host carrying it, in
// HostRef order, with its hcurls (shared: do not modify). Unlike Carriers
// it builds nothing, for a tool that walks every directory.
func (d *Directory) AllCarriers() iter.Seq2[HostRef, []URLRef] {
	return func(yield func(HostRef, []URLRef) bool) {
		c := &d.carriers
		for w, word := range c.hosts {
			i := int(word.before) + 1
			for b := word.bits; b != 0; b &= b - 1 {
				if !yield(HostRef(w*64+bits.TrailingZeros64(b)), c.lists.list(c.urls[i])) {
					return
				}
				i++
			}
		}
	}
}
