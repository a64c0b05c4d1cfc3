package mm2db

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	pb "github.com/mirrorlist-go/mirrorlist-server/proto"
)

// LoadSnapshot fills the empty tables of Schema with rows from which the
// generator rebuilds m: the same directories, categories (one per top
// directory, found from each entry's Subpath), hosts, hcurls, host lists,
// repositories, redirects, file details and per-host caches. It returns
// notes on what a database cannot hold and so was left out, for example a
// ByHostId reference to an hcurl missing from HCUrlCache.
//
// What the snapshot does not say is chosen plainly: every host has a site
// of its own and is active (a host in no directory simply has no
// up-to-date directories), a host is private when it is in some
// directory's ByHostId but in no Global list, hcurls that no directory
// references belong to an inactive placeholder host, and a host listed
// under several ASNs has the first as its asn and the others as peer ASNs
// (host_peer_asn).
func LoadSnapshot(ctx context.Context, conn *pgx.Conn, m *pb.MirrorList) (notes []string, err error) {
	l := &loader{m: m, dirID: make(map[string]int32)}
	if err := l.plan(); err != nil {
		return nil, err
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit, a no-op
	for _, t := range l.tables() {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.columns, pgx.CopyFromRows(t.rows)); err != nil {
			return nil, fmt.Errorf("loading %s: %w", t.name, err)
		}
	}
	for _, t := range []string{"site", "host", "directory", "category", "host_category", "host_category_dir",
		"host_category_url", "arch", "version", "repository", "repository_redirect",
		"country_continent_redirect", "netblock_country", "file_detail", "host_netblock", "host_country_allowed",
		"host_peer_asn", "location", "host_location"} {
		q := fmt.Sprintf("SELECT setval(pg_get_serial_sequence('%s', 'id'), coalesce(max(id), 0) + 1, false) FROM %s", t, t)
		if _, err := tx.Exec(ctx, q); err != nil {
			return nil, fmt.Errorf("resetting %s's sequence: %w", t, err)
		}
	}
	if _, err := tx.Exec(ctx, "ANALYZE"); err != nil {
		return nil, err
	}
	return l.notes, tx.Commit(ctx)
}

type table struct {
	name    string
	columns []string
	rows    [][]any
}

// hcKey names one host category.
type hcKey struct {
	host     int64
	category int32
}

type loader struct {
	m     *pb.MirrorList
	notes []string

	dirs  []string
	dirID map[string]int32

	catOf    []int32 // per MirrorListCache entry: its category id
	catTop   []int32 // category id-1 → top directory id
	catNames []string

	hosts   []int64
	public  map[int64]bool
	private map[int64]bool
	asn     map[int64]int64   // host → its asn, the first HostAsnCache key listing it
	peers   map[int64][]int64 // host → the other keys listing it

	hcID      map[hcKey]int32
	hcs       []hcKey // hcID order
	hcurlOf   map[int64]int32
	placehold int64 // the placeholder host's id, or 0

	out         []table // arch, version, the redirects
	repos       [][]any
	fileDetails [][]any
	perHost     []table // host_country_allowed, host_netblock
}

func (l *loader) note(format string, args ...any) {
	l.notes = append(l.notes, fmt.Sprintf(format, args...))
}

func (l *loader) dir(name string) int32 {
	if id, ok := l.dirID[name]; ok {
		return id
	}
	l.dirs = append(l.dirs, name)
	id := int32(len(l.dirs))
	l.dirID[name] = id
	return id
}

// plan computes every row.
func (l *loader) plan() error {
	steps := []func() error{l.planDirectories, l.planHosts, l.planHostCategories, l.planRepositories, l.planRest}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	return nil
}

// planDirectories assigns directory ids in MirrorListCache order, the
// order the generator writes them in, and one category per top directory.
func (l *loader) planDirectories() error {
	for _, e := range l.m.MirrorListCache {
		l.dir(e.GetDirectory())
	}
	tops := make(map[string]int32)
	for _, e := range l.m.MirrorListCache {
		top, err := topDirectory(e.GetDirectory(), e.GetSubpath())
		if err != nil {
			return err
		}
		c, ok := tops[top]
		if !ok {
			c = int32(len(l.catTop) + 1)
			tops[top] = c
			l.catTop = append(l.catTop, l.dir(top))
			l.catNames = append(l.catNames, top)
		}
		l.catOf = append(l.catOf, c)
	}
	return nil
}

// topDirectory is the directory without its subpath.
func topDirectory(dir, sub string) (string, error) {
	if sub == "" {
		return dir, nil
	}
	top, ok := strings.CutSuffix(dir, "/"+sub)
	if !ok {
		return "", fmt.Errorf("directory %q does not end in its subpath %q", dir, sub)
	}
	return top, nil
}

func (l *loader) planHosts() error {
	seen := make(map[int64]bool)
	add := func(ids ...int64) {
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				l.hosts = append(l.hosts, id)
			}
		}
	}
	l.public = make(map[int64]bool)
	l.private = make(map[int64]bool)
	m := l.m
	for _, e := range m.MirrorListCache {
		add(e.Global...)
		for _, id := range e.Global {
			l.public[id] = true
		}
		for _, h := range e.ByHostId {
			add(h.GetKey())
			l.private[h.GetKey()] = true // unless public, below
		}
		for _, c := range e.ByCountry {
			add(c.Value...)
		}
	}
	for _, e := range m.HostCountryCache {
		add(e.GetKey())
	}
	for _, e := range m.HostBandwidthCache {
		add(e.GetKey())
	}
	for _, e := range m.HostMaxConnectionCache {
		add(e.GetKey())
	}
	for _, e := range m.HostCountryAllowedCache {
		add(e.GetKey())
	}
	for _, e := range m.HostNetblockCache {
		add(e.Value...)
	}
	l.asn = make(map[int64]int64)
	l.peers = make(map[int64][]int64)
	for _, e := range m.HostAsnCache {
		add(e.Value...)
		for _, h := range e.Value {
			a, ok := l.asn[h]
			switch {
			case !ok:
				l.asn[h] = e.GetKey()
			case a != e.GetKey() && !slices.Contains(l.peers[h], e.GetKey()):
				l.peers[h] = append(l.peers[h], e.GetKey())
			}
		}
	}
	for id := range l.public {
		delete(l.private, id)
	}
	slices.Sort(l.hosts)
	return nil
}

// planHostCategories finds each hcurl's host and category from the
// ByHostId lists, and the host categories they make.
func (l *loader) planHostCategories() error {
	known := make(map[int64]bool, len(l.m.HCUrlCache))
	for _, e := range l.m.HCUrlCache {
		known[e.GetKey()] = true
	}
	owner := make(map[int64]hcKey)
	missing := make(map[int64]bool)
	for i, e := range l.m.MirrorListCache {
		for _, h := range e.ByHostId {
			k := hcKey{h.GetKey(), l.catOf[i]}
			for _, u := range h.Value {
				if !known[u] {
					if !missing[u] {
						missing[u] = true
						l.note("hcurl %d (in %s's ByHostId) is not in HCUrlCache: left out", u, e.GetDirectory())
					}
					continue
				}
				if o, ok := owner[u]; ok && o != k {
					return fmt.Errorf("hcurl %d belongs to host %d in category %d and to host %d in category %d", u, o.host, o.category, k.host, k.category)
				}
				owner[u] = k
			}
		}
	}
	var orphans int
	for _, e := range l.m.HCUrlCache {
		if _, ok := owner[e.GetKey()]; !ok {
			orphans++
		}
	}
	if orphans > 0 {
		l.placehold = 1
		if len(l.hosts) > 0 {
			l.placehold = l.hosts[len(l.hosts)-1] + 1
		}
		for _, e := range l.m.HCUrlCache {
			if _, ok := owner[e.GetKey()]; !ok {
				owner[e.GetKey()] = hcKey{l.placehold, 1}
			}
		}
		l.note("%d hcurls no directory references belong to placeholder host %d", orphans, l.placehold)
	}
	keys := make(map[hcKey]bool)
	for _, k := range owner {
		keys[k] = true
	}
	for k := range keys {
		l.hcs = append(l.hcs, k)
	}
	slices.SortFunc(l.hcs, func(a, b hcKey) int {
		return cmp.Or(cmp.Compare(a.host, b.host), cmp.Compare(a.category, b.category))
	})
	l.hcID = make(map[hcKey]int32, len(l.hcs))
	for i, k := range l.hcs {
		l.hcID[k] = int32(i + 1)
	}
	l.hcurlOf = make(map[int64]int32, len(owner))
	for u, k := range owner {
		l.hcurlOf[u] = l.hcID[k]
	}
	return nil
}

// repoRows are the repository rows: one per RepoArchToDirectoryName key
// (the last of duplicates, as the server keeps it), and one without a
// directory for each disabled prefix that has none.
func (l *loader) planRepositories() error {
	disabled := make(map[string]bool)
	for _, e := range l.m.DisabledRepositoryCache {
		if e.GetValue() {
			disabled[e.GetKey()] = true
		}
	}
	last := make(map[string]string)
	var keys []string
	for _, e := range l.m.RepoArchToDirectoryName {
		if _, ok := last[e.GetKey()]; !ok {
			keys = append(keys, e.GetKey())
		} else {
			l.note("RepoArchToDirectoryName key %q repeats: the last one kept", e.GetKey())
		}
		last[e.GetKey()] = e.GetValue()
	}
	catOfDir := make(map[int32]int32)
	for i, e := range l.m.MirrorListCache {
		catOfDir[l.dirID[e.GetDirectory()]] = l.catOf[i]
	}
	archID := make(map[string]int32)
	var arches, repos [][]any
	withDir := make(map[string]bool)
	for _, k := range keys {
		i := strings.LastIndexByte(k, '+')
		if i <= 0 || i == len(k)-1 {
			return fmt.Errorf("RepoArchToDirectoryName key %q is not <repo>+<arch>", k)
		}
		prefix, arch := k[:i], k[i+1:]
		a, ok := archID[arch]
		if !ok {
			a = int32(len(archID) + 1)
			archID[arch] = a
			arches = append(arches, []any{a, arch})
		}
		d := l.dir(last[k])
		var cat any
		if c, ok := catOfDir[d]; ok {
			cat = c
		}
		repos = append(repos, []any{int32(len(repos) + 1), k, prefix, cat, int32(1), a, d, disabled[prefix]})
		withDir[prefix] = true
	}
	var prefixes []string
	for p := range disabled {
		if !withDir[p] {
			prefixes = append(prefixes, p)
		}
	}
	slices.Sort(prefixes)
	for _, p := range prefixes {
		repos = append(repos, []any{int32(len(repos) + 1), "disabled " + p, p, nil, nil, nil, nil, true})
	}
	l.out = append(l.out,
		table{"arch", []string{"id", "name"}, arches},
		table{"version", []string{"id", "name"}, [][]any{{int32(1), "1"}}},
	)
	l.repos = repos // added after directory and category, by tables
	return nil
}

// planRest computes the file details, redirects and per-host tables.
func (l *loader) planRest() error {
	m := l.m
	var fd [][]any
	for _, d := range m.FileDetailsCache {
		dir := l.dir(d.GetDirectory())
		for _, f := range d.FileDetailsCacheFiles {
			// Oldest first: the generator orders equal timestamps newest
			// row first, and MirrorManager adds rows as files change.
			for i := len(f.FileDetails) - 1; i >= 0; i-- {
				v := f.FileDetails[i]
				fd = append(fd, []any{int32(len(fd) + 1), f.GetFilename(), int64(v.GetTimeStamp()), int64(v.GetSize()),
					v.SHA1, v.MD5, v.SHA256, v.SHA512, dir})
			}
		}
	}
	l.fileDetails = fd
	pairs := func(entries []*pb.StringStringMap, table string) [][]any {
		var rows [][]any
		seen := make(map[string]bool)
		for _, e := range entries {
			if seen[e.GetKey()] {
				l.note("%s: key %q repeats: the first one kept", table, e.GetKey())
				continue
			}
			seen[e.GetKey()] = true
			rows = append(rows, []any{int32(len(rows) + 1), e.GetKey(), e.GetValue()})
		}
		return rows
	}
	l.out = append(l.out,
		table{"repository_redirect", []string{"id", "from_repo", "to_repo"}, pairs(m.RepositoryRedirectCache, "RepositoryRedirectCache")},
		table{"country_continent_redirect", []string{"id", "country", "continent"}, pairs(m.CountryContinentRedirectCache, "CountryContinentRedirectCache")},
		table{"netblock_country", []string{"id", "netblock", "country"}, pairs(m.NetblockCountryCache, "NetblockCountryCache")},
	)
	var allowed [][]any
	for _, e := range m.HostCountryAllowedCache {
		for _, c := range e.Value {
			allowed = append(allowed, []any{int32(len(allowed) + 1), c, int32(e.GetKey())})
		}
	}
	var netblocks [][]any
	for _, e := range m.HostNetblockCache {
		for _, h := range e.Value {
			netblocks = append(netblocks, []any{int32(len(netblocks) + 1), e.GetKey(), int32(h)})
		}
	}
	l.perHost = []table{
		{"host_country_allowed", []string{"id", "country", "host_id"}, allowed},
		{"host_netblock", []string{"id", "netblock", "host_id"}, netblocks},
	}
	l.perHost = append(l.perHost, l.peerASNs())
	l.perHost = append(l.perHost, l.locations()...)
	return nil
}

// peerASNs is the host_peer_asn table.
func (l *loader) peerASNs() table {
	var rows [][]any
	for _, h := range l.hosts {
		for _, a := range l.peers[h] {
			rows = append(rows, []any{int32(len(rows) + 1), int32(a), int32(h)})
		}
	}
	return table{"host_peer_asn", []string{"id", "asn", "host_id"}, rows}
}

// locations are the location and host_location tables of LocationCache,
// which the generator does not read. A host known from no other cache has
// no host row, and so is left out.
func (l *loader) locations() []table {
	known := make(map[int64]bool, len(l.hosts))
	for _, h := range l.hosts {
		known[h] = true
	}
	var locs, members [][]any
	seen := make(map[string]bool)
	for _, e := range l.m.LocationCache {
		if seen[e.GetKey()] {
			l.note("LocationCache: key %q repeats: the first one kept", e.GetKey())
			continue
		}
		seen[e.GetKey()] = true
		id := int32(len(locs) + 1)
		locs = append(locs, []any{id, e.GetKey()})
		for _, h := range slices.Compact(slices.Sorted(slices.Values(e.Value))) {
			if !known[h] {
				l.note("LocationCache: host %d of %q is in no other cache: left out", h, e.GetKey())
				continue
			}
			members = append(members, []any{int32(len(members) + 1), id, int32(h)})
		}
	}
	return []table{
		{"location", []string{"id", "name"}, locs},
		{"host_location", []string{"id", "location_id", "host_id"}, members},
	}
}

// tables returns every table's rows in an order that satisfies the
// foreign keys.
func (l *loader) tables() []table {
	m := l.m
	country := make(map[int64]string)
	for _, e := range m.HostCountryCache {
		country[e.GetKey()] = e.GetValue()
	}
	bandwidth := make(map[int64]int64)
	for _, e := range m.HostBandwidthCache {
		bandwidth[e.GetKey()] = e.GetValue()
	}
	maxConn := make(map[int64]int64)
	for _, e := range m.HostMaxConnectionCache {
		maxConn[e.GetKey()] = e.GetValue()
	}
	var sites, hosts [][]any
	addHost := func(id int64, name string, active bool) {
		var bw any
		if b, ok := bandwidth[id]; ok {
			bw = int32(b)
		}
		mc := int32(1)
		if c, ok := maxConn[id]; ok {
			mc = int32(c)
		}
		var asn any
		if a, ok := l.asn[id]; ok {
			asn = int32(a)
		}
		sites = append(sites, []any{int32(id), "site-" + name, active})
		hosts = append(hosts, []any{int32(id), name, int32(id), country[id], bw, mc, asn, l.private[id]})
	}
	for _, id := range l.hosts {
		addHost(id, fmt.Sprintf("host-%d", id), true)
	}
	if l.placehold != 0 {
		addHost(l.placehold, "unattributed-hcurls", false)
	}

	var dirs [][]any
	for i, name := range l.dirs {
		dirs = append(dirs, []any{int32(i + 1), name})
	}
	var cats, catDirs [][]any
	for i, top := range l.catTop {
		cats = append(cats, []any{int32(i + 1), l.catNames[i], top})
	}
	for i, e := range m.MirrorListCache {
		catDirs = append(catDirs, []any{l.catOf[i], l.dirID[e.GetDirectory()]})
	}
	var hcs [][]any
	for i, k := range l.hcs {
		hcs = append(hcs, []any{int32(i + 1), int32(k.host), k.category})
	}
	var urls [][]any
	for _, e := range m.HCUrlCache {
		if hc, ok := l.hcurlOf[e.GetKey()]; ok {
			urls = append(urls, []any{int32(e.GetKey()), hc, e.GetValue()})
		}
	}
	var hcds [][]any
	done := make(map[[2]int32]bool)
	for i, e := range m.MirrorListCache {
		dir := l.dirID[e.GetDirectory()]
		for _, h := range e.ByHostId {
			hc, ok := l.hcID[hcKey{h.GetKey(), l.catOf[i]}]
			if !ok || done[[2]int32{hc, dir}] {
				continue
			}
			done[[2]int32{hc, dir}] = true
			hcds = append(hcds, []any{int32(len(hcds) + 1), hc, e.GetSubpath(), dir})
		}
	}
	out := []table{
		{"site", []string{"id", "name", "admin_active"}, sites},
		{"host", []string{"id", "name", "site_id", "country", "bandwidth_int", "max_connections", "asn", "private"}, hosts},
		{"directory", []string{"id", "name"}, dirs},
		{"category", []string{"id", "name", "topdir_id"}, cats},
		{"category_directory", []string{"category_id", "directory_id"}, catDirs},
		{"host_category", []string{"id", "host_id", "category_id"}, hcs},
		{"host_category_url", []string{"id", "host_category_id", "url"}, urls},
		{"host_category_dir", []string{"id", "host_category_id", "path", "directory_id"}, hcds},
	}
	out = append(out, l.out...)
	out = append(out,
		table{"repository", []string{"id", "name", "prefix", "category_id", "version_id", "arch_id", "directory_id", "disabled"}, l.repos},
		table{"file_detail", []string{"id", "filename", "timestamp", "size", "sha1", "md5", "sha256", "sha512", "directory_id"}, l.fileDetails},
	)
	return append(out, l.perHost...)
}
