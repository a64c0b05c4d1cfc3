package snapshot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/gaissmai/bart"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	mm "github.com/mirrorlist-go/mirrorlist-server/proto"
)

// HostRef is a host's dense index in its Mirrors. Host ids (int64 in the
// protobuf) are mapped to small consecutive integers so that per-request
// bookkeeping can use slices instead of maps.
type HostRef uint32

// URLRef is an hcurl's dense index in its Mirrors; Mirrors.URL gives the
// URL.
type URLRef uint32

// Host is what the snapshot knows of one mirror host.
type Host struct {
	ID        int64    // MirrorManager's host id
	Country   string   // HostCountryCache, upper-cased; "" if unknown
	Weight    int64    // HostBandwidthCache, at least 1: the shuffle weight
	allowed   []string // HostCountryAllowedCache, upper-cased and sorted
	hasAllows bool     // whether the host has a HostCountryAllowedCache entry
}

// Allows reports whether the host serves clients in country cc (upper-case):
// a host without a country-allowed entry serves everyone.
func (h *Host) Allows(cc string) bool {
	if !h.hasAllows {
		return true
	}
	for _, a := range h.allowed {
		if a == cc {
			return true
		}
	}
	return false
}

// Directory is one MirrorListCache entry: a directory that mirrors carry.
// Its host lists are interned and shared with other directories.
type Directory struct {
	Name    string // the directory's path, e.g. pub/fedora/linux/updates/41/Everything/x86_64
	Subpath string // the path below the category's top directory

	global    []HostRef     // sorted ascending
	countries *countryTable // ByCountry
	carriers  *carrierTable // ByHostId
	files     map[string]*File
}

// Global returns the public hosts carrying the directory, sorted by HostRef.
// The slice is shared: do not modify it.
func (d *Directory) Global() []HostRef { return d.global }

// InGlobal reports whether h is in the directory's Global list; a carrier
// that is not is a private mirror for this directory.
func (d *Directory) InGlobal(h HostRef) bool { return containsRef(d.global, h) }

// ByCountry returns the hosts in country cc (upper-case) carrying the
// directory. The slice is shared: do not modify it.
func (d *Directory) ByCountry(cc string) []HostRef { return d.countries.byCountry[cc] }

// URLs returns h's hcurls for this directory's category and whether h
// carries the directory at all (has a ByHostId entry). The slice is shared.
func (d *Directory) URLs(h HostRef) ([]URLRef, bool) { return d.carriers.lookup(h) }

// Carries reports whether h has a ByHostId entry in this directory.
func (d *Directory) Carries(h HostRef) bool {
	_, ok := d.carriers.lookup(h)
	return ok
}

// File returns the metalink details of a file in this directory, or nil.
func (d *Directory) File(name string) *File { return d.files[name] }

// File holds a file's FileDetailsCache versions, newest (the one to
// download) first; the others are metalink alternates.
type File struct {
	Versions []FileDetails
}

// FileDetails is one version of a file, as FileDetailsType gives it.
type FileDetails struct {
	Timestamp uint64
	Size      uint64
	MD5       string
	SHA1      string
	SHA256    string
	SHA512    string
}

// countryTable is a directory's ByCountry, interned.
type countryTable struct {
	byCountry map[string][]HostRef
}

// carrierTable is a directory's ByHostId, interned: hosts sorted, with each
// host's hcurls at the same index.
type carrierTable struct {
	hosts []HostRef
	urls  [][]URLRef
}

func (t *carrierTable) lookup(h HostRef) ([]URLRef, bool) {
	i, ok := searchRef(t.hosts, h)
	if !ok {
		return nil, false
	}
	return t.urls[i], true
}

// Mirrors is the part of a Snapshot built from the protobuf file.
type Mirrors struct {
	time        uint64
	directories map[string]*Directory
	repoArch    map[string]string // "repo+arch" → directory
	repoKeys    []string          // repoArch's keys, sorted as strings
	redirects   map[string]string
	disabled    map[string]bool
	hosts       []Host
	urls        []string
	asnHosts    map[uint32][]HostRef

	hostNetblocks   *bart.Table[[]HostRef]
	netblockCountry *bart.Table[string]

	continentRedirects map[string]string
	stats              Stats
}

// Stats returns the counts and warnings of this part.
func (m *Mirrors) Stats() Stats { return m.stats }

// Time returns the snapshot's creation time, seconds since the epoch.
func (m *Mirrors) Time() uint64 { return m.time }

// Directory returns the directory entry of that path, or nil.
func (m *Mirrors) Directory(name string) *Directory { return m.directories[name] }

// RepoArch returns the directory that "repo+arch" maps to.
func (m *Mirrors) RepoArch(repo, arch string) (string, bool) {
	var buf [128]byte
	key := append(append(append(buf[:0], repo...), '+'), arch...)
	dir, ok := m.repoArch[string(key)] // no allocation: the compiler recognises map[string(bytes)]
	return dir, ok
}

// RepoArchKeys returns every "repo+arch" key, sorted as strings. The slice
// is shared: do not modify it.
func (m *Mirrors) RepoArchKeys() []string { return m.repoKeys }

// RepoRedirect returns the repository that repo now means, if it was
// redirected.
func (m *Mirrors) RepoRedirect(repo string) (string, bool) {
	to, ok := m.redirects[repo]
	return to, ok
}

// RepoDisabled reports whether repo is marked disabled.
func (m *Mirrors) RepoDisabled(repo string) bool { return m.disabled[repo] }

// Host returns the host behind a HostRef.
func (m *Mirrors) Host(h HostRef) *Host { return &m.hosts[h] }

// HostCount returns the number of hosts: every HostRef is below it.
func (m *Mirrors) HostCount() int { return len(m.hosts) }

// URL returns the hcurl's URL, e.g. https://mirror.example.org/fedora/linux.
func (m *Mirrors) URL(u URLRef) string { return m.urls[u] }

// ASNHosts returns the hosts pinned to serve clients of an ASN.
func (m *Mirrors) ASNHosts(asn uint32) []HostRef { return m.asnHosts[asn] }

// NetblockHosts calls fn for every HostNetblockCache prefix that contains
// addr, with the prefix length and its hosts (shared: do not modify).
func (m *Mirrors) NetblockHosts(addr netip.Addr, fn func(bits int, hosts []HostRef)) {
	addr = normalize(addr)
	if !addr.IsValid() {
		return
	}
	for pfx, hosts := range m.hostNetblocks.Supernets(netip.PrefixFrom(addr, addr.BitLen())) {
		fn(pfx.Bits(), hosts)
	}
}

// LoadMirrors reads and indexes the protobuf snapshot at path.
func LoadMirrors(ctx context.Context, path string) (*Mirrors, error) {
	data, err := readNonEmpty(path)
	if err != nil {
		return nil, err
	}
	m, err := BuildMirrors(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", path, err)
	}
	return m, nil
}

// BuildMirrors indexes a protobuf snapshot held in memory.
//
// The file is walked field by field and each top-level element is decoded
// on its own and indexed at once, instead of decoding the whole MirrorList:
// the ~40,000 directory messages of a Fedora snapshot never exist together,
// which keeps the peak memory of a load close to the index it produces.
func BuildMirrors(ctx context.Context, data []byte) (*Mirrors, error) {
	b := newBuilder()
	// Pass 1: everything but the directories, so that hosts and hcurls are
	// known when the directories are indexed, whatever the field order.
	if err := walk(data, func(num protowire.Number, typ protowire.Type, v []byte, u uint64) error {
		if num == 16 {
			return nil
		}
		return b.topField(num, typ, v, u)
	}); err != nil {
		return nil, err
	}
	if !b.haveTime {
		return nil, errors.New("required field Time missing")
	}
	n := 0
	if err := walk(data, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != 16 {
			return nil
		}
		if n++; n%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		return b.directory(v)
	}); err != nil {
		return nil, err
	}
	if len(b.m.directories) == 0 {
		return nil, errors.New("no directories (MirrorListCache is empty)")
	}
	return b.finish(), nil
}

// walk calls fn for every top-level field of a message: v holds the bytes of
// a length-delimited field, u the value of a varint or fixed field.
func walk(data []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, u uint64) error) error {
	for off := 0; off < len(data); {
		num, typ, n := protowire.ConsumeTag(data[off:])
		if n < 0 {
			return fmt.Errorf("offset %d: %w", off, protowire.ParseError(n))
		}
		off += n
		var (
			v []byte
			u uint64
		)
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(data[off:])
		case protowire.VarintType:
			u, n = protowire.ConsumeVarint(data[off:])
		case protowire.Fixed64Type:
			u, n = protowire.ConsumeFixed64(data[off:])
		case protowire.Fixed32Type:
			var u32 uint32
			u32, n = protowire.ConsumeFixed32(data[off:])
			u = uint64(u32)
		default:
			n = protowire.ConsumeFieldValue(num, typ, data[off:])
		}
		if n < 0 {
			return fmt.Errorf("field %d at offset %d: %w", num, off, protowire.ParseError(n))
		}
		off += n
		if err := fn(num, typ, v, u); err != nil {
			return fmt.Errorf("field %d at offset %d: %w", num, off-n, err)
		}
	}
	return nil
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
	hostRef  map[int64]HostRef
	urlRef   map[int64]URLRef
	files    map[string]map[string]*File
	interned
	warn warnings

	// scratch, reused for every directory
	dir      mm.MirrorListCacheType
	refs     []HostRef
	key      []byte
	carriers []carrier
}

type carrier struct {
	host HostRef
	urls []URLRef
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
		hostRef:  make(map[int64]HostRef),
		urlRef:   make(map[int64]URLRef),
		files:    make(map[string]map[string]*File),
		interned: newInterned(),
	}
}

// ref returns the HostRef of a host id, creating a host with weight 1 on
// first sight.
func (b *builder) ref(id int64) HostRef {
	if r, ok := b.hostRef[id]; ok {
		return r
	}
	r := HostRef(len(b.m.hosts))
	b.m.hosts = append(b.m.hosts, Host{ID: id, Weight: 1})
	b.hostRef[id] = r
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
	pfx, err := parsePrefixOrAddr(e.GetKey())
	if err != nil {
		b.warn.add("NetblockCountryCache: %v", err)
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
	if r, dup := b.urlRef[e.GetKey()]; dup {
		b.warn.add("HCUrlCache: duplicate key %d (last one wins)", e.GetKey())
		b.m.urls[r] = e.GetValue()
		return nil
	}
	b.urlRef[e.GetKey()] = URLRef(len(b.m.urls))
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
			versions = append(versions, FileDetails{
				Timestamp: d.GetTimeStamp(), Size: d.GetSize(),
				MD5: d.GetMD5(), SHA1: d.GetSHA1(), SHA256: d.GetSHA256(), SHA512: d.GetSHA512(),
			})
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
	b.m.hosts[b.ref(e.GetKey())].Country = strings.ToUpper(e.GetValue())
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
	pfx, err := parsePrefixOrAddr(e.GetKey())
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

// directory indexes one MirrorListCacheType message.
func (b *builder) directory(v []byte) error {
	d := &b.dir
	if err := (proto.UnmarshalOptions{}).Unmarshal(v, d); err != nil {
		return fmt.Errorf("MirrorListCache: %w", err)
	}
	name := d.GetDirectory()
	if _, dup := b.m.directories[name]; dup {
		b.warn.add("MirrorListCache: duplicate directory %q (last one wins)", name)
	}
	entry := &Directory{
		Name:      name,
		Subpath:   d.GetSubpath(),
		global:    b.hostList(d.GetGlobal()),
		countries: b.countryTable(d.GetByCountry()),
		carriers:  b.carrierTable(name, d.GetByHostId()),
		files:     b.files[name],
	}
	b.m.directories[name] = entry
	return nil
}

// hostList maps ids to refs, sorts and de-duplicates them, and interns the
// result.
func (b *builder) hostList(ids []int64) []HostRef {
	b.refs = b.refs[:0]
	for _, id := range ids {
		b.refs = append(b.refs, b.ref(id))
	}
	b.refs = sortUniqueRefs(b.refs)
	return b.internRefs(b.refs)
}

func (b *builder) countryTable(entries []*mm.StringRepeatedIntMap) *countryTable {
	t := &countryTable{byCountry: make(map[string][]HostRef, len(entries))}
	for _, e := range entries {
		cc := strings.ToUpper(e.GetKey())
		refs := b.hostList(append(e.GetValue(), hostIDs(t.byCountry[cc], b.m.hosts)...))
		t.byCountry[cc] = refs
	}
	return b.internCountries(t)
}

func (b *builder) carrierTable(dir string, entries []*mm.IntRepeatedIntMap) *carrierTable {
	b.carriers = b.carriers[:0]
	for _, e := range entries {
		var urls []URLRef
		for _, id := range e.GetValue() {
			u, ok := b.urlRef[id]
			if !ok {
				b.warn.add("directory %s: hcurl id %d not in HCUrlCache (URL dropped)", dir, id)
				continue
			}
			urls = append(urls, u)
		}
		b.carriers = append(b.carriers, carrier{host: b.ref(e.GetKey()), urls: urls})
	}
	return b.internCarriers(b.carriers)
}

// finish completes the index once every field has been read.
func (b *builder) finish() *Mirrors {
	m := b.m
	for asn, refs := range m.asnHosts {
		m.asnHosts[asn] = sortUniqueRefs(refs)
	}
	for key, dir := range m.repoArch {
		m.repoKeys = append(m.repoKeys, key)
		if m.directories[dir] == nil {
			b.warn.add("RepoArchToDirectoryName: %s → %q has no directory entry", key, dir)
		}
	}
	sortStrings(m.repoKeys)
	for dir := range b.files {
		if m.directories[dir] == nil {
			b.warn.add("FileDetailsCache: directory %q has no directory entry", dir)
		}
	}
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

func hostIDs(refs []HostRef, hosts []Host) []int64 {
	if len(refs) == 0 {
		return nil
	}
	ids := make([]int64, len(refs))
	for i, r := range refs {
		ids[i] = hosts[r].ID
	}
	return ids
}

// parsePrefixOrAddr parses a CIDR prefix or a bare address (as a /32 or
// /128), masking host bits.
func parsePrefixOrAddr(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if bytes.IndexByte([]byte(s), '/') < 0 {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		a = a.WithZone("").Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}
