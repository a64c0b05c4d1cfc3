package cachegen

import (
	"bufio"
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
// category in id order, and writes one MirrorListCache entry per row as it
// arrives.
//
// A directory in several categories belongs to the one with the lowest id
// (the Rust generator takes the first category_directory row it reads).
func (g *generator) streamDirectories(ctx context.Context, tx pgx.Tx, w io.Writer) error {
	const sql = `
SELECT d.id, d.name, cd.category_id
FROM directory d JOIN (
	SELECT DISTINCT ON (directory_id) directory_id, category_id
	FROM category_directory ORDER BY directory_id, category_id
) cd ON cd.directory_id = d.id
ORDER BY d.id`
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := &dirEncoder{}
	sel := newSelection(len(g.hcIndex))
	err := g.query(ctx, tx, "directories", sql, func(rows pgx.Rows) error {
		var id, cat int32
		var name string
		if err := rows.Scan(&id, &name, &cat); err != nil {
			return err
		}
		c := g.categories[cat]
		if c == nil {
			g.warn("directory %q: its category %d has no top directory; left out", name, cat)
			return nil
		}
		e := g.entry(sel, name, c, g.upToDate[id])
		delete(g.upToDate, id)
		if _, err := bw.Write(enc.appendField(e)); err != nil {
			return fmt.Errorf("writing the snapshot: %w", err)
		}
		g.stats.Directories++
		return nil
	})
	if err != nil {
		return err
	}
	g.stats.ServingHosts = len(g.serving)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing the snapshot: %w", err)
	}
	return nil
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
}

func newSelection(hostCategories int) *selection {
	return &selection{
		up: make([]bool, hostCategories),
		cc: make(map[string][]int64),
		i2: make(map[string][]int64),
	}
}

// entry selects the hosts of one directory, as the Rust generator does:
// every host category of the directory's category whose host is active
// and that is always up to date or has an up-to-date host_category_dir
// row for the directory. Each joins ByHostId with its public hcurls (if it
// has any); public ones also join Global and ByCountry; ByCountryInternet2
// takes Internet2 hosts, private ones only if they serve Internet2
// clients.
//
// always_up2date is the host category's own, as in the Rust generator
// from 3.0.8 on (3.0.7 applied the last-read host category's flag to all
// of a host's categories). A difference from the Rust generator:
// ByCountry's keys are sorted (Rust: first seen).
func (g *generator) entry(s *selection, dir string, c *category, upHCs []int32) *directoryEntry {
	for _, i := range upHCs {
		s.up[i] = true
	}
	e := &s.entry
	e.directory = dir
	e.subpath = subpath(dir, c.topLen)
	e.global = e.global[:0]
	e.byHost = e.byHost[:0]
	clear(s.cc)
	clear(s.i2)
	for _, hc := range c.hcs {
		if !hc.always && !s.up[hc.index] {
			continue
		}
		h := &g.hosts[hc.host]
		if !h.active {
			continue
		}
		id := int64(h.id)
		if urls := g.hcurls[hc.id]; len(urls) > 0 {
			e.byHost = append(e.byHost, hostURLs{host: id, urls: urls})
			g.serving[id] = struct{}{}
		}
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
