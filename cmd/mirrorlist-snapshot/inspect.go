package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/mirrorlist-go/mirrorlist-server/resolve"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// inspectOptions are inspect's flags.
type inspectOptions struct {
	repo, arch, path string
	json             bool
	byRepo, byPath   bool // the selector given
}

func inspectFlags(fs *pflag.FlagSet) func(context.Context, []string, io.Writer, io.Writer) error {
	o := new(inspectOptions)
	fs.StringVar(&o.repo, "repo", "", "show the directory a metalink for `REPO` (with --arch) describes, found as the server finds it")
	fs.StringVar(&o.arch, "arch", "", "the `ARCH` of --repo")
	fs.StringVar(&o.path, "path", "", "show the directory (or the file in a directory) that path=`PATH` names")
	fs.BoolVar(&o.json, "json", false, "write JSON instead of text")
	return func(ctx context.Context, args []string, out, _ io.Writer) error {
		if len(args) != 1 {
			return usagef("want one cache file, got %d arguments", len(args))
		}
		if err := o.validate(fs); err != nil {
			return err
		}
		return o.inspect(ctx, args[0], out)
	}
}

func (o *inspectOptions) validate(fs *pflag.FlagSet) error {
	repo, arch, path := fs.Changed("repo"), fs.Changed("arch"), fs.Changed("path")
	switch {
	case repo != arch:
		return usagef("--repo and --arch go together")
	case repo && path:
		return usagef("give --repo and --arch, or --path, not both")
	}
	o.byRepo, o.byPath = repo, path
	return nil
}

// inspection is what inspect reports with a selector: how the directory
// was found, and what it holds.
type inspection struct {
	Repo      *repoLookup    `json:"repo,omitempty"`
	Path      *pathLookup    `json:"path,omitempty"`
	Directory *directoryView `json:"directory"`
}

// repoLookup is how --repo and --arch led to a directory.
type repoLookup struct {
	Repo       string `json:"repo"`        // as given
	Arch       string `json:"arch"`        // as given
	LookupRepo string `json:"lookup_repo"` // after the repository redirect
	LookupArch string `json:"lookup_arch"` // after the source rewrite
	// Directory is the repository's directory (what a mirrorlist
	// lists), MetalinkDirectory the one whose MetalinkFile a metalink
	// describes: the directory shown.
	Directory         string `json:"directory"`
	MetalinkDirectory string `json:"metalink_directory"`
	MetalinkFile      string `json:"metalink_file"`
}

// pathLookup is how --path led to a directory.
type pathLookup struct {
	Path      string `json:"path"`      // as given
	Directory string `json:"directory"` // the directory it names, or holds the file
	File      string `json:"file,omitempty"`
}

// directoryView is one directory as a mirrorlist or metalink sees it.
type directoryView struct {
	Name     string     `json:"name"`
	Subpath  string     `json:"subpath"`
	Carriers int        `json:"carriers"` // hosts with a ByHostId entry
	Global   int        `json:"global"`   // of them, in Global (public)
	Hosts    []hostView `json:"hosts"`    // by host id
	// Uncarried lists the hosts of Global without a ByHostId entry
	// (public hosts whose URLs are all private): no answer has them.
	Uncarried []int64             `json:"global_without_urls"`
	ByCountry map[string][]int64  `json:"by_country"`
	Files     []fileView          `json:"files"`
	hostIndex map[int64]*hostView // Hosts by id
}

// hostView is one host carrying a directory.
type hostView struct {
	ID      int64  `json:"id"`
	Country string `json:"country"`
	// Weight is the bandwidth the shuffle weighs the host by
	// (HostBandwidthCache, at least 1).
	Weight           int64    `json:"weight"`
	Global           bool     `json:"global"`
	URLs             []string `json:"urls"` // as the answers list them for this directory (or file)
	ASNs             []uint32 `json:"asns,omitempty"`
	Netblocks        []string `json:"netblocks,omitempty"`
	CountriesAllowed []string `json:"countries_allowed,omitempty"` // with Restricted: the only countries it serves
	Restricted       bool     `json:"restricted,omitempty"`
}

// fileView is one file's FileDetailsCache entry: the version a metalink
// gives (Current, nil when there is none) and its alternates. A file
// that is not Listed has no metalink (404); one listed without versions
// has a metalink without size or hashes.
type fileView struct {
	Name       string         `json:"name"`
	Listed     bool           `json:"listed"`
	Current    *versionView   `json:"current"`
	Alternates []*versionView `json:"alternates"`
}

// versionView is one version of a file; the metalink leaves out a zero
// timestamp or size and an empty hash, and so does this.
type versionView struct {
	Timestamp uint64 `json:"timestamp,omitzero"`
	Size      uint64 `json:"size,omitzero"`
	MD5       string `json:"md5,omitempty"`
	SHA1      string `json:"sha1,omitempty"`
	SHA256    string `json:"sha256,omitempty"`
	SHA512    string `json:"sha512,omitempty"`
}

func (o *inspectOptions) inspect(ctx context.Context, path string, out io.Writer) error {
	m, err := loadCache(ctx, path)
	if err != nil {
		return err
	}
	if !o.byRepo && !o.byPath {
		sh := shapeOf(m)
		if o.json {
			return writeJSON(out, sh)
		}
		sh.write(out)
		writeWarnings(out, sh.WarningCount, sh.Warnings)
		return nil
	}
	in, err := o.find(m)
	if err != nil {
		return err
	}
	if o.json {
		return writeJSON(out, in)
	}
	in.write(out)
	return nil
}

// find looks the selector up and describes what it leads to.
func (o *inspectOptions) find(m *snapshot.Mirrors) (*inspection, error) {
	if o.byPath {
		loc := resolve.LocatePath(m, o.path)
		if loc.Dir == nil {
			return nil, fmt.Errorf("path %q: no such directory or file in a directory (the server answers %q)", loc.Path, "error: invalid path")
		}
		pl := &pathLookup{Path: o.path, Directory: loc.Dir.Name, File: loc.File}
		return &inspection{Path: pl, Directory: newDirectoryView(m, loc.Dir, loc.File)}, nil
	}
	loc := resolve.LocateRepo(m, o.repo, o.arch)
	rl := &repoLookup{Repo: o.repo, Arch: o.arch, LookupRepo: loc.Repo, LookupArch: loc.Arch, Directory: loc.Directory, MetalinkFile: resolve.MetalinkFile}
	switch {
	case loc.Disabled:
		return nil, fmt.Errorf("repo %s arch %s: repository %s is disabled (the server answers %q)", o.repo, o.arch, loc.Repo, "repo disabled")
	case !loc.Found:
		return nil, fmt.Errorf("repo %s arch %s: no repo+arch %s+%s (the server answers %q)", o.repo, o.arch, loc.Repo, loc.Arch, "error: invalid repo or arch")
	}
	rl.MetalinkDirectory = string(resolve.AppendMetalinkDirectory(nil, loc.Directory))
	d := m.Directory(rl.MetalinkDirectory)
	if d == nil {
		return nil, fmt.Errorf("repo %s arch %s: RepoArchToDirectoryName gives %s, but %s has no directory entry (a metalink request gets 500 %q)",
			o.repo, o.arch, loc.Directory, rl.MetalinkDirectory, "mirrorlist cache index out of range, you broke it!")
	}
	return &inspection{Repo: rl, Directory: newDirectoryView(m, d, resolve.MetalinkFile)}, nil
}

// newDirectoryView describes d; with a file, the URLs are the file's and
// only its details are given.
func newDirectoryView(m *snapshot.Mirrors, d *snapshot.Directory, file string) *directoryView {
	v := &directoryView{Name: d.Name, Subpath: d.Subpath, ByCountry: make(map[string][]int64), hostIndex: make(map[int64]*hostView)}
	a := resolve.Answer{Dir: d, File: file}
	var buf []byte
	for h, urls := range d.AllCarriers() {
		host := m.Host(h)
		hv := hostView{ID: host.ID, Country: host.Country, Weight: host.Weight, Global: d.InGlobal(h), URLs: []string{}}
		hv.CountriesAllowed, hv.Restricted = host.CountriesAllowed()
		for _, u := range urls {
			base := m.URL(u)
			buf = a.AppendURLSuffix(append(buf[:0], base...), strings.HasSuffix(base, "/"))
			hv.URLs = append(hv.URLs, string(buf))
		}
		v.Hosts = append(v.Hosts, hv)
		if hv.Global {
			v.Global++
		}
	}
	v.Carriers = len(v.Hosts)
	v.Uncarried = []int64{}
	for _, h := range d.Global() {
		if !d.Carries(h) {
			v.Uncarried = append(v.Uncarried, m.Host(h).ID)
		}
	}
	slices.Sort(v.Uncarried)
	slices.SortFunc(v.Hosts, func(a, b hostView) int { return cmp.Compare(a.ID, b.ID) })
	for i := range v.Hosts {
		v.hostIndex[v.Hosts[i].ID] = &v.Hosts[i]
	}
	v.addPins(m)
	for _, cc := range d.Countries() {
		ids := hostIDs(m, d.ByCountry(cc))
		if len(ids) > 0 {
			v.ByCountry[cc] = ids
		}
	}
	names := d.FileNames()
	if file != "" {
		names = []string{file}
	}
	for _, name := range names {
		v.Files = append(v.Files, newFileView(name, d.File(name)))
	}
	if v.Hosts == nil {
		v.Hosts = []hostView{}
	}
	if v.Files == nil {
		v.Files = []fileView{}
	}
	return v
}

// addPins notes the ASNs and netblocks that send clients to the hosts.
func (v *directoryView) addPins(m *snapshot.Mirrors) {
	for asn, hosts := range m.ASNs() {
		for _, h := range hosts {
			if hv := v.hostIndex[m.Host(h).ID]; hv != nil {
				hv.ASNs = append(hv.ASNs, asn)
			}
		}
	}
	for pfx, hosts := range m.HostNetblocks() {
		for _, h := range hosts {
			if hv := v.hostIndex[m.Host(h).ID]; hv != nil {
				hv.Netblocks = append(hv.Netblocks, pfx.String())
			}
		}
	}
}

func newFileView(name string, f *snapshot.File) fileView {
	fv := fileView{Name: name, Listed: f != nil, Alternates: []*versionView{}}
	if f == nil {
		return fv
	}
	for i, fd := range f.Versions {
		vv := &versionView{Timestamp: fd.Timestamp, Size: fd.Size, MD5: fd.MD5, SHA1: fd.SHA1, SHA256: fd.SHA256, SHA512: fd.SHA512}
		if i == 0 {
			fv.Current = vv
		} else {
			fv.Alternates = append(fv.Alternates, vv)
		}
	}
	return fv
}

// hostIDs returns the ids of refs, sorted.
func hostIDs(m *snapshot.Mirrors, refs []snapshot.HostRef) []int64 {
	ids := m.HostIDs(refs)
	slices.Sort(ids)
	return ids
}

func (in *inspection) write(out io.Writer) {
	if r := in.Repo; r != nil {
		fmt.Fprintf(out, "repo %s arch %s", r.Repo, r.Arch)
		if r.LookupRepo != r.Repo || r.LookupArch != r.Arch {
			fmt.Fprintf(out, ", looked up as repo %s arch %s", r.LookupRepo, r.LookupArch)
		}
		fmt.Fprintf(out, "\n  mirrorlist lists %s\n  metalink describes %s/%s\n\n", r.Directory, r.MetalinkDirectory, r.MetalinkFile)
	}
	if p := in.Path; p != nil {
		fmt.Fprintf(out, "path %s\n", p.Path)
		if p.File != "" {
			fmt.Fprintf(out, "  file %s in %s\n", p.File, p.Directory)
		}
		fmt.Fprintln(out)
	}
	in.Directory.write(out)
}

func (v *directoryView) write(out io.Writer) {
	fmt.Fprintf(out, "directory %s\n", v.Name)
	fmt.Fprintf(out, "subpath   %s\n", v.Subpath)
	fmt.Fprintf(out, "hosts     %d carry it, %d in Global, %d private\n\n", v.Carriers, v.Global, v.Carriers-v.Global)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  host\tcountry\tweight\tkind\tURLs")
	for _, h := range v.Hosts {
		kind := "public"
		if !h.Global {
			kind = "private"
		}
		first := ""
		if len(h.URLs) > 0 {
			first = h.URLs[0]
		}
		fmt.Fprintf(tw, "  %d\t%s\t%d\t%s\t%s\n", h.ID, h.Country, h.Weight, kind, first)
		for _, u := range h.URLs[min(1, len(h.URLs)):] {
			fmt.Fprintf(tw, "  \t\t\t\t%s\n", u)
		}
		for _, note := range h.notes() {
			fmt.Fprintf(tw, "  \t\t\t\t(%s)\n", note)
		}
	}
	_ = tw.Flush()
	if len(v.Uncarried) > 0 {
		fmt.Fprintf(out, "\nin Global without a ByHostId entry (no URLs, never answered): %s\n", joinInts(v.Uncarried))
	}
	fmt.Fprintln(out, "\nby country")
	for _, cc := range slices.Sorted(maps.Keys(v.ByCountry)) {
		fmt.Fprintf(out, "  %s  %s\n", cc, joinInts(v.ByCountry[cc]))
	}
	for _, f := range v.Files {
		f.write(out)
	}
}

// notes say what besides the directory's lists sends clients to a host,
// or keeps them away.
func (h *hostView) notes() []string {
	var notes []string
	if len(h.ASNs) > 0 {
		notes = append(notes, "ASN "+joinInts(h.ASNs))
	}
	if len(h.Netblocks) > 0 {
		notes = append(notes, "netblocks "+strings.Join(h.Netblocks, " "))
	}
	if h.Restricted {
		notes = append(notes, "serves only "+strings.Join(h.CountriesAllowed, " "))
	}
	return notes
}

func (f *fileView) write(out io.Writer) {
	fmt.Fprintf(out, "\nfile %s\n", f.Name)
	switch {
	case !f.Listed:
		fmt.Fprintln(out, "  not in FileDetailsCache: a metalink for it is 404 (a mirrorlist still lists it)")
		return
	case f.Current == nil:
		fmt.Fprintln(out, "  listed without versions: a metalink for it has no size or hashes")
		return
	}
	f.Current.write(out, "  ")
	if len(f.Alternates) == 0 {
		return
	}
	fmt.Fprintf(out, "  alternates (mm0:alternates)\n")
	for i, a := range f.Alternates {
		fmt.Fprintf(out, "    %d\n", i+1)
		a.write(out, "      ")
	}
}

func (v *versionView) write(out io.Writer, indent string) {
	for _, f := range []struct {
		name, value string
	}{
		{"timestamp", uintOrEmpty(v.Timestamp)},
		{"size", uintOrEmpty(v.Size)},
		{"md5", v.MD5}, {"sha1", v.SHA1}, {"sha256", v.SHA256}, {"sha512", v.SHA512},
	} {
		if f.value != "" {
			fmt.Fprintf(out, "%s%-10s %s\n", indent, f.name, f.value)
		}
	}
}

func uintOrEmpty(n uint64) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprint(n)
}

func joinInts[T int64 | uint32](xs []T) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, " ")
}

// writeJSON writes v indented, with a final newline.
func writeJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	return nil
}
