package snapshot_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	mm "github.com/mirrorlist-go/mirrorlist-server/proto"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// TestIndexAgainstMessages checks every directory of the small set, whose
// host lists are diverse, against the protobuf messages as
// proto.Unmarshal decodes them: for every host, Carries, URLs and
// InGlobal; for every country, ByCountry; and Global and Carriers whole.
func TestIndexAgainstMessages(t *testing.T) {
	set, err := fixtures.ReadFS(fixtures.Small, "small")
	if err != nil {
		t.Fatal(err)
	}
	var list mm.MirrorList
	if err := proto.Unmarshal(set.Snapshot, &list); err != nil {
		t.Fatal(err)
	}
	m, err := snapshot.BuildMirrors(context.Background(), set.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	urlOf := make(map[int64]string)
	for _, e := range list.GetHCUrlCache() {
		urlOf[e.GetKey()] = e.GetValue()
	}
	refOf := make(map[int64]snapshot.HostRef)
	for h := range m.HostCount() {
		refOf[m.Host(snapshot.HostRef(h)).ID] = snapshot.HostRef(h)
	}
	for _, msg := range list.GetMirrorListCache() {
		d := m.Directory(msg.GetDirectory())
		if d == nil {
			t.Fatalf("directory %s not indexed", msg.GetDirectory())
		}
		wantURLs := make(map[snapshot.HostRef][]string)
		for _, e := range msg.GetByHostId() {
			var urls []string
			for _, id := range e.GetValue() {
				if u, ok := urlOf[id]; ok {
					urls = append(urls, u)
				}
			}
			wantURLs[refOf[e.GetKey()]] = urls
		}
		global := make(map[snapshot.HostRef]bool)
		var wantGlobal []snapshot.HostRef
		for _, id := range msg.GetGlobal() {
			global[refOf[id]] = true
			wantGlobal = append(wantGlobal, refOf[id])
		}
		slices.Sort(wantGlobal)
		if !slices.Equal(d.Global(), slices.Compact(wantGlobal)) {
			t.Errorf("%s: Global = %v, want %v", d.Name, d.Global(), wantGlobal)
		}
		for h := range snapshot.HostRef(m.HostCount()) {
			want, carried := wantURLs[h]
			urls, ok := d.URLs(h)
			var got []string
			for _, u := range urls {
				got = append(got, m.URL(u))
			}
			if ok != carried || d.Carries(h) != carried || !slices.Equal(got, want) {
				t.Errorf("%s, host %d: URLs = %q, %v, Carries = %v; want %q, %v", d.Name, m.Host(h).ID, got, ok, d.Carries(h), want, carried)
			}
			if d.InGlobal(h) != global[h] {
				t.Errorf("%s, host %d: InGlobal = %v, want %v", d.Name, m.Host(h).ID, d.InGlobal(h), global[h])
			}
		}
		hosts, urls := d.Carriers()
		if len(hosts) != len(wantURLs) || len(urls) != len(hosts) || !slices.IsSorted(hosts) {
			t.Errorf("%s: Carriers has %d hosts, %d lists, want %d sorted", d.Name, len(hosts), len(urls), len(wantURLs))
		}
		for _, e := range msg.GetByCountry() {
			var want []snapshot.HostRef
			for _, id := range e.GetValue() {
				want = append(want, refOf[id])
			}
			slices.Sort(want)
			if got := d.ByCountry(strings.ToUpper(e.GetKey())); !slices.Equal(got, slices.Compact(want)) {
				t.Errorf("%s: ByCountry(%s) = %v, want %v", d.Name, e.GetKey(), got, want)
			}
		}
		if got := d.ByCountry("ZZ"); got != nil {
			t.Errorf("%s: ByCountry(ZZ) = %v", d.Name, got)
		}
	}
}
