package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/mirrorlist-go/mirrorlist-server/resolve"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// diffOptions are diff's flags.
type diffOptions struct {
	json  bool
	limit int
}

func diffFlags(fs *pflag.FlagSet) func(context.Context, []string, io.Writer, io.Writer) error {
	o := new(diffOptions)
	fs.BoolVar(&o.json, "json", false, "write JSON, every list in full, instead of text")
	fs.IntVar(&o.limit, "limit", 20, "list at most `N` entries of each kind in the text (0: all)")
	return func(ctx context.Context, args []string, out, _ io.Writer) error {
		if len(args) != 2 {
			return usagef("want two cache files, OLD and NEW, got %d arguments", len(args))
		}
		if o.limit < 0 {
			return usagef("--limit %d: must not be negative", o.limit)
		}
		oldM, err := loadCache(ctx, args[0])
		if err != nil {
			return err
		}
		newM, err := loadCache(ctx, args[1])
		if err != nil {
			return err
		}
		d := diffMirrors(oldM, newM)
		d.Old, d.New = args[0], args[1]
		if o.json {
			return writeJSON(out, d)
		}
		d.write(out, o.limit)
		return nil
	}
}

// outOfStep is the share of its directories a host must lose or gain to
// be listed: a mirror that fell out of sync, or came back.
const outOfStep = 10 // more than one in outOfStep

// snapshotDiff is what a new cache file changes against an old one.
type snapshotDiff struct {
	Summary string `json:"summary"`
	Old     string `json:"old"`
	New     string `json:"new"`
	OldTime uint64 `json:"old_time"`
	NewTime uint64 `json:"new_time"`

	RepoArches struct {
		Added   []repoArch `json:"added"`
		Removed []repoArch `json:"removed"`
		Moved   []repoMove `json:"moved"` // pointing at another directory
	} `json:"repo_arches"`
	Directories struct {
		Added   []string `json:"added"`
		Removed []string `json:"removed"`
	} `json:"directories"`
	Hosts struct {
		Added   []hostSummary `json:"added"`
		Removed []hostSummary `json:"removed"`
		Changed []hostChange  `json:"changed"`
		// OutOfStep lists the hosts in both files that lost or gained
		// more than a tenth of the directories they carried, counting
		// only directories both files have.
		OutOfStep []hostDrift `json:"out_of_step"`
	} `json:"hosts"`
	Repomd struct {
		// Compared counts the directories both files have with a
		// repomd.xml in either; Changed lists those where the version
		// a metalink gives differs, or exists in one file only.
		Compared int      `json:"compared"`
		Changed  []string `json:"changed"`
	} `json:"repomd"`
}

type repoArch struct {
	Key       string `json:"key"` // repo+arch
	Directory string `json:"directory"`
}

type repoMove struct {
	Key string `json:"key"`
	Old string `json:"old"`
	New string `json:"new"`
}

type hostSummary struct {
	ID      int64  `json:"id"`
	Country string `json:"country"`
	Weight  int64  `json:"weight"`
}

type hostChange struct {
	ID      int64         `json:"id"`
	Changes []fieldChange `json:"changes"`
}

type fieldChange struct {
	Field string `json:"field"` // weight, country, asns, netblocks, countries_allowed
	Old   string `json:"old"`
	New   string `json:"new"`
}

type hostDrift struct {
	ID      int64  `json:"id"`
	Country string `json:"country"`
	Before  int    `json:"before"` // directories carried in the old file, of those both have
	After   int    `json:"after"`
	Lost    int    `json:"lost"`
	Gained  int    `json:"gained"`
}

// diffMirrors compares two cache files' parts.
func diffMirrors(oldM, newM *snapshot.Mirrors) *snapshotDiff {
	d := &snapshotDiff{OldTime: oldM.Time(), NewTime: newM.Time()}
	d.diffRepoArches(oldM, newM)
	common := d.diffDirectories(oldM, newM)
	d.diffHosts(oldM, newM)
	d.diffCarriers(oldM, newM, common)
	d.diffRepomd(common)
	d.Summary = d.summary()
	return d
}

// diffRepoArches compares the RepoArchToDirectoryName tables. A key
// without '+' is left out: no request can reach it, and the server's
// list of repositories leaves it out too.
func (d *snapshotDiff) diffRepoArches(oldM, newM *snapshot.Mirrors) {
	r := &d.RepoArches
	r.Added, r.Removed, r.Moved = []repoArch{}, []repoArch{}, []repoMove{}
	for _, key := range oldM.RepoArchKeys() {
		repo, arch, ok := resolve.SplitRepoArch(key)
		if !ok {
			continue
		}
		was, _ := oldM.RepoArch(repo, arch)
		now, ok := newM.RepoArch(repo, arch)
		switch {
		case !ok:
			r.Removed = append(r.Removed, repoArch{key, was})
		case now != was:
			r.Moved = append(r.Moved, repoMove{key, was, now})
		}
	}
	for _, key := range newM.RepoArchKeys() {
		repo, arch, ok := resolve.SplitRepoArch(key)
		if !ok {
			continue
		}
		if _, known := oldM.RepoArch(repo, arch); !known {
			now, _ := newM.RepoArch(repo, arch)
			r.Added = append(r.Added, repoArch{key, now})
		}
	}
}

// dirPair is one directory that both files have.
type dirPair struct{ old, new *snapshot.Directory }

func (d *snapshotDiff) diffDirectories(oldM, newM *snapshot.Mirrors) []dirPair {
	d.Directories.Added, d.Directories.Removed = []string{}, []string{}
	var common []dirPair
	for _, od := range oldM.Directories() {
		if nd := newM.Directory(od.Name); nd != nil {
			common = append(common, dirPair{od, nd})
		} else {
			d.Directories.Removed = append(d.Directories.Removed, od.Name)
		}
	}
	for _, nd := range newM.Directories() {
		if oldM.Directory(nd.Name) == nil {
			d.Directories.Added = append(d.Directories.Added, nd.Name)
		}
	}
	return common
}

// hostAttrs are the attributes of a host that diff compares, as text.
type hostAttrs struct {
	ref       snapshot.HostRef
	country   string
	weight    int64
	asns      string
	netblocks string
	allowed   string // "" without a HostCountryAllowedCache entry
}

// hostsByID returns every host's attributes by host id.
func hostsByID(m *snapshot.Mirrors) map[int64]*hostAttrs {
	hosts := make(map[int64]*hostAttrs, m.HostCount())
	byRef := make([]*hostAttrs, m.HostCount())
	for i := range m.HostCount() {
		h := m.Host(snapshot.HostRef(i))
		a := &hostAttrs{ref: snapshot.HostRef(i), country: h.Country, weight: h.Weight}
		if ccs, restricted := h.CountriesAllowed(); restricted {
			a.allowed = "only " + strings.Join(ccs, " ")
			if len(ccs) == 0 {
				a.allowed = "none"
			}
		}
		hosts[h.ID], byRef[i] = a, a
	}
	for asn, refs := range m.ASNs() {
		for _, h := range refs {
			byRef[h].asns = joinWord(byRef[h].asns, fmt.Sprint(asn))
		}
	}
	for pfx, refs := range m.HostNetblocks() {
		for _, h := range refs {
			byRef[h].netblocks = joinWord(byRef[h].netblocks, pfx.String())
		}
	}
	return hosts
}

func joinWord(list, word string) string {
	if list == "" {
		return word
	}
	return list + " " + word
}

func (d *snapshotDiff) diffHosts(oldM, newM *snapshot.Mirrors) {
	h := &d.Hosts
	h.Added, h.Removed, h.Changed = []hostSummary{}, []hostSummary{}, []hostChange{}
	oldHosts, newHosts := hostsByID(oldM), hostsByID(newM)
	for _, id := range slices.Sorted(maps.Keys(oldHosts)) {
		was, now := oldHosts[id], newHosts[id]
		if now == nil {
			h.Removed = append(h.Removed, hostSummary{id, was.country, was.weight})
			continue
		}
		var changes []fieldChange
		for _, f := range []struct {
			field    string
			was, now string
		}{
			{"weight", fmt.Sprint(was.weight), fmt.Sprint(now.weight)},
			{"country", was.country, now.country},
			{"asns", was.asns, now.asns},
			{"netblocks", was.netblocks, now.netblocks},
			{"countries_allowed", was.allowed, now.allowed},
		} {
			if f.was != f.now {
				changes = append(changes, fieldChange{f.field, f.was, f.now})
			}
		}
		if changes != nil {
			h.Changed = append(h.Changed, hostChange{id, changes})
		}
	}
	for _, id := range slices.Sorted(maps.Keys(newHosts)) {
		if oldHosts[id] == nil {
			now := newHosts[id]
			h.Added = append(h.Added, hostSummary{id, now.country, now.weight})
		}
	}
}

// diffCarriers counts, for every host in both files, the directories
// both have that it carried before and after, and lists those that lost
// or gained more than a tenth of theirs.
func (d *snapshotDiff) diffCarriers(oldM, newM *snapshot.Mirrors, common []dirPair) {
	d.Hosts.OutOfStep = []hostDrift{}
	toNew := make([]int, oldM.HostCount()) // old ref → new ref, -1 if gone
	toOld := make([]int, newM.HostCount())
	for i := range toOld {
		toOld[i] = -1
	}
	newRef := make(map[int64]int, newM.HostCount())
	for i := range newM.HostCount() {
		newRef[newM.Host(snapshot.HostRef(i)).ID] = i
	}
	for i := range toNew {
		toNew[i] = -1
		if j, ok := newRef[oldM.Host(snapshot.HostRef(i)).ID]; ok {
			toNew[i], toOld[j] = j, i
		}
	}
	drift := make([]hostDrift, oldM.HostCount())
	for _, p := range common {
		for h := range p.old.AllCarriers() {
			drift[h].Before++
			if j := toNew[h]; j < 0 || !p.new.Carries(snapshot.HostRef(j)) {
				drift[h].Lost++
			}
		}
		for h := range p.new.AllCarriers() {
			if i := toOld[h]; i >= 0 {
				drift[i].After++
				if !p.old.Carries(snapshot.HostRef(i)) {
					drift[i].Gained++
				}
			}
		}
	}
	for i, dr := range drift {
		if toNew[i] < 0 || (outOfStep*dr.Lost <= dr.Before && outOfStep*dr.Gained <= dr.Before) {
			continue
		}
		h := oldM.Host(snapshot.HostRef(i))
		dr.ID, dr.Country = h.ID, h.Country
		d.Hosts.OutOfStep = append(d.Hosts.OutOfStep, dr)
	}
	slices.SortFunc(d.Hosts.OutOfStep, func(a, b hostDrift) int { return cmp.Compare(a.ID, b.ID) })
}

func (d *snapshotDiff) diffRepomd(common []dirPair) {
	d.Repomd.Changed = []string{}
	for _, p := range common {
		was, now := currentVersion(p.old), currentVersion(p.new)
		if was == nil && now == nil {
			continue
		}
		d.Repomd.Compared++
		if was == nil || now == nil || *was != *now {
			d.Repomd.Changed = append(d.Repomd.Changed, p.old.Name)
		}
	}
}

// currentVersion returns the repomd.xml version a metalink for the
// directory gives, or nil.
func currentVersion(d *snapshot.Directory) *snapshot.FileDetails {
	f := d.File(resolve.MetalinkFile)
	if f == nil || len(f.Versions) == 0 {
		return nil
	}
	return &f.Versions[0]
}

func (d *snapshotDiff) summary() string {
	r, h := &d.RepoArches, &d.Hosts
	return fmt.Sprintf("repo+arch %d added, %d removed, %d elsewhere; directories %d added, %d removed; hosts %d added, %d removed, %d changed, %d out of step; repomd.xml changed in %d of %d directories",
		len(r.Added), len(r.Removed), len(r.Moved), len(d.Directories.Added), len(d.Directories.Removed),
		len(h.Added), len(h.Removed), len(h.Changed), len(h.OutOfStep), len(d.Repomd.Changed), d.Repomd.Compared)
}

// write prints the diff as text, each list cut at limit entries (0: no
// limit).
func (d *snapshotDiff) write(out io.Writer, limit int) {
	fmt.Fprintln(out, d.Summary)
	fmt.Fprintf(out, "\nold %s: time %d (%s)\nnew %s: time %d (%s)\n", d.Old, d.OldTime, utc(d.OldTime), d.New, d.NewTime, utc(d.NewTime))
	r, h := &d.RepoArches, &d.Hosts
	section(out, "repo+arch added", r.Added, limit, func(a repoArch) string { return a.Key + " → " + a.Directory })
	section(out, "repo+arch removed", r.Removed, limit, func(a repoArch) string { return a.Key + " (was " + a.Directory + ")" })
	section(out, "repo+arch pointing elsewhere", r.Moved, limit, func(m repoMove) string { return m.Key + ": " + m.Old + " → " + m.New })
	section(out, "directories added", d.Directories.Added, limit, func(s string) string { return s })
	section(out, "directories removed", d.Directories.Removed, limit, func(s string) string { return s })
	host := func(s hostSummary) string {
		return fmt.Sprintf("%d (%s, weight %d)", s.ID, orNone(s.Country), s.Weight)
	}
	section(out, "hosts added", h.Added, limit, host)
	section(out, "hosts removed", h.Removed, limit, host)
	section(out, "hosts changed", h.Changed, limit, func(c hostChange) string {
		parts := make([]string, len(c.Changes))
		for i, f := range c.Changes {
			parts[i] = fmt.Sprintf("%s %s → %s", f.Field, orNone(f.Old), orNone(f.New))
		}
		return fmt.Sprintf("%d: %s", c.ID, strings.Join(parts, "; "))
	})
	section(out, "hosts out of step (lost or gained more than a tenth of their directories, of those both files have)", h.OutOfStep, limit, func(dr hostDrift) string {
		return fmt.Sprintf("%d (%s): carries %d → %d (%d lost, %d gained)", dr.ID, orNone(dr.Country), dr.Before, dr.After, dr.Lost, dr.Gained)
	})
	section(out, fmt.Sprintf("repomd.xml changed (of %d directories with one)", d.Repomd.Compared), d.Repomd.Changed, limit, func(s string) string { return s })
}

// section prints a titled list, cut at limit entries; an empty list is
// left out.
func section[T any](out io.Writer, title string, items []T, limit int, format func(T) string) {
	if len(items) == 0 {
		return
	}
	fmt.Fprintf(out, "\n%s: %d\n", title, len(items))
	shown := items
	if limit > 0 && len(items) > limit {
		shown = items[:limit]
	}
	for _, it := range shown {
		fmt.Fprintf(out, "  %s\n", format(it))
	}
	if len(shown) < len(items) {
		fmt.Fprintf(out, "  ... and %d more (--limit 0 or --json for all)\n", len(items)-len(shown))
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func utc(t uint64) string { return time.Unix(int64(t), 0).UTC().Format(time.RFC3339) }
