package resolve

import (
	"testing"

	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// TestAppendURLSuffix checks the end of a URL for every combination of
// subpath, file and trailing slash that AppendURL distinguishes.
func TestAppendURLSuffix(t *testing.T) {
	for _, tt := range []struct {
		subpath, file string
		slash         bool
		want          string
	}{
		{"updates/42", "repomd.xml", false, "/updates/42/repomd.xml"},
		{"updates/42", "repomd.xml", true, "/updates/42/repomd.xml"},
		{"updates/42/", "repomd.xml", false, "/updates/42/repomd.xml"},
		{"updates/42", "", false, "/updates/42/"},
		{"", "repomd.xml", false, "/repomd.xml"},
		{"", "repomd.xml", true, "repomd.xml"},
		{"", "", false, "/"},
		{"", "", true, "/"},
	} {
		a := &Answer{Dir: &snapshot.Directory{Subpath: tt.subpath}, File: tt.file}
		if got := string(a.AppendURLSuffix([]byte("x"), tt.slash)); got != "x"+tt.want {
			t.Errorf("subpath %q, file %q, slash %v: got %q, want %q", tt.subpath, tt.file, tt.slash, got, "x"+tt.want)
		}
	}
}
