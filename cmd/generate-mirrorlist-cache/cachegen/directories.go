package cachegen

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	pb "github.com/mirrorlist-go/mirrorlist-server/proto"
)

// writeHead writes the snapshot's fields 1 to 15 with the generated
// encoder. The directory entries, field 16, follow; a protobuf message may
// be written as the concatenation of its fields, in field number order as
// here.
func (g *generator) writeHead(w io.Writer) error {
	began := time.Now()
	c := &g.head
	m := &pb.MirrorList{
		Time:                          proto.Uint64(uint64(g.start.Unix())),
		NetblockCountryCache:          c.netblockCountry,
		HCUrlCache:                    c.hcurl,
		FileDetailsCache:              c.fileDetails,
		DisabledRepositoryCache:       c.disabled,
		CountryContinentRedirectCache: c.continentRedirect,
		RepositoryRedirectCache:       c.repoRedirect,
		RepoArchToDirectoryName:       c.repoArch,
		HostAsnCache:                  c.asn,
		HostMaxConnectionCache:        c.maxConnections,
		HostCountryCache:              c.country,
		HostBandwidthCache:            c.bandwidth,
		HostCountryAllowedCache:       c.countryAllowed,
		HostNetblockCache:             c.netblocks,
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("encoding the snapshot: %w", err)
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("writing the snapshot: %w", err)
	}
	g.head = headCaches{} // written; let the collector have it
	g.step(began, "caches encoded: %d bytes", len(b))
	return nil
}

// streamDirectories runs the last query, the directories of every
// category in id order, and writes one MirrorListCache entry per directory
// as its rows arrive: one row per category it is in, lowest id first.
func (g *generator) streamDirectories(ctx context.Context, tx pgx.Tx, w io.Writer) error {
	const sql = `
SELECT d.id, d.name, cd.category_id
FROM directory d JOIN category_directory cd ON cd.directory_id = d.id
ORDER BY d.id, cd.category_id`
	bw := bufio.NewWriterSize(w, 1<<20)
	dw := &directoryWriter{g: g, w: bw, sel: newSelection(len(g.hcIndex)), id: -1}
	err := g.query(ctx, tx, "directories", sql, func(rows pgx.Rows) error {
		var id, cat int32
		var name string
		if err := rows.Scan(&id, &name, &cat); err != nil {
			return err
		}
		if id != dw.id {
			if err := dw.flush(); err != nil {
				return err
			}
			dw.id, dw.name, dw.cats = id, name, dw.cats[:0]
		}
		dw.cats = append(dw.cats, cat)
		return nil
	})
	if err == nil {
		err = dw.flush()
	}
	if err != nil {
		return err
	}
	g.stats.ServingHosts = len(g.serving)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing the snapshot: %w", err)
	}
	return nil
}

// A directoryWriter gathers the rows of one directory and writes its
// entry once they are all read.
type directoryWriter struct {
	g    *generator
	w    *bufio.Writer
	enc  dirEncoder
	sel  *selection
	id   int32   // the directory being read, or -1
	name string  // its name
	cats []int32 // its categories, ascending
}

// flush writes the entry of the directory read so far, if any.
func (dw *directoryWriter) flush() error {
	g := dw.g
	if dw.id < 0 {
		return nil
	}
	c := g.categoriesOf(dw.cats)
	if c == nil {
		g.warn("directory %q: its categories %v have no top directory; left out", dw.name, dw.cats)
		return nil
	}
	e := g.entry(dw.sel, dw.name, c, g.upToDate[dw.id], g.exclusive[dw.id])
	delete(g.upToDate, dw.id)
	if _, err := dw.w.Write(dw.enc.appendField(e)); err != nil {
		return fmt.Errorf("writing the snapshot: %w", err)
	}
	g.stats.Directories++
	return nil
}

// categoriesOf returns the category whose hosts serve a directory in cats
// (ascending ids), or nil if none of them has a top directory.
//
// A directory in several categories is served, as MirrorManager2 wrote it,
// by the hosts of every one of them (the Rust generator takes only the
// first category_directory row's). Its Subpath, one per entry, is cut from
// the top directory of the lowest category id that has one, so categories
// with another top directory are left out there: an hcurl is the URL of its
// own category's top directory, and joined to that Subpath it would name
// the wrong place (MirrorManager2 listed those URLs nonetheless).
func (g *generator) categoriesOf(cats []int32) *category {
	if len(cats) == 1 {
		return g.categories[cats[0]]
	}
	key := fmt.Sprint(cats)
	if c, ok := g.merged[key]; ok {
		return c
	}
	var u *category
	for _, id := range cats {
		c := g.categories[id]
		switch {
		case c == nil:
			continue
		case u == nil:
			u = &category{top: c.top, topLen: c.topLen}
		case c.top != u.top:
			g.warn("directories in categories %v: category %d's top directory is not the first's; its hosts are left out of them", cats, id)
			continue
		}
		u.hcs = append(u.hcs, c.hcs...)
	}
	if u != nil {
		slices.SortFunc(u.hcs, func(a, b hostCategory) int {
			return cmp.Or(cmp.Compare(a.host, b.host), cmp.Compare(a.id, b.id))
		})
	}
	g.merged[key] = u
	return u
}

// A directoryEntry is one MirrorListCache element before encoding. Its
// slices are reused from one directory to the next.
type directoryEntry struct {
	directory   string
	subpath     string
	global      []int64
	byCountry   []countryHosts
	byInternet2 []countryHosts
	byHost      []hostURLs
}

type countryHosts struct {
	country string
	hosts   []int64
}

type hostURLs struct {
	host int64
	urls []int64
}

// selection is the scratch state of one directory's host selection.
type selection struct {
	up    []bool // indexed by host category number: up to date here
	entry directoryEntry
	cc    map[string][]int64
	i2    map[string][]int64
	urls  []int64 // the merged hcurl lists of hosts in several categories
}

func newSelection(hostCategories int) *selection {
	return &selection{
		up: make([]bool, hostCategories),
		cc: make(map[string][]int64),
		i2: make(map[string][]int64),
	}
}

// entry selects the hosts of one directory: every active host with a host
// category of c that is always up to date or has an up-to-date
// host_category_dir row for the directory, and that has public hcurls
// there; if only is not nil, just the hosts it names. Each joins ByHostId
// with those hcurls; public ones also join Global and ByCountry;
// ByCountryInternet2 takes Internet2 hosts, private ones only if they
// serve Internet2 clients.
//
// always_up2date is the host category's own, as in the Rust generator
// from 3.0.8 on (3.0.7 applied the last-read host category's flag to all
// of a host's categories). Differences from the Rust generator: a host
// whose hcurls are all private is in no list (Rust put it in Global and
// ByCountry, where a client asking for its country got an empty answer),
// as MirrorManager2 did; ByCountry's keys are sorted (Rust: first seen).
func (g *generator) entry(s *selection, dir string, c *category, upHCs []int32, only map[int32]struct{}) *directoryEntry {
	for _, i := range upHCs {
		s.up[i] = true
	}
	e := &s.entry
	e.directory = dir
	e.subpath = subpath(dir, c.topLen)
	e.global = e.global[:0]
	e.byHost = e.byHost[:0]
	s.urls = s.urls[:0]
	clear(s.cc)
	clear(s.i2)
	for i := 0; i < len(c.hcs); {
		// The host categories of one host: one, or one per category of
		// a directory in several.
		j := i + 1
		for j < len(c.hcs) && c.hcs[j].host == c.hcs[i].host {
			j++
		}
		h, hcs := &g.hosts[c.hcs[i].host], c.hcs[i:j]
		i = j
		if _, ok := only[h.id]; !h.active || only != nil && !ok {
			continue
		}
		urls := s.servedURLs(g, hcs)
		if len(urls) == 0 {
			continue
		}
		id := int64(h.id)
		e.byHost = append(e.byHost, hostURLs{host: id, urls: urls})
		g.serving[id] = struct{}{}
		if h.private && !h.internet2Clients {
			continue
		}
		if h.country != "" && h.internet2 {
			s.i2[h.country] = append(s.i2[h.country], id)
		}
		if h.private {
			continue
		}
		e.global = append(e.global, id)
		if h.country != "" {
			s.cc[h.country] = append(s.cc[h.country], id)
		}
	}
	for _, i := range upHCs {
		s.up[i] = false
	}
	e.byCountry = groups(e.byCountry[:0], s.cc)
	e.byInternet2 = groups(e.byInternet2[:0], s.i2)
	return e
}

// servedURLs returns the public hcurls of one host's host categories that
// are up to date in the directory, ascending. With one such category they
// are its own list; several are merged into s.urls, valid until the next
// entry.
func (s *selection) servedURLs(g *generator, hcs []hostCategory) []int64 {
	var first []int64
	n := 0
	for _, hc := range hcs {
		if urls := g.hcurls[hc.id]; len(urls) > 0 && (hc.always || s.up[hc.index]) {
			if n == 0 {
				first = urls
			}
			n++
		}
	}
	if n <= 1 {
		return first
	}
	start := len(s.urls)
	for _, hc := range hcs {
		if hc.always || s.up[hc.index] {
			s.urls = append(s.urls, g.hcurls[hc.id]...)
		}
	}
	merged := s.urls[start:]
	slices.Sort(merged)
	return merged
}

// groups lists m's entries sorted by country.
func groups(dst []countryHosts, m map[string][]int64) []countryHosts {
	for cc, hosts := range m {
		dst = append(dst, countryHosts{cc, hosts})
	}
	slices.SortFunc(dst, func(a, b countryHosts) int {
		if a.country < b.country {
			return -1
		}
		if a.country > b.country {
			return 1
		}
		return 0
	})
	return dst
}

// subpath is the directory below its category's top directory, cut by
// length as MirrorManager does: the top directory's name and one slash.
func subpath(dir string, topLen int) string {
	if topLen+1 > len(dir) {
		return ""
	}
	return dir[topLen+1:]
}
