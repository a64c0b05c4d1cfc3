package resolve

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"testing"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// fedoraDir holds Fedora-scale inputs written by the fixtures generator;
// $MIRRORLIST_FEDORA_DIR overrides it. The Fedora benchmarks skip when the
// files are absent.
func fedoraDir() string {
	if dir := os.Getenv("MIRRORLIST_FEDORA_DIR"); dir != "" {
		return dir
	}
	return "/tmp/fedora"
}

// loadFedora loads the Fedora-scale snapshot, or skips b.
func loadFedora(b *testing.B) *snapshot.Snapshot {
	b.Helper()
	dir := fedoraDir()
	p := snapshot.PathsIn(dir)
	if _, err := os.Stat(p.Cache); err != nil {
		b.Skipf("no Fedora-scale inputs in %s", dir)
	}
	s, err := snapshot.Load(context.Background(), p)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// clientIn returns an address that the snapshot places in country cc, found
// by probing a.1.2.3 for every first octet.
func clientIn(b *testing.B, s *snapshot.Snapshot, cc string) netip.Addr {
	b.Helper()
	for first := 1; first < 224; first++ {
		addr := netip.AddrFrom4([4]byte{byte(first), 1, 2, 3})
		if s.ClientCountry(addr) == cc {
			return addr
		}
	}
	b.Skipf("no address in %s", cc)
	return netip.Addr{}
}

// busiestRepo returns the repo and arch whose metalink lists the most
// mirrors for client: a current release's repository, as most requests
// ask for.
func busiestRepo(b *testing.B, s *snapshot.Snapshot, client netip.Addr) (repo, arch string) {
	b.Helper()
	var a Answer
	rng := rand.New(rand.NewPCG(1, 1))
	most := -1
	for _, key := range s.Mirrors().RepoArchKeys() {
		r, ar, ok := SplitRepoArch(key)
		if !ok {
			continue
		}
		req := &Request{Kind: Metalink, Repo: r, HasRepo: true, Arch: ar, HasArch: true, Client: client}
		Resolve(s, req, Options{Minimum: 5}, rng, &a)
		if a.Form == Document && len(a.Mirrors) > most {
			most, repo, arch = len(a.Mirrors), r, ar
		}
	}
	if most < 0 {
		b.Skip("no repository with a metalink")
	}
	return repo, arch
}

// benchResolve measures Resolve for req with a reused Answer, as the server
// uses it, and reports the answer's size.
func benchResolve(b *testing.B, s *snapshot.Snapshot, req *Request) {
	b.Helper()
	var a Answer
	rng := rand.New(rand.NewPCG(1, 2))
	opt := Options{Minimum: 5}
	Resolve(s, req, opt, rng, &a)
	if a.Form == Message {
		b.Fatalf("error answer: %d %s", a.Status, a.Message)
	}
	b.ReportAllocs()
	for b.Loop() {
		Resolve(s, req, opt, rng, &a)
	}
	b.ReportMetric(float64(len(a.Mirrors)), "mirrors")
}

// BenchmarkResolveFedora resolves typical requests against the
// Fedora-scale data set: a metalink and a mirrorlist for the busiest
// repository from a German client (geoip, continent), the same with
// country=global, and a metalink with protocol=https.
func BenchmarkResolveFedora(b *testing.B) {
	s := loadFedora(b)
	client := clientIn(b, s, "DE")
	repo, arch := busiestRepo(b, s, client)
	b.Logf("repo=%s arch=%s client=%s", repo, arch, client)
	base := Request{Repo: repo, HasRepo: true, Arch: arch, HasArch: true, Client: client}
	for _, c := range []struct {
		name string
		edit func(*Request)
	}{
		{"metalink", func(r *Request) { r.Kind = Metalink }},
		{"mirrorlist", func(r *Request) { r.Kind = Mirrorlist }},
		{"metalink-global", func(r *Request) { r.Kind, r.Country = Metalink, "global" }},
		{"metalink-https", func(r *Request) { r.Kind, r.Protocol, r.HasProto = Metalink, "https", true }},
	} {
		req := base
		c.edit(&req)
		b.Run(c.name, func(b *testing.B) { benchResolve(b, s, &req) })
	}
}

// BenchmarkResolveSynthetic resolves requests against a synthetic
// repository the size of a current Fedora directory (400 public and 200
// private carriers), which needs no generated files.
func BenchmarkResolveSynthetic(b *testing.B) {
	s := synthetic(b, 400, 200)
	for _, c := range []struct {
		name  string
		kind  Kind
		query string
	}{
		{"metalink", Metalink, "repo=synth-1&arch=x86_64&ip=" + fixtures.TinyAddrFR},
		{"metalink-netblock-asn", Metalink, "repo=synth-1&arch=x86_64&ip=80.1.2.3"},
		{"metalink-global", Metalink, "repo=synth-1&arch=x86_64&country=global&ip=" + fixtures.TinyAddrFR},
		{"mirrorlist", Mirrorlist, "repo=synth-1&arch=x86_64&ip=" + fixtures.TinyAddrFR},
		{"mirrorlist-protocol", Mirrorlist, "repo=synth-1&arch=x86_64&protocol=https,http&ip=" + fixtures.TinyAddrFR},
	} {
		b.Run(c.name, func(b *testing.B) { benchResolve(b, s, request(c.kind, c.query)) })
	}
}

// BenchmarkWeightedOrder measures the weighted shuffle of a group.
func BenchmarkWeightedOrder(b *testing.B) {
	for _, n := range []int{10, 20, 40, 63, 100, 400} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			weights := make([]float64, n)
			for i := range weights {
				weights[i] = float64(1 + i*397%10000)
			}
			hosts := refs(n)
			weight := weightOf(weights)
			var sh shuffler
			b.ReportAllocs()
			for b.Loop() {
				sh.weighted(hosts, weight, rng)
			}
		})
	}
}
