package main

import (
	"context"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	pb "github.com/mirrorlist-go/mirrorlist-server/proto"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// TestGlobalWithoutURLs: a host of Global without a ByHostId entry (a
// public host whose URLs are all private) is listed apart, not as a
// carrier.
func TestGlobalWithoutURLs(t *testing.T) {
	var ml pb.MirrorList
	if err := proto.Unmarshal(fixtures.Tiny().Snapshot, &ml); err != nil {
		t.Fatal(err)
	}
	for _, d := range ml.MirrorListCache {
		if d.GetDirectory() == fixtures.TinyDirOS {
			d.Global = append(d.Global, 99)
		}
	}
	data, err := proto.Marshal(&ml)
	if err != nil {
		t.Fatal(err)
	}
	m, err := snapshot.BuildMirrors(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	v := newDirectoryView(m, m.Directory(fixtures.TinyDirOS), "")
	if !slices.Equal(v.Uncarried, []int64{99}) || v.Carriers != 8 || v.Global != 7 {
		t.Errorf("uncarried %v, carriers %d, global %d; want [99], 8, 7", v.Uncarried, v.Carriers, v.Global)
	}
}
