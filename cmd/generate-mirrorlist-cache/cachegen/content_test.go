package cachegen_test

import (
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"

	pb "github.com/mirrorlist-go/mirrorlist-server/proto"
)

// content is a snapshot's meaning with the order of keyed entries and the
// writers' harmless differences taken out, for comparing a regenerated
// snapshot with the original field by field:
//
//   - ByHostId references to hcurls missing from HCUrlCache are dropped
//     (a database cannot hold them; the server skips them);
//   - host netblock keys are masked prefixes (a bare address is a /32 or
//     /128, as the server reads it);
//   - bandwidths are clamped to 1–10,000, a missing one is 1 (the server
//     weighs both the same);
//   - DisabledRepositoryCache keeps its true entries;
//   - host countries are upper case (MirrorManager's generators upper-case
//     them; the server upper-cases what it reads);
//   - LocationCache, which the server never reads, is left out, and so is
//     HostMaxConnectionCache outside the original's hosts.
type content struct {
	Dirs        map[string]dirContent
	HCUrls      map[int64]string
	FileDetails map[string][]string
	RepoArch    map[string]string
	Disabled    map[string]bool
	RepoRedir   map[string]string
	Continent   map[string]string
	NetblockCC  map[string]string
	Country     map[int64]string
	ASN         map[int64][]int64
	Allowed     map[int64][]string
	Netblocks   map[string][]int64
	Bandwidth   map[int64]int64
	MaxConn     map[int64]int64
}

type dirContent struct {
	Global    []int64
	Subpath   string
	ByCountry map[string][]int64
	ByHostID  map[int64][]int64
}

func contentOf(m *pb.MirrorList, hosts []int64) content {
	c := content{
		Dirs: map[string]dirContent{}, HCUrls: map[int64]string{}, FileDetails: map[string][]string{},
		RepoArch: map[string]string{}, Disabled: map[string]bool{}, RepoRedir: map[string]string{},
		Continent: map[string]string{}, NetblockCC: map[string]string{}, Country: map[int64]string{},
		ASN: map[int64][]int64{}, Allowed: map[int64][]string{}, Netblocks: map[string][]int64{},
		Bandwidth: map[int64]int64{}, MaxConn: map[int64]int64{},
	}
	for _, e := range m.HCUrlCache {
		c.HCUrls[e.GetKey()] = e.GetValue()
	}
	for _, e := range m.MirrorListCache {
		d := dirContent{Global: e.Global, Subpath: e.GetSubpath(), ByCountry: map[string][]int64{}, ByHostID: map[int64][]int64{}}
		for _, g := range e.ByCountry {
			d.ByCountry[g.GetKey()] = g.Value
		}
		for _, h := range e.ByHostId {
			var urls []int64
			for _, u := range h.Value {
				if _, ok := c.HCUrls[u]; ok {
					urls = append(urls, u)
				}
			}
			d.ByHostID[h.GetKey()] = urls
		}
		c.Dirs[e.GetDirectory()] = d
	}
	for _, d := range m.FileDetailsCache {
		for _, f := range d.FileDetailsCacheFiles {
			k := d.GetDirectory() + "/" + f.GetFilename()
			for _, v := range f.FileDetails {
				c.FileDetails[k] = append(c.FileDetails[k], prototext.MarshalOptions{}.Format(v))
			}
		}
	}
	ss := func(dst map[string]string, entries []*pb.StringStringMap) {
		for _, e := range entries {
			dst[e.GetKey()] = e.GetValue()
		}
	}
	ss(c.RepoArch, m.RepoArchToDirectoryName)
	ss(c.RepoRedir, m.RepositoryRedirectCache)
	ss(c.Continent, m.CountryContinentRedirectCache)
	ss(c.NetblockCC, m.NetblockCountryCache)
	for _, e := range m.DisabledRepositoryCache {
		if e.GetValue() {
			c.Disabled[e.GetKey()] = true
		}
	}
	for _, e := range m.HostCountryCache {
		c.Country[e.GetKey()] = strings.ToUpper(e.GetValue())
	}
	for _, e := range m.HostAsnCache {
		c.ASN[e.GetKey()] = sorted(append(c.ASN[e.GetKey()], e.Value...))
	}
	for _, e := range m.HostCountryAllowedCache {
		c.Allowed[e.GetKey()] = append(c.Allowed[e.GetKey()], e.Value...)
	}
	for _, e := range m.HostNetblockCache {
		k := e.GetKey()
		if p, err := netip.ParsePrefix(k); err == nil {
			k = p.Masked().String()
		} else if a, err := netip.ParseAddr(k); err == nil {
			k = netip.PrefixFrom(a, a.BitLen()).String()
		}
		c.Netblocks[k] = sorted(append(c.Netblocks[k], e.Value...))
	}
	bw := map[int64]int64{}
	for _, e := range m.HostBandwidthCache {
		bw[e.GetKey()] = min(max(e.GetValue(), 1), 10000)
	}
	mc := map[int64]int64{}
	for _, e := range m.HostMaxConnectionCache {
		mc[e.GetKey()] = e.GetValue()
	}
	for _, h := range hosts {
		c.Bandwidth[h] = max(bw[h], 1)
		c.MaxConn[h] = mc[h]
	}
	return c
}

func sorted(s []int64) []int64 {
	slices.Sort(s)
	return slices.Compact(s)
}

// hostIDs lists the hosts of m's per-host caches.
func hostIDs(m *pb.MirrorList) []int64 {
	var ids []int64
	for _, e := range m.HostCountryCache {
		ids = append(ids, e.GetKey())
	}
	return sorted(ids)
}

// compareContent reports each field in which have and want differ.
func compareContent(t *testing.T, have, want content) {
	t.Helper()
	hv, wv := reflect.ValueOf(have), reflect.ValueOf(want)
	for i := range hv.NumField() {
		name := hv.Type().Field(i).Name
		if !reflect.DeepEqual(hv.Field(i).Interface(), wv.Field(i).Interface()) {
			t.Errorf("%s differs: %s", name, firstDifference(hv.Field(i), wv.Field(i)))
		}
	}
}

// firstDifference names a key whose values differ, for a readable error.
func firstDifference(have, want reflect.Value) string {
	if have.Kind() != reflect.Map {
		return fmt.Sprintf("have %v, want %v", have, want)
	}
	if have.Len() != want.Len() {
		return fmt.Sprintf("have %d keys, want %d", have.Len(), want.Len())
	}
	for _, k := range want.MapKeys() {
		h, w := have.MapIndex(k), want.MapIndex(k)
		if !h.IsValid() {
			return fmt.Sprintf("key %v missing", k)
		}
		if !reflect.DeepEqual(h.Interface(), w.Interface()) {
			return fmt.Sprintf("key %v: have %+v, want %+v", k, h, w)
		}
	}
	return "?"
}
