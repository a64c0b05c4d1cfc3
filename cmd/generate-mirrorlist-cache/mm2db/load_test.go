package mm2db

import (
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/mirrorlist-go/mirrorlist-server/proto"
)

func entry(dir, sub string, hosts ...*pb.IntRepeatedIntMap) *pb.MirrorListCacheType {
	return &pb.MirrorListCacheType{Directory: proto.String(dir), Subpath: proto.String(sub), ByHostId: hosts}
}

func byHost(host int64, urls ...int64) *pb.IntRepeatedIntMap {
	return &pb.IntRepeatedIntMap{Key: proto.Int64(host), Value: urls}
}

func hcurl(id int64) *pb.IntStringMap {
	return &pb.IntStringMap{Key: proto.Int64(id), Value: proto.String("https://example.org/" + string(rune('a'+id)))}
}

// TestPlanRefuses checks that snapshots a MirrorManager2 database cannot
// hold are refused with a message naming the conflict.
func TestPlanRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    *pb.MirrorList
		want string
	}{
		{"subpath not a suffix", &pb.MirrorList{MirrorListCache: []*pb.MirrorListCacheType{entry("pub/a/b", "c")}},
			`does not end in its subpath "c"`},
		{"hcurl of two hosts", &pb.MirrorList{
			HCUrlCache:      []*pb.IntStringMap{hcurl(1)},
			MirrorListCache: []*pb.MirrorListCacheType{entry("pub/a", "", byHost(10, 1), byHost(11, 1))},
		}, "hcurl 1 belongs to host 10"},
		{"repo key without arch", &pb.MirrorList{RepoArchToDirectoryName: []*pb.StringStringMap{{Key: proto.String("fedora"), Value: proto.String("pub/a")}}},
			`key "fedora" is not <repo>+<arch>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &loader{m: tc.m, dirID: make(map[string]int32)}
			if err := l.plan(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestPlanNotes checks what is left out, and said so: a missing hcurl and
// the placeholder host for unreferenced ones.
func TestPlanNotes(t *testing.T) {
	m := &pb.MirrorList{
		HCUrlCache:      []*pb.IntStringMap{hcurl(1), hcurl(2)},
		MirrorListCache: []*pb.MirrorListCacheType{entry("pub/a", "", byHost(10, 1, 9))},
	}
	l := &loader{m: m, dirID: make(map[string]int32)}
	if err := l.plan(); err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(l.notes, "\n")
	for _, want := range []string{"hcurl 9 (in pub/a's ByHostId) is not in HCUrlCache", "1 hcurls no directory references belong to placeholder host 11"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if l.hcurlOf[2] == l.hcurlOf[1] {
		t.Errorf("the unreferenced hcurl shares host 10's host category")
	}
}

// TestPlanPeerASNs checks that a host listed under several ASNs gets the
// first as its asn and the others, once each, as peer ASNs, and that
// LocationCache fills location and host_location for known hosts only.
func TestPlanPeerASNs(t *testing.T) {
	m := &pb.MirrorList{
		HostAsnCache:  []*pb.IntRepeatedIntMap{byHost(100, 10, 11), byHost(200, 10), byHost(300, 10, 10)},
		LocationCache: []*pb.StringRepeatedIntMap{{Key: proto.String("lab"), Value: []int64{11, 10, 99}}},
	}
	l := &loader{m: m, dirID: make(map[string]int32)}
	if err := l.plan(); err != nil {
		t.Fatal(err)
	}
	if l.asn[10] != 100 || l.asn[11] != 100 {
		t.Errorf("asn: %v, want 100 for hosts 10 and 11", l.asn)
	}
	if got := l.peerASNs().rows; !reflect.DeepEqual(got, [][]any{{int32(1), int32(200), int32(10)}, {int32(2), int32(300), int32(10)}}) {
		t.Errorf("host_peer_asn rows %v", got)
	}
	locs := l.locations()
	if got := locs[1].rows; !reflect.DeepEqual(got, [][]any{{int32(1), int32(1), int32(10)}, {int32(2), int32(1), int32(11)}}) {
		t.Errorf("host_location rows %v", got)
	}
	if notes := strings.Join(l.notes, "\n"); !strings.Contains(notes, `host 99 of "lab" is in no other cache`) {
		t.Errorf("notes lack host 99's:\n%s", notes)
	}
}
