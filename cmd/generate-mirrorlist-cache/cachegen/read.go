package cachegen

import (
	"context"
	"fmt"
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

// A category is a content category and the host categories that carry it.
type category struct {
	topLen int            // length of the top directory's name
	hcs    []hostCategory // ascending host id
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
		g.readNetblocks,
		g.readHCUrls,
		g.readCategories,
		g.readHostCategories,
		g.readUpToDate,
		g.readFileDetails,
		g.readRepositories,
		g.readDisabled,
		g.readRedirects,
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
       h.bandwidth_int, h.max_connections, h.asn_clients, h.asn
FROM host h JOIN site s ON s.id = h.site_id
ORDER BY h.id`

// readHosts fills the per-host caches that cover every host, active or
// not: country, bandwidth, max connections, ASN.
//
// Active means the site's and the host's user_active and admin_active, as
// in the Rust generator (MirrorManager2's Python ignored the site's
// admin_active).
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
		)
		if err := rows.Scan(&h.id, &h.name, &h.active, &h.private, &h.internet2, &h.internet2Clients,
			&country, &bandwidth, &maxConn, &asnClients, &asn); err != nil {
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
		if asnClients && asn != nil {
			i, ok := asnIndex[*asn]
			if !ok {
				i = len(c.asn)
				asnIndex[*asn] = i
				c.asn = append(c.asn, &pb.IntRepeatedIntMap{Key: proto.Int64(int64(*asn))})
			}
			c.asn[i].Value = append(c.asn[i].Value, id)
		}
		g.stats.Hosts++
		return nil
	})
}

// clampBandwidth is MirrorManager's clamp of bandwidth_int to 1–10,000
// (10 Gbit/s). A NULL (the column allows it; the Rust generator fails on
// it) counts as the least, 1, as the server counts a missing value.
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
	const sql = `SELECT c.id, d.name FROM category c JOIN directory d ON d.id = c.topdir_id`
	return g.query(ctx, tx, "category", sql, func(rows pgx.Rows) error {
		var id int32
		var top string
		if err := rows.Scan(&id, &top); err != nil {
			return err
		}
		g.categories[id] = &category{topLen: len(top)}
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
// row first; a negative timestamp or size is written as 0 (Rust panics).
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
			SHA1:      sha1,
			MD5:       md5,
			SHA256:    sha256,
			SHA512:    sha512,
		})
		g.stats.FileDetailDir = len(g.head.fileDetails)
		return nil
	})
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
		{"netblock_country", `SELECT netblock, country FROM netblock_country ORDER BY id`, &g.head.netblockCountry},
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
