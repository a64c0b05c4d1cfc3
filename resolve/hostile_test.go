package resolve

import (
	"strings"
	"testing"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
)

// TestPathOutsideIndex checks path= values that try to leave the index:
// found by FuzzHandler in package httpapi, where "<dir>/.." made every
// mirror's URL point at the directory's parent. Each answer is either the
// invalid path error or a directory or file under an existing directory.
func TestPathOutsideIndex(t *testing.T) {
	s := tinySnapshot(t, nil)
	invalid := "404 doc\nerror: invalid path"
	tests := []struct{ path, want string }{
		{fixtures.TinyDirOS + "/..", invalid},
		{fixtures.TinyDirOS + "/.", invalid},
		{fixtures.TinyDirOS + "//..//", invalid},
		{fixtures.TinyDirOS + "/../../../../etc/passwd", invalid},
		{"../../etc/passwd", invalid},
		{"..", invalid},
		{"/", invalid},
	}
	for _, tt := range tests {
		for _, kind := range []Kind{Mirrorlist, Metalink} {
			a := resolveQuery(s, kind, "path="+tt.path+ipFR, 5, 1)
			if got := render(s, a); got != tt.want {
				t.Errorf("kind %d, path=%s: got %q, want %q", kind, tt.path, got, tt.want)
			}
		}
	}
	// A file whose name merely starts with dots is still a file.
	a := resolveQuery(s, Mirrorlist, "path="+fixtures.TinyDirOS+"/..rpm"+ipFR, 5, 1)
	if a.Status != 200 || a.File != "..rpm" || !strings.HasSuffix(render(s, a), "/..rpm\n") {
		t.Errorf("path=<dir>/..rpm: %d %q\n%s", a.Status, a.File, render(s, a))
	}
}
