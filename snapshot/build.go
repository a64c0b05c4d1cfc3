package snapshot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gaissmai/bart"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	mm "github.com/mirrorlist-go/mirrorlist-server/proto"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot/xmlesc"
)

// LoadMirrors reads and indexes the cache file at path. The file is
// streamed, not read whole: see BuildMirrors.
func LoadMirrors(ctx context.Context, path string) (*Mirrors, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *PathError names the file
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() == 0 {
		return nil, fmt.Errorf("%s: file is empty", path)
	}
	m, err := buildMirrors(ctx, f, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", path, err)
	}
	return m, nil
}

// BuildMirrors indexes a cache file held in memory.
func BuildMirrors(ctx context.Context, data []byte) (*Mirrors, error) {
	if len(data) == 0 {
		return nil, errors.New("snapshot is empty")
	}
	return buildMirrors(ctx, bytes.NewReader(data), int64(len(data)))
}

// buildMirrors reads the snapshot in two streaming passes over the same
// open file: first everything but the directories, so that hosts and hcurls
// are known whatever the field order, then the directories, each decoded
// into reused scratch space and indexed at once. The ~40,000 directory
// messages of a Fedora snapshot never exist as objects, and the file is
// never whole in memory, which keeps the peak of a load close to the index
// it produces.
func buildMirrors(ctx context.Context, r io.ReadSeeker, size int64) (*Mirrors, error) {
	b := newBuilder()
	dirs := 0
	skipDirectories := func(num protowire.Number) bool {
		if num == 16 {
			dirs++
			return false
		}
		return true
	}
	err := eachRecord(ctx, r, size, skipDirectories, func(rec record) error {
		if rec.num == 16 {
			return nil
		}
		return b.topField(rec.num, rec.typ, rec.v, rec.u)
	})
	if err != nil {
		return nil, err
	}
	if !b.haveTime {
		return nil, errors.New("required field Time not set")
	}
	b.m.directories = make(map[string]*Directory, min(dirs, maxPresized))
	b.hostRef.densify()
	b.urlRef.densify()
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	err = eachRecord(ctx, r, size, func(num protowire.Number) bool { return num == 16 }, func(rec record) error {
		if rec.num != 16 {
			return nil
		}
		if rec.typ != protowire.BytesType {
			return fmt.Errorf("MirrorListCache at offset %d has wire type %d", rec.off, rec.typ)
		}
		if err := b.directory(rec.v); err != nil {
			return fmt.Errorf("offset %d: %w", rec.off, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(b.m.directories) == 0 {
		return nil, errors.New("no directories (MirrorListCache is empty)")
	}
	return b.finish(), nil
}

// maxPresized bounds the directory map made ahead of its entries, for a
// file of many empty records.
const maxPresized = 1 << 20

// eachRecord calls fn for every top-level field of the stream; keep says
// which length-delimited fields are read rather than skipped.
func eachRecord(ctx context.Context, r io.Reader, size int64, keep func(protowire.Number) bool, fn func(record) error) error {
	rr := newRecordReader(r, size)
	for n := 0; ; n++ {
		if n%16 == 0 {
			if err := checkpoint(ctx); err != nil {
				return err
			}
		}
		rec, err := rr.next(keep)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
}

func readNonEmpty(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err // *PathError names the file
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%s: file is empty", path)
	}
	return data, nil
}

// builder accumulates a Mirrors while the protobuf is walked.
type builder struct {
	m        *Mirrors
	haveTime bool
	hostRef  idIndex // HostRef by host id
	urlRef   idIndex // URLRef by hcurl id
	files    map[string]map[string]*File
	interned
	seen seenSections
	warn warnings

	strings map[string]string // interned country codes, and subpaths that are not a suffix of their directory

	// scratch, reused for every directory
	dir          dirMessage
	refs         []HostRef
	countries    []countryList
	countryKeys  []string
	countryEnds  []uint32
	countryHosts []HostRef
	carriers     []carrier
	urls         []URLRef
	upper        []byte
	entries      map[string]carrier // by ByHostId entry bytes, for carrierTable
}

// countryList is one ByCountry entry while a directory is indexed.
type countryList struct {
	cc  string
	ids []int64
}

// carrier is one ByHostId entry while a directory is indexed: its host
// and the handle of its hcurls in the urlPool.
type carrier struct {
	host HostRef
	urls uint32
}

func newBuilder() *builder {
	return &builder{
		m: &Mirrors{
			directories:        make(map[string]*Directory),
			repoArch:           make(map[string]string),
			redirects:          make(map[string]string),
			disabled:           make(map[string]bool),
			asnHosts:           make(map[uint32][]HostRef),
			hostNetblocks:      new(bart.Table[[]HostRef]),
			netblockCountry:    new(bart.Table[string]),
			continentRedirects: make(map[string]string),
		},
		hostRef:  newIDIndex(),
		urlRef:   newIDIndex(),
		files:    make(map[string]map[string]*File),
		interned: newInterned(),
		strings:  make(map[string]string),
		entries:  make(map[string]carrier),
	}
}

// ref returns the HostRef of a host id, creating a host with weight 1 on
// first sight.
func (b *builder) ref(id int64) HostRef {
	if r, ok := b.hostRef.get(id); ok {
		return HostRef(r)
	}
	r := HostRef(len(b.m.hosts))
	b.m.hosts = append(b.m.hosts, Host{ID: id, Weight: 1})
	b.hostRef.set(id, uint32(r))
	return r
}

// topField indexes one top-level field other than the directories.
func (b *builder) topField(num protowire.Number, typ protowire.Type, v []byte, u uint64) error {
	if num == 1 {
		if typ != protowire.VarintType {
			return errors.New("Time has the wrong wire type")
		}
		b.m.time, b.haveTime = u, true
		return nil
	}
	if typ != protowire.BytesType {
		return nil // unknown scalar field: skip, as a protobuf decoder would
	}
	switch num {
	case 2:
		return b.netblockCountry(v)
	case 4:
		return b.hcurl(v)
	case 5:
		return b.fileDetails(v)
	case 6:
		return b.disabledRepo(v)
	case 7:
		return b.stringPair(v, "CountryContinentRedirectCache", b.m.continentRedirects, strings.ToUpper)
	case 8:
		return b.stringPair(v, "RepositoryRedirectCache", b.m.redirects, nil)
	case 9:
		return b.stringPair(v, "RepoArchToDirectoryName", b.m.repoArch, nil)
	case 10:
		return b.hostASN(v)
	case 12:
		return b.hostCountry(v)
	case 13:
		return b.hostBandwidth(v)
	case 14:
		return b.hostAllowed(v)
	case 15:
		return b.hostNetblock(v)
	}
	return nil // 3, 11 and unknown fields: not used in answers
}

// stringPair decodes a StringStringMap element into dst; fold, if not nil,
// normalises key and value (country codes are upper-cased).
func (b *builder) stringPair(v []byte, what string, dst map[string]string, fold func(string) string) error {
	var e mm.StringStringMap
	if err := proto.Unmarshal(v, &e); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	k, val := e.GetKey(), e.GetValue()
	if fold != nil {
		k, val = fold(k), fold(val)
	}
	if _, dup := dst[k]; dup {
		b.warn.add("%s: duplicate key %q (last one wins)", what, k)
	}
	dst[k] = val
	return nil
}

func (b *builder) netblockCountry(v []byte) error {
	var e mm.StringStringMap
	if err := proto.Unmarshal(v, &e); err != nil {
		return fmt.Errorf("NetblockCountryCache: %w", err)
	}
	pfx, err := ParsePrefix(e.GetKey())
	if err != nil {
		b.warn.add("NetblockCountryCache: %v", err)
		return nil
	}
	// The spec gives the country of the first prefix, in snapshot order,
	// that contains the client, where the table answers with the longest.
	// The two agree once every prefix that an earlier one contains (a
	// duplicate included) is left out: such a prefix can never be the
	// first to contain an address, and among the prefixes kept, the first
	// to contain an address is also the longest to.
	if _, shadowed := b.m.netblockCountry.LookupPrefix(pfx); shadowed {
		b.warn.add("NetblockCountryCache: %s is inside an earlier prefix, which decides its addresses (entry unused)", pfx)
		return nil
	}
	b.m.netblockCountry.Insert(pfx, strings.ToUpper(e.GetValue()))
	b.m.stats.CountryPrefixes++
	return nil
}

func (b *builder) hcurl(v []byte) error {
	var e mm.IntStringMap
	if err := proto.Unmarshal(v, &e); err != nil {
		return fmt.Errorf("HCUrlCache: %w", err)
	}
	if r, dup := b.urlRef.get(e.GetKey()); dup {
		b.warn.add("HCUrlCache: duplicate key %d (last one wins)", e.GetKey())
		b.m.urls[r] = e.GetValue()
		return nil
	}
	b.urlRef.set(e.GetKey(), uint32(len(b.m.urls)))
	b.m.urls = append(b.m.urls, e.GetValue())
	return nil
}

func (b *builder) fileDetails(v []byte) error {
	var e mm.FileDetailsCacheDirectoryType
	if err := proto.Unmarshal(v, &e); err != nil {
		return fmt.Errorf("FileDetailsCache: %w", err)
	}
	dir := e.GetDirectory()
	files := b.files[dir]
	if files == nil {
		files = make(map[string]*File, len(e.GetFileDetailsCacheFiles()))
		b.files[dir] = files
	}
	for _, f := range e.GetFileDetailsCacheFiles() {
		versions := make([]FileDetails, 0, len(f.GetFileDetails()))
		for _, d := range f.GetFileDetails() {
			fd := FileDetails{
				Timestamp: d.GetTimeStamp(), Size: d.GetSize(),
				MD5: d.GetMD5(), SHA1: d.GetSHA1(), SHA256: d.GetSHA256(), SHA512: d.GetSHA512(),
			}
			fd.plainHashes = !xmlesc.Needed(fd.MD5) && !xmlesc.Needed(fd.SHA1) && !xmlesc.Needed(fd.SHA256) && !xmlesc.Needed(fd.SHA512)
			versions = append(versions, fd)
		}
		files[f.GetFilename()] = &File{Versions: versions}
	}
	return nil
}

func (b *builder) disabledRepo(v []byte) error {
	var e mm.StringBoolMap
	if err := proto.Unmarshal(v, &e); err != nil {
		return fmt.Errorf("DisabledRepositoryCache: %w", err)
	}
	b.m.disabled[e.GetKey()] = e.GetValue()
	return nil
}

func (b *builder) hostASN(v []byte) error {
	var e mm.IntRepeatedIntMap
	if err := proto.Unmarshal(v, &e); err != nil {
		return fmt.Errorf("HostAsnCache: %w", err)
	}
	if e.GetKey() < 0 || e.GetKey() > 1<<32-1 {
		b.warn.add("HostAsnCache: ASN %d out of range", e.GetKey())
		return nil
	}
	asn := uint32(e.GetKey())
	refs := b.m.asnHosts[asn]
	for _, id := range e.GetValue() {
		refs = append(refs, b.ref(id))
	}
	b.m.asnHosts[asn] = refs
	return nil
}

func (b *builder) hostCountry(v []byte) error {
	var e mm.IntStringMap
	if err := proto.Unmarshal(v, &e); err != nil {
		return fmt.Errorf("HostCountryCache: %w", err)
	}
	b.m.hosts[b.ref(e.GetKey())].Country = b.internString([]byte(strings.ToUpper(e.GetValue())))
	return nil
}

func (b *builder) hostBandwidth(v []byte) error {
	var e mm.IntIntMap
	if err := proto.Unmarshal(v, &e); err != nil {
		return fmt.Errorf("HostBandwidthCache: %w", err)
	}
	// Deviation from production: a weight below 1 counts as 1, so that a
	// group whose weights are all 0 still shuffles.
	b.m.hosts[b.ref(e.GetKey())].Weight = max(e.GetValue(), 1)
	return nil
}

func (b *builder) hostAllowed(v []byte) error {
	var e mm.IntRepeatedStringMap
	if err := proto.Unmarshal(v, &e); err != nil {
		return fmt.Errorf("HostCountryAllowedCache: %w", err)
	}
	h := &b.m.hosts[b.ref(e.GetKey())]
	h.hasAllows = true
	for _, cc := range e.GetValue() {
		h.allowed = append(h.allowed, strings.ToUpper(cc))
	}
	sortStrings(h.allowed)
	return nil
}

func (b *builder) hostNetblock(v []byte) error {
	var e mm.StringRepeatedIntMap
	if err := proto.Unmarshal(v, &e); err != nil {
		return fmt.Errorf("HostNetblockCache: %w", err)
	}
	pfx, err := ParsePrefix(e.GetKey())
	if err != nil {
		b.warn.add("HostNetblockCache: %v", err)
		return nil
	}
	refs, _ := b.m.hostNetblocks.Get(pfx)
	if refs != nil {
		b.warn.add("HostNetblockCache: duplicate prefix %s (lists merged)", pfx)
	} else {
		b.m.stats.HostPrefixes++
	}
	for _, id := range e.GetValue() {
		refs = append(refs, b.ref(id))
	}
	b.m.hostNetblocks.Insert(pfx, refs)
	return nil
}

// directory indexes one MirrorListCacheType message. Its sections are
// decoded only when one of them is new (see section): most directories
// repeat another's lists byte for byte, and then only the top-level
// fields are read.
func (b *builder) directory(v []byte) error {
	d := &b.dir
	if err := d.scan(v); err != nil {
		return fmt.Errorf("MirrorListCache: %w", err)
	}
	name := string(d.name)
	if _, dup := b.m.directories[name]; dup {
		b.warn.add("MirrorListCache: duplicate directory %q (last one wins)", name)
	}
	var keys [numSections]sectionKey
	for i, sec := range d.sections {
		keys[i] = keyOf(sec)
	}
	global, countries, carriers := b.seen.global[keys[globalSection]], b.seen.countries[keys[countrySection]], b.seen.carriers[keys[carrierSection]]
	if global == nil || countries == nil || carriers == nil {
		if err := d.decodeLazily(v); err != nil {
			return fmt.Errorf("MirrorListCache: %w", err)
		}
		if global == nil {
			global = b.internGlobal(b.sortedRefs(d.global))
			b.seen.global.add(keys[globalSection], global)
		}
		if countries == nil {
			countries = b.countryTable(d)
			b.seen.countries.add(keys[countrySection], countries)
		}
		if carriers == nil {
			var dropped bool
			var err error
			if carriers, dropped, err = b.carrierTable(name, d); err != nil {
				return fmt.Errorf("MirrorListCache: %w", err)
			}
			if !dropped { // a repeat must warn again
				b.seen.carriers.add(keys[carrierSection], carriers)
			}
		}
	}
	b.m.directories[name] = &Directory{
		Name:      name,
		Subpath:   b.subpath(name, d.subpath),
		global:    *global,
		countries: countries,
		carriers:  *carriers,
		files:     b.files[name],
	}
	return nil
}

// seenSections maps the sections decoded so far to what they were
// indexed as, for the directories that repeat them.
type seenSections struct {
	global    seen[globalList]
	countries seen[countryTable]
	carriers  seen[carrierTable]
}

// A sectionKey names a section by its SHA-256: holding the bytes of
// every distinct section would add a third to the heap of a load (and
// the collector's goal doubles it), where a digest costs 32 bytes, and
// computing it is cheaper than decoding the section. Two sections with
// the same digest are the same bytes: no SHA-256 collision is known. A
// split section has the zero key, which is never added.
type sectionKey [sha256.Size]byte

func keyOf(sec section) sectionKey {
	if sec.split {
		return sectionKey{}
	}
	return sha256.Sum256(sec.raw)
}

type seen[T any] map[sectionKey]*T

func (s *seen[T]) add(k sectionKey, t *T) {
	if k == (sectionKey{}) {
		return
	}
	if *s == nil {
		*s = make(seen[T])
	}
	(*s)[k] = t
}

// internString returns a shared copy of s: subpaths and country codes
// repeat across thousands of directories and hundreds of hosts, and a
// metalink prints the hosts' codes from strings that then share a few
// cache lines.
func (b *builder) internString(s []byte) string {
	if len(s) == 0 {
		return ""
	}
	if shared, ok := b.strings[string(s)]; ok {
		return shared
	}
	shared := string(s)
	b.strings[shared] = shared
	return shared
}

// appendUpper appends s upper-cased, as bytes.ToUpper would give it, to
// dst: without the copy ToUpper makes even of a code that is already
// upper-case, once per country of every directory.
func appendUpper(dst, s []byte) []byte {
	for _, c := range s {
		if c >= utf8.RuneSelf {
			return append(dst, bytes.ToUpper(s)...)
		}
	}
	for _, c := range s {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// subpath returns the directory's subpath. It is nearly always the end of
// the directory's name (the path below the category's top directory), and
// then shares the name's memory.
func (b *builder) subpath(name string, sub []byte) string {
	if len(sub) > 0 && strings.HasSuffix(name, string(sub)) {
		return name[len(name)-len(sub):]
	}
	return b.internString(sub)
}

// sortedRefs maps ids to refs, sorted and de-duplicated, in scratch space
// valid until the next call.
func (b *builder) sortedRefs(ids []int64) []HostRef {
	b.refs = b.refs[:0]
	for _, id := range ids {
		b.refs = append(b.refs, b.ref(id))
	}
	b.refs = sortUniqueRefs(b.refs)
	return b.refs
}

// countryTable interns the directory's ByCountry. Country codes are
// upper-cased; a code listed twice has its lists merged.
func (b *builder) countryTable(d *dirMessage) *countryTable {
	b.countries = b.countries[:0]
	for _, e := range d.countries {
		b.upper = appendUpper(b.upper[:0], e.key)
		cc := b.internString(b.upper)
		b.countries = append(b.countries, countryList{cc: cc, ids: d.ids[e.start:e.end]})
	}
	slices.SortStableFunc(b.countries, func(x, y countryList) int { return strings.Compare(x.cc, y.cc) })
	b.countryKeys = b.countryKeys[:0]
	b.countryEnds = b.countryEnds[:0]
	b.countryHosts = b.countryHosts[:0]
	for i := 0; i < len(b.countries); {
		j := i
		start := len(b.countryHosts)
		for ; j < len(b.countries) && b.countries[j].cc == b.countries[i].cc; j++ {
			for _, id := range b.countries[j].ids {
				b.countryHosts = append(b.countryHosts, b.ref(id))
			}
		}
		b.countryHosts = b.countryHosts[:start+len(sortUniqueRefs(b.countryHosts[start:]))]
		b.countryKeys = append(b.countryKeys, b.countries[i].cc)
		b.countryEnds = append(b.countryEnds, uint32(len(b.countryHosts)))
		i = j
	}
	return b.internCountries(b.countryKeys, b.countryEnds, b.countryHosts)
}

// carrierTable interns the directory's ByHostId, dropping (with a warning)
// hcurl ids that HCUrlCache does not have; dropped says it did. Each
// distinct entry is decoded once (see decodeLazily), and its host and
// hcurl list remembered by its bytes.
func (b *builder) carrierTable(dir string, d *dirMessage) (t *carrierTable, dropped bool, err error) {
	b.carriers = b.carriers[:0]
	for _, e := range d.hosts {
		c, ok := b.entries[string(e.raw)] // no allocation: map index by string(bytes)
		if !ok {
			var lost bool
			if c, lost, err = b.carrier(dir, d, e.raw); err != nil {
				return nil, false, err
			}
			if !lost { // an entry that lost URLs must warn again
				b.entries[string(e.raw)] = c
			}
			dropped = dropped || lost
		}
		b.carriers = append(b.carriers, c)
	}
	return b.internCarriers(b.carriers), dropped, nil
}

// carrier decodes one ByHostId entry: its host, and the handle of its
// hcurls (dropped says some were not in HCUrlCache).
func (b *builder) carrier(dir string, d *dirMessage, raw []byte) (c carrier, dropped bool, err error) {
	e, err := d.decodeHost(raw)
	if err != nil {
		return c, false, err
	}
	b.urls = b.urls[:0]
	for _, id := range d.ids[e.start:e.end] {
		u, ok := b.urlRef.get(id)
		if !ok {
			b.warn.add("directory %s: hcurl id %d not in HCUrlCache (URL dropped)", dir, id)
			dropped = true
			continue
		}
		b.urls = append(b.urls, URLRef(u))
	}
	return carrier{host: b.ref(e.intKey), urls: b.internURLs(b.urls)}, dropped, nil
}

// finish completes the index once every field has been read.
func (b *builder) finish() *Mirrors {
	m := b.m
	for asn, refs := range m.asnHosts {
		m.asnHosts[asn] = sortUniqueRefs(refs)
	}
	// The warnings of the map walks are made in key order, so that a
	// file always gives the same ones (only the first few are kept).
	m.repoKeys = slices.Sorted(maps.Keys(m.repoArch))
	for _, key := range m.repoKeys {
		if dir := m.repoArch[key]; m.directories[dir] == nil {
			b.warn.add("RepoArchToDirectoryName: %s → %q has no directory entry", key, dir)
			m.stats.DanglingRepoArches++
		}
	}
	for _, dir := range slices.Sorted(maps.Keys(b.files)) {
		if m.directories[dir] == nil {
			b.warn.add("FileDetailsCache: directory %q has no directory entry", dir)
		}
	}
	// Hosts appear as the directories are read, so only now are the
	// carrier sets given a word for every 64 hosts; shared sets stay
	// shared.
	pool := b.interned.urlPool
	pool.refs, pool.long = slices.Clip(pool.refs), slices.Clip(pool.long)
	grown := make(map[*rankedWord]hostSet)
	for _, d := range m.directories {
		c := &d.carriers
		c.lists = pool
		var key *rankedWord
		if len(c.hosts) > 0 {
			key = &c.hosts[0]
		}
		g, ok := grown[key]
		if !ok {
			g = c.hosts.grown(len(m.hosts))
			grown[key] = g
		}
		c.hosts = g
	}
	for _, t := range b.interned.countries {
		t.lists = b.interned.countryLists
	}
	m.fast = newFastPath(m)
	m.stats.Time = m.time
	m.stats.Directories = len(m.directories)
	m.stats.Hosts = len(m.hosts)
	m.stats.HCUrls = len(m.urls)
	m.stats.RepoArches = len(m.repoArch)
	m.stats.FileDirs = len(b.files)
	m.stats.UniqueLists = b.interned.count()
	m.stats.Warnings = b.warn.list()
	m.stats.WarningCount = b.warn.count()
	return m
}
