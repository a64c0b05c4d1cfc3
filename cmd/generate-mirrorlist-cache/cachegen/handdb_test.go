package cachegen_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/mirrorlist-go/mirrorlist-server/cmd/generate-mirrorlist-cache/cachegen"
	"github.com/mirrorlist-go/mirrorlist-server/cmd/generate-mirrorlist-cache/mm2db"
	"github.com/mirrorlist-go/mirrorlist-server/cmd/generate-mirrorlist-cache/pgtest"
	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	pb "github.com/mirrorlist-go/mirrorlist-server/proto"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// fakeResolver answers host name lookups from a table.
type fakeResolver map[string][]netip.Addr

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("no such host %s", host)
}

// handDatabase creates the hand-checkable database of testdata/handdb.sql
// and returns a connection to it.
func handDatabase(t *testing.T) *handDB {
	t.Helper()
	sql, err := os.ReadFile("testdata/handdb.sql")
	if err != nil {
		t.Fatal(err)
	}
	url, conn := pgtest.Start(t).Database(t, "hand", mm2db.Schema, string(sql))
	return &handDB{conn, url}
}

// handDB is the hand-checkable database: a connection and its URL.
type handDB struct {
	Conn *pgx.Conn
	URL  string
}

// handOptions are the generator's options for the hand database: a fixed
// clock and a resolver that knows mirror-net.example.
func handOptions(warnings *[]string) cachegen.Options {
	return cachegen.Options{
		Now:      func() time.Time { return time.Unix(int64(fixtures.TinyTime), 0) },
		Warn:     func(line string) { *warnings = append(*warnings, line) },
		Resolver: fakeResolver{"mirror-net.example": {netip.MustParseAddr("24.9.9.9")}},
	}
}

// TestHandDatabase generates the snapshot of the hand-checkable database,
// compares it, written out, with testdata/handdb.snapshot.txt, loads it
// with the tiny set's GeoIP database, routes and continents, and compares
// the server's answers to requests that meet each case with the golden
// files under testdata/handdb/.
func TestHandDatabase(t *testing.T) {
	db := handDatabase(t)
	ctx := context.Background()
	var warnings []string
	var out bytes.Buffer
	st, err := cachegen.Generate(ctx, db.Conn, &out, handOptions(&warnings))
	if err != nil {
		t.Fatal(err)
	}
	want := cachegen.Stats{Directories: 15, Hosts: 18, ServingHosts: 13, HCUrls: 24, RepoArches: 8, Disabled: 2, FileDetailDir: 6, HostNetblocks: 5, Bytes: int64(out.Len())}
	if st != want {
		t.Errorf("stats:\nhave %+v\nwant %+v", st, want)
	}
	var m pb.MirrorList
	if err := proto.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	dump := dumpSnapshot(&m) + "warnings:\n  " + strings.Join(warnings, "\n  ") + "\n"
	golden(t, "testdata/handdb.snapshot.txt", []byte(dump))

	set := fixtures.Tiny()
	set.Snapshot = out.Bytes()
	s, err := set.Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h := handlerOf(s)
	const (
		fedora   = "repo=fedora-41&arch=x86_64"
		updates  = "repo=updates-released-f41&arch=x86_64"
		spins    = "repo=alt-spins-41&arch=x86_64"
		unserved = "repo=alt-unserved-41&arch=x86_64"
	)
	for _, tc := range []struct{ name, target string }{
		{"metalink_de", "/metalink?" + fedora + "&ip=" + fixtures.TinyAddrDE},
		{"metalink_updates_alternates", "/metalink?" + updates + "&ip=" + fixtures.TinyAddrFR},
		{"metalink_private_netblock", "/metalink?" + updates + "&ip=" + fixtures.TinyAddrDEPrivate},
		{"metalink_epel_sha256_only", "/metalink?repo=epel-10.1&arch=x86_64&ip=" + fixtures.TinyAddrUS},
		{"metalink_path_global", "/metalink?path=pub/fedora/linux/releases/41/Everything/x86_64/os/repodata/repomd.xml&country=global&ip=" + fixtures.TinyAddrUnknown},
		{"mirrorlist_de", "/mirrorlist?" + fedora + "&ip=" + fixtures.TinyAddrDE},
		{"mirrorlist_updates_de", "/mirrorlist?" + updates + "&ip=" + fixtures.TinyAddrDE},
		{"mirrorlist_asn", "/mirrorlist?" + fedora + "&ip=" + fixtures.TinyAddrUSASN},
		{"mirrorlist_netmask_netblock", "/mirrorlist?" + fedora + "&ip=24.5.1.1"},
		{"mirrorlist_bare_netblock", "/mirrorlist?" + fedora + "&ip=24.6.7.8"},
		{"mirrorlist_resolved_netblock", "/mirrorlist?" + fedora + "&ip=24.9.9.9"},
		{"mirrorlist_allowed_ca", "/mirrorlist?" + fedora + "&country=ca&ip=" + fixtures.TinyAddrCA},
		{"mirrorlist_allowed_fr", "/mirrorlist?" + fedora + "&country=us&ip=" + fixtures.TinyAddrFR},
		{"mirrorlist_country_override", "/mirrorlist?" + fedora + "&ip=" + fixtures.TinyAddrCAOverride},
		{"mirrorlist_continent_redirect", "/mirrorlist?" + fedora + "&ip=" + fixtures.TinyAddrTR},
		{"mirrorlist_repo_redirect", "/mirrorlist?repo=epel-10&arch=x86_64&ip=" + fixtures.TinyAddrFR},
		{"mirrorlist_disabled", "/mirrorlist?repo=updates-testing-f41&arch=x86_64&ip=" + fixtures.TinyAddrDE},
		{"mirrorlist_disabled_no_directory", "/mirrorlist?repo=fedora-38&arch=x86_64&ip=" + fixtures.TinyAddrDE},
		{"mirrorlist_invalid_repo", "/mirrorlist?repo=rawhide-noversion&arch=x86_64&ip=" + fixtures.TinyAddrDE},
		{"mirrorlist_path_top", "/mirrorlist?path=pub/fedora/linux&ip=" + fixtures.TinyAddrUS},
		{"mirrorlist_peer_asn", "/mirrorlist?" + spins + "&ip=" + fixtures.TinyAddrDEPrivate},
		{"mirrorlist_shared_directory", "/mirrorlist?" + spins + "&ip=" + fixtures.TinyAddrDE},
		{"metalink_shared_directory", "/metalink?" + spins + "&ip=" + fixtures.TinyAddrDE},
		{"mirrorlist_no_empty_country", "/mirrorlist?" + spins + "&country=de,&ip=" + fixtures.TinyAddrUnknown},
		{"mirrorlist_exclusive_host", "/mirrorlist?repo=alt-iot-41&arch=x86_64&ip=" + fixtures.TinyAddrUnknown},
		{"mirrorlist_unserved", "/mirrorlist?" + unserved + "&ip=" + fixtures.TinyAddrDE},
		{"metalink_unserved", "/metalink?" + unserved + "&ip=" + fixtures.TinyAddrDE},
		{"mirrorlist_netblock_country_netmask", "/mirrorlist?" + fedora + "&ip=6.1.2.3"},
		{"mirrorlist_netblock_country_host_bits", "/mirrorlist?" + fedora + "&ip=203.0.113.50"},
		{"mirrorlist_private_urls_only_country", "/mirrorlist?" + fedora + "&country=tr&ip=" + fixtures.TinyAddrTR},
	} {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, filepath.Join("testdata", "handdb", tc.name+".txt"), []byte(tc.target+"\n"+serve(h, tc.target)))
		})
	}
}

// golden compares have with the file, or rewrites it with -update.
func golden(t *testing.T, path string, have []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, have, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(have, want) {
		t.Errorf("%s differs (run with -update and review the diff):\nhave:\n%s\nwant:\n%s", path, have, want)
	}
}

// dumpSnapshot writes a snapshot out as text, one entry a line, in the
// file's order: a stable form for golden files (prototext is deliberately
// unstable).
func dumpSnapshot(m *pb.MirrorList) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("Time %d", m.GetTime())
	for _, e := range m.NetblockCountryCache {
		p("NetblockCountryCache %s %s", e.GetKey(), e.GetValue())
	}
	for _, e := range m.HCUrlCache {
		p("HCUrlCache %d %s", e.GetKey(), e.GetValue())
	}
	for _, d := range m.FileDetailsCache {
		p("FileDetailsCache %s", d.GetDirectory())
		for _, f := range d.FileDetailsCacheFiles {
			p("  %s", f.GetFilename())
			for _, v := range f.FileDetails {
				p("    time %d size %d md5 %s sha1 %s sha256 %s sha512 %s", v.GetTimeStamp(), v.GetSize(),
					opt(v.MD5), opt(v.SHA1), opt(v.SHA256), opt(v.SHA512))
			}
		}
	}
	for _, e := range m.DisabledRepositoryCache {
		p("DisabledRepositoryCache %s %t", e.GetKey(), e.GetValue())
	}
	for _, e := range m.CountryContinentRedirectCache {
		p("CountryContinentRedirectCache %s %s", e.GetKey(), e.GetValue())
	}
	for _, e := range m.RepositoryRedirectCache {
		p("RepositoryRedirectCache %s %s", e.GetKey(), e.GetValue())
	}
	for _, e := range m.RepoArchToDirectoryName {
		p("RepoArchToDirectoryName %s %s", e.GetKey(), e.GetValue())
	}
	for _, e := range m.HostAsnCache {
		p("HostAsnCache %d %v", e.GetKey(), e.Value)
	}
	for _, e := range m.HostMaxConnectionCache {
		p("HostMaxConnectionCache %d %d", e.GetKey(), e.GetValue())
	}
	for _, e := range m.HostCountryCache {
		p("HostCountryCache %d %s", e.GetKey(), e.GetValue())
	}
	for _, e := range m.HostBandwidthCache {
		p("HostBandwidthCache %d %d", e.GetKey(), e.GetValue())
	}
	for _, e := range m.HostCountryAllowedCache {
		p("HostCountryAllowedCache %d %v", e.GetKey(), e.Value)
	}
	for _, e := range m.HostNetblockCache {
		p("HostNetblockCache %s %v", e.GetKey(), e.Value)
	}
	for _, e := range m.MirrorListCache {
		p("MirrorListCache %s", e.GetDirectory())
		p("  Subpath %q", e.GetSubpath())
		p("  Global %v", e.Global)
		for _, g := range e.ByCountry {
			p("  ByCountry %s %v", g.GetKey(), g.Value)
		}
		for _, g := range e.ByCountryInternet2 {
			p("  ByCountryInternet2 %s %v", g.GetKey(), g.Value)
		}
		for _, h := range e.ByHostId {
			p("  ByHostId %d %v", h.GetKey(), h.Value)
		}
	}
	return b.String()
}

func opt(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}
