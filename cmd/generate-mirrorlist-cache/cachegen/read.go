package cachegen

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	pb "github.com/mirrorlist-go/mirrorlist-server/proto"
)

// A host is one row of host joined with its site.
type host struct {
	id               int32
	name             string
	active           bool // site and host user_active and admin_active
	private          bool // host or site private
	internet2        bool
	internet2Clients bool
	country          string // upper case; "" when unknown
}

// A category is a content category and the host categories that carry
// it; or, for a directory in several categories, the union of those that
// share its top directory (see categoriesOf).
type category struct {
	top    int32          // the top directory's id
	topLen int            // length of the top directory's name
	hcs    []hostCategory // ascending host id, then host category id
}

// A hostCategory is one host_category row: a host carrying a category.
type hostCategory struct {
	id     int32
	index  int32 // dense number, 0 to the count of host categories
	host   int   // index into generator.hosts
	always bool
}

// headCaches are the snapshot's fields 1 to 15, in the order of their
// field numbers.
type headCaches struct {
	netblockCountry   []*pb.StringStringMap
	hcurl             []*pb.IntStringMap
	fileDetails       []*pb.FileDetailsCacheDirectoryType
	disabled          []*pb.StringBoolMap
	continentRedirect []*pb.StringStringMap
	repoRedirect      []*pb.StringStringMap
	repoArch          []*pb.StringStringMap
	asn               []*pb.IntRepeatedIntMap
	maxConnections    []*pb.IntIntMap
	country           []*pb.IntStringMap
	bandwidth         []*pb.IntIntMap
	countryAllowed    []*pb.IntRepeatedStringMap
	netblocks         []*pb.StringRepeatedIntMap
}

// query runs sql and calls each for every row, then reports the step.
func (g *generator) query(ctx context.Context, tx pgx.Tx, what, sql string, each func(pgx.Rows) error, args ...any) error {
	began := time.Now()
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("reading %s: %w", what, err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		if err := each(rows); err != nil {
			return fmt.Errorf("reading %s: %w", what, err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading %s: %w", what, err)
	}
	g.step(began, "%s: %d rows", what, n)
	return nil
}

// readTables runs every query but the last, the directories'.
func (g *generator) readTables(ctx context.Context, tx pgx.Tx) error {
	for _, read := range []func(context.Context, pgx.Tx) error{
		g.readHosts,
		g.readCountryAllowed,
		g.readExclusiveHosts,
		g.readNetblocks,
		g.readHCUrls,
		g.readCategories,
		g.readHostCategories,
		g.readUpToDate,
		g.readFileDetails,
		g.readRepositories,
		g.readDisabled,
		g.readRedirects,
		g.readNetblockCountries,
	} {
		if err := read(ctx, tx); err != nil {
			return err
		}
	}
	return nil
}

const hostsSQL = `
SELECT h.id, h.name, s.user_active AND h.user_active AND h.admin_active AND s.admin_active,
       h.private OR s.private, h.internet2, h.internet2_clients, h.country,
       h.bandwidth_int, h.max_connections, h.asn_clients, h.asn,
       ARRAY(SELECT p.asn FROM host_peer_asn p WHERE p.host_id = h.id ORDER BY p.asn)
FROM host h JOIN site s ON s.id = h.site_id
ORDER BY h.id`

// readHosts fills the per-host caches that cover every host, active or
// not: country, bandwidth, max connections, ASN.
//
// Active means the site's and the host's user_active and admin_active, as
// in the Rust generator. (MirrorManager2's directory query checks the
// same four; its Host.is_active, which decides the netblocks and
// country-allowed lists, leaves out the site's admin_active, so its
// writer kept those of a disabled site's hosts, which serve no directory.)
func (g *generator) readHosts(ctx context.Context, tx pgx.Tx) error {
	asnIndex := make(map[int32]int)
	return g.query(ctx, tx, "hosts", hostsSQL, func(rows pgx.Rows) error {
		var (
			h          host
			country    *string
			bandwidth  *int32
			maxConn    int32
			asnClients bool
			asn        *int32
			peers      []int32
		)
		if err := rows.Scan(&h.id, &h.name, &h.active, &h.private, &h.internet2, &h.internet2Clients,
			&country, &bandwidth, &maxConn, &asnClients, &asn, &peers); err != nil {
			return err
		}
		if country != nil {
			h.country = strings.ToUpper(*country)
		}
		g.hostByID[h.id] = len(g.hosts)
		g.hosts = append(g.hosts, h)
		id := int64(h.id)
		c := &g.head
		c.bandwidth = append(c.bandwidth, &pb.IntIntMap{Key: proto.Int64(id), Value: proto.Int64(clampBandwidth(bandwidth))})
		c.maxConnections = append(c.maxConnections, &pb.IntIntMap{Key: proto.Int64(id), Value: proto.Int64(int64(maxConn))})
		// Unlike the Rust generator, a host without a country gets no
		// entry rather than an empty one (MirrorManager2's column is NOT
		// NULL; an empty value is the same lack of a country).
		if h.country != "" {
			c.country = append(c.country, &pb.IntStringMap{Key: proto.Int64(id), Value: proto.String(h.country)})
		}
		if asnClients {
			if asn != nil {
				c.asn = addASNHost(c.asn, asnIndex, *asn, id)
			}
			for _, a := range peers {
				c.asn = addASNHost(c.asn, asnIndex, a, id)
			}
		}
		g.stats.Hosts++
		return nil
	})
}

// addASNHost adds host to asn's HostAsnCache entry, once. A host that
// serves its ASN's clients is listed under its own ASN and, as
// MirrorManager2 lists it, under each of its peer ASNs (host_peer_asn,
// which MirrorManager2's admins set on a host's page; the Rust generator
// ignores them).
func addASNHost(cache []*pb.IntRepeatedIntMap, index map[int32]int, asn int32, host int64) []*pb.IntRepeatedIntMap {
	i, ok := index[asn]
	if !ok {
		i = len(cache)
		index[asn] = i
		cache = append(cache, &pb.IntRepeatedIntMap{Key: proto.Int64(int64(asn))})
	}
	// Hosts come in id order: a host already listed is the last one.
	e := cache[i]
	if n := len(e.Value); n == 0 || e.Value[n-1] != host {
		e.Value = append(e.Value, host)
	}
	return cache
}

// clampBandwidth clamps bandwidth_int (Mbit/s) to 1–10,000, the Rust
// generator's clamp: production has weighed no host above 10 Gbit/s
// since it replaced MirrorManager2's writer, whose clamp was 1–100,000.
// The number is what each mirror's administrator typed, unchecked, and
// the clamp bounds the share of a country's traffic one host can claim.
// A NULL (the column allows it; the Rust generator fails on it) counts
// as the least, 1, as in MirrorManager2 and as the server counts a
// missing value.
func clampBandwidth(b *int32) int64 {
	if b == nil {
		return 1
	}
	return min(max(int64(*b), 1), 10000)
}

// activeHost returns the index of the active host id, or false.
func (g *generator) activeHost(id int32) (int, bool) {
	i, ok := g.hostByID[id]
	if !ok || !g.hosts[i].active {
		return 0, false
	}
	return i, true
}

func (g *generator) readCountryAllowed(ctx context.Context, tx pgx.Tx) error {
	index := make(map[int32]int)
	const sql = `SELECT host_id, country FROM host_country_allowed WHERE host_id IS NOT NULL ORDER BY host_id, id`
	return g.query(ctx, tx, "host_country_allowed", sql, func(rows pgx.Rows) error {
		var id int32
		var country string
		if err := rows.Scan(&id, &country); err != nil {
			return err
		}
		if _, ok := g.activeHost(id); !ok {
			return nil
		}
		i, ok := index[id]
		if !ok {
			i = len(g.head.countryAllowed)
			index[id] = i
			g.head.countryAllowed = append(g.head.countryAllowed, &pb.IntRepeatedStringMap{Key: proto.Int64(int64(id))})
		}
		e := g.head.countryAllowed[i]
		e.Value = append(e.Value, strings.ToUpper(country))
		return nil
	})
}

// readExclusiveHosts reads directory_exclusive_host: a directory with rows
// there is served by the hosts they name and no others, as MirrorManager2
// wrote it. (The Rust generator ignores the table as never used; it is
// set in MirrorManager2's admin pages.)
func (g *generator) readExclusiveHosts(ctx context.Context, tx pgx.Tx) error {
	const sql = `SELECT directory_id, host_id FROM directory_exclusive_host`
	return g.query(ctx, tx, "directory_exclusive_host", sql, func(rows pgx.Rows) error {
		var dir, hostID int32
		if err := rows.Scan(&dir, &hostID); err != nil {
			return err
		}
		only := g.exclusive[dir]
		if only == nil {
			only = make(map[int32]struct{})
			g.exclusive[dir] = only
		}
		only[hostID] = struct{}{}
		return nil
	})
}

func (g *generator) readNetblocks(ctx context.Context, tx pgx.Tx) error {
	type row struct {
		host     int32
		netblock string
	}
	var nbs []row
	const sql = `SELECT host_id, netblock FROM host_netblock WHERE host_id IS NOT NULL AND netblock IS NOT NULL ORDER BY host_id, id`
	err := g.query(ctx, tx, "host_netblock", sql, func(rows pgx.Rows) error {
		var r row
		if err := rows.Scan(&r.host, &r.netblock); err != nil {
			return err
		}
		if _, ok := g.activeHost(r.host); ok {
			nbs = append(nbs, r)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Resolved outside the query: a DNS lookup must not hold the rows open.
	began := time.Now()
	index := make(map[string]int)
	for _, r := range nbs {
		prefixes, err := g.parseNetblock(ctx, r.netblock)
		if err != nil {
			g.warn("host %d (%s): netblock %q skipped: %v", r.host, g.hosts[g.hostByID[r.host]].name, r.netblock, err)
			continue
		}
		for _, p := range prefixes {
			key := p.String()
			i, ok := index[key]
			if !ok {
				i = len(g.head.netblocks)
				index[key] = i
				g.head.netblocks = append(g.head.netblocks, &pb.StringRepeatedIntMap{Key: proto.String(key)})
			}
			e := g.head.netblocks[i]
			if !slices.Contains(e.Value, int64(r.host)) {
				e.Value = append(e.Value, int64(r.host))
			}
		}
	}
	g.stats.HostNetblocks = len(g.head.netblocks)
	g.step(began, "host netblocks: %d prefixes", len(g.head.netblocks))
	return nil
}

// readHCUrls reads the public host category URLs: HCUrlCache, and each
// host category's ids for ByHostId. Private URLs appear nowhere.
func (g *generator) readHCUrls(ctx context.Context, tx pgx.Tx) error {
	const sql = `SELECT id, host_category_id, url FROM host_category_url WHERE NOT private ORDER BY id`
	return g.query(ctx, tx, "host_category_url", sql, func(rows pgx.Rows) error {
		var id, hc int32
		var url string
		if err := rows.Scan(&id, &hc, &url); err != nil {
			return err
		}
		g.head.hcurl = append(g.head.hcurl, &pb.IntStringMap{Key: proto.Int64(int64(id)), Value: proto.String(url)})
		g.hcurls[hc] = append(g.hcurls[hc], int64(id))
		g.stats.HCUrls++
		return nil
	})
}

func (g *generator) readCategories(ctx context.Context, tx pgx.Tx) error {
	const sql = `SELECT c.id, d.id, d.name FROM category c JOIN directory d ON d.id = c.topdir_id`
	return g.query(ctx, tx, "category", sql, func(rows pgx.Rows) error {
		var id, topID int32
		var top string
		if err := rows.Scan(&id, &topID, &top); err != nil {
			return err
		}
		g.categories[id] = &category{top: topID, topLen: len(top)}
		return nil
	})
}

// readHostCategories lists each category's host categories by host id,
// the order of Global, ByCountry and ByHostId. (The Rust generator keeps
// the table's physical order, which PostgreSQL does not define.)
func (g *generator) readHostCategories(ctx context.Context, tx pgx.Tx) error {
	const sql = `SELECT id, host_id, category_id, always_up2date FROM host_category
WHERE host_id IS NOT NULL AND category_id IS NOT NULL ORDER BY host_id, id`
	return g.query(ctx, tx, "host_category", sql, func(rows pgx.Rows) error {
		var id, hostID, cat int32
		var always bool
		if err := rows.Scan(&id, &hostID, &cat, &always); err != nil {
			return err
		}
		c := g.categories[cat]
		i, ok := g.hostByID[hostID]
		if c == nil || !ok {
			return nil
		}
		index := int32(len(g.hcIndex))
		g.hcIndex[id] = index
		c.hcs = append(c.hcs, hostCategory{id: id, index: index, host: i, always: always})
		return nil
	})
}

// readUpToDate reads host_category_dir, the largest table: for every
// directory, the dense numbers of the host categories up to date there.
// Rows of host categories no directory entry can use (no host with a
// site, no category with a top directory) are dropped here.
func (g *generator) readUpToDate(ctx context.Context, tx pgx.Tx) error {
	const sql = `SELECT directory_id, host_category_id FROM host_category_dir WHERE up2date AND directory_id IS NOT NULL`
	return g.query(ctx, tx, "host_category_dir", sql, func(rows pgx.Rows) error {
		var dir, hc int32
		if err := rows.Scan(&dir, &hc); err != nil {
			return err
		}
		if index, ok := g.hcIndex[hc]; ok {
			g.upToDate[dir] = append(g.upToDate[dir], index)
		}
		return nil
	})
}

// readFileDetails builds FileDetailsCache: for every directory with file
// details, in directory id order, each file's details newest first.
//
// Differences from the Rust generator: a NULL timestamp sorts last, not
// first (PostgreSQL's DESC default), so that a detail of unknown age never
// becomes the metalink's main hash; equal timestamps are ordered newest
// row first; a negative timestamp or size is written as 0 (Rust panics);
// an empty checksum is left unset, as MirrorManager2 left it.
func (g *generator) readFileDetails(ctx context.Context, tx pgx.Tx) error {
	const sql = `
SELECT fd.directory_id, d.name, fd.filename, fd.timestamp, fd.size, fd.sha1, fd.md5, fd.sha256, fd.sha512
FROM file_detail fd JOIN directory d ON d.id = fd.directory_id
ORDER BY fd.directory_id, fd.timestamp DESC NULLS LAST, fd.id DESC`
	var (
		lastDir = int32(-1)
		cur     *pb.FileDetailsCacheDirectoryType
		files   map[string]*pb.FileDetailsCacheFilesType
	)
	return g.query(ctx, tx, "file_detail", sql, func(rows pgx.Rows) error {
		var (
			dir                       int32
			dirName, file             string
			ts, size                  *int64
			sha1, md5, sha256, sha512 *string
		)
		if err := rows.Scan(&dir, &dirName, &file, &ts, &size, &sha1, &md5, &sha256, &sha512); err != nil {
			return err
		}
		if dir != lastDir {
			lastDir = dir
			cur = &pb.FileDetailsCacheDirectoryType{Directory: proto.String(dirName)}
			g.head.fileDetails = append(g.head.fileDetails, cur)
			files = make(map[string]*pb.FileDetailsCacheFilesType)
		}
		f := files[file]
		if f == nil {
			f = &pb.FileDetailsCacheFilesType{Filename: proto.String(file)}
			files[file] = f
			cur.FileDetailsCacheFiles = append(cur.FileDetailsCacheFiles, f)
		}
		f.FileDetails = append(f.FileDetails, &pb.FileDetailsType{
			TimeStamp: proto.Uint64(nonNegative(ts)),
			Size:      proto.Uint64(nonNegative(size)),
			SHA1:      nonEmpty(sha1),
			MD5:       nonEmpty(md5),
			SHA256:    nonEmpty(sha256),
			SHA512:    nonEmpty(sha512),
		})
		g.stats.FileDetailDir = len(g.head.fileDetails)
		return nil
	})
}

func nonEmpty(s *string) *string {
	if s == nil || *s == "" {
		return nil
	}
	return s
}

func nonNegative(v *int64) uint64 {
	if v == nil || *v < 0 {
		return 0
	}
	return uint64(*v)
}

// readRepositories builds RepoArchToDirectoryName from the repositories
// with a prefix, an architecture, a version and a directory, in directory
// order as the Rust generator lists them.
func (g *generator) readRepositories(ctx context.Context, tx pgx.Tx) error {
	const sql = `
SELECT r.prefix, a.name, d.name
FROM repository r JOIN arch a ON a.id = r.arch_id JOIN directory d ON d.id = r.directory_id
WHERE r.prefix <> '' AND r.version_id IS NOT NULL
ORDER BY r.directory_id, r.id`
	return g.query(ctx, tx, "repository", sql, func(rows pgx.Rows) error {
		var prefix, arch, dir string
		if err := rows.Scan(&prefix, &arch, &dir); err != nil {
			return err
		}
		g.head.repoArch = append(g.head.repoArch, &pb.StringStringMap{Key: proto.String(prefix + "+" + arch), Value: proto.String(dir)})
		g.stats.RepoArches++
		return nil
	})
}

// readDisabled builds DisabledRepositoryCache: one entry per disabled
// prefix, sorted.
//
// Differences from the Rust generator: it wrote one entry per disabled
// repository row (the same prefix once per architecture), and only for
// repositories that still have a directory, a version and an architecture.
// A disabled repository whose directory MirrorManager has since removed
// (an end-of-life release) is still disabled: here it answers "repo
// disabled", not "invalid repo or arch".
func (g *generator) readDisabled(ctx context.Context, tx pgx.Tx) error {
	const sql = `SELECT DISTINCT prefix FROM repository WHERE disabled AND prefix <> '' ORDER BY prefix`
	return g.query(ctx, tx, "disabled repositories", sql, func(rows pgx.Rows) error {
		var prefix string
		if err := rows.Scan(&prefix); err != nil {
			return err
		}
		g.head.disabled = append(g.head.disabled, &pb.StringBoolMap{Key: proto.String(prefix), Value: proto.Bool(true)})
		g.stats.Disabled++
		return nil
	})
}

// readRedirects reads the three small key/value tables as they are.
func (g *generator) readRedirects(ctx context.Context, tx pgx.Tx) error {
	tables := []struct {
		what, sql string
		to        *[]*pb.StringStringMap
	}{
		{"repository_redirect", `SELECT from_repo, to_repo FROM repository_redirect WHERE to_repo IS NOT NULL ORDER BY id`, &g.head.repoRedirect},
		{"country_continent_redirect", `SELECT country, continent FROM country_continent_redirect ORDER BY id`, &g.head.continentRedirect},
	}
	for _, t := range tables {
		err := g.query(ctx, tx, t.what, t.sql, func(rows pgx.Rows) error {
			var k, v string
			if err := rows.Scan(&k, &v); err != nil {
				return err
			}
			*t.to = append(*t.to, &pb.StringStringMap{Key: proto.String(k), Value: proto.String(v)})
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// readNetblockCountries builds NetblockCountryCache: each netblock_country
// prefix, in id order, written as parseAddressBlock reads it. MirrorManager2
// wrote them normalised too (10.0.0.0/255.0.0.0 became 10.0.0.0/8; the
// Rust generator keeps the text, and the server cannot read a netmask). A
// value that is no address block, or a network an earlier row already
// gave, is skipped with a warning: the server takes the first prefix that
// contains a client, so a later duplicate could never count. Names are
// not resolved, as MirrorManager2 never resolved them.
func (g *generator) readNetblockCountries(ctx context.Context, tx pgx.Tx) error {
	seen := make(map[netip.Prefix]bool)
	const sql = `SELECT netblock, country FROM netblock_country ORDER BY id`
	return g.query(ctx, tx, "netblock_country", sql, func(rows pgx.Rows) error {
		var netblock, country string
		if err := rows.Scan(&netblock, &country); err != nil {
			return err
		}
		p, ok, err := parseAddressBlock(netblock)
		switch {
		case !ok:
			g.warn("netblock_country %q skipped: not an address block", netblock)
			return nil
		case err != nil:
			g.warn("netblock_country %q skipped: %v", netblock, err)
			return nil
		case seen[p]:
			g.warn("netblock_country %q skipped: %s is given by an earlier row", netblock, p)
			return nil
		}
		seen[p] = true
		g.head.netblockCountry = append(g.head.netblockCountry, &pb.StringStringMap{Key: proto.String(p.String()), Value: proto.String(country)})
		return nil
	})
}
