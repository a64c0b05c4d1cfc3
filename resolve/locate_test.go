package resolve

import (
	"testing"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
)

func TestLocateRepo(t *testing.T) {
	m := fixtures.TinySnapshot().Mirrors()
	tests := []struct {
		repo, arch string
		want       RepoLocation
	}{
		{"fedora-41", "x86_64", RepoLocation{Repo: "fedora-41", Arch: "x86_64", Directory: fixtures.TinyDirOS, Found: true}},
		{"fedora-source-41", "x86_64", RepoLocation{Repo: "fedora-source-41", Arch: "source", Directory: fixtures.TinyDirSource, Found: true}},
		{fixtures.TinyRepoRedirectFrom, "x86_64", RepoLocation{Repo: fixtures.TinyRepoRedirectTo, Arch: "x86_64", Directory: fixtures.TinyDirEPEL, Found: true}},
		{fixtures.TinyRepoDisabled, "x86_64", RepoLocation{Repo: fixtures.TinyRepoDisabled, Arch: "x86_64", Disabled: true}},
		{"fedora-41", "aarch64", RepoLocation{Repo: "fedora-41", Arch: "aarch64"}},
		{"", "", RepoLocation{}},
	}
	for _, tt := range tests {
		if got := LocateRepo(m, tt.repo, tt.arch); got != tt.want {
			t.Errorf("LocateRepo(%q, %q) = %+v, want %+v", tt.repo, tt.arch, got, tt.want)
		}
	}
}

func TestAppendMetalinkDirectory(t *testing.T) {
	for dir, want := range map[string]string{
		fixtures.TinyDirOS:              fixtures.TinyDirOSRepodata,
		fixtures.TinyDirOSRepodata:      fixtures.TinyDirOSRepodata,
		"pub/x/repodata.old":            "pub/x/repodata.old/repodata",
		"":                              "/repodata",
		"pub/fedora/linux/repodata/sub": "pub/fedora/linux/repodata/sub/repodata",
	} {
		if got := string(AppendMetalinkDirectory(nil, dir)); got != want {
			t.Errorf("AppendMetalinkDirectory(%q) = %q, want %q", dir, got, want)
		}
	}
}

func TestLocatePath(t *testing.T) {
	m := fixtures.TinySnapshot().Mirrors()
	tests := []struct {
		path          string
		clean, dir, f string
	}{
		{fixtures.TinyDirOS, fixtures.TinyDirOS, fixtures.TinyDirOS, ""},
		{"//" + fixtures.TinyDirOS + "//", fixtures.TinyDirOS, fixtures.TinyDirOS, ""},
		{"pub//fedora///linux", "pub/fedora/linux", "pub/fedora/linux", ""},
		{fixtures.TinyDirOSRepodata + "/repomd.xml", fixtures.TinyDirOSRepodata + "/repomd.xml", fixtures.TinyDirOSRepodata, "repomd.xml"},
		{fixtures.TinyDirOS + "/no-such-file", fixtures.TinyDirOS + "/no-such-file", fixtures.TinyDirOS, "no-such-file"},
		{fixtures.TinyDirOS + "/..", fixtures.TinyDirOS + "/..", "", ""},
		{fixtures.TinyDirOS + "/.", fixtures.TinyDirOS + "/.", "", ""},
		{"pub/nothing/here", "pub/nothing/here", "", ""},
		{"", "", "", ""},
	}
	for _, tt := range tests {
		got := LocatePath(m, tt.path)
		dir := ""
		if got.Dir != nil {
			dir = got.Dir.Name
		}
		if got.Path != tt.clean || dir != tt.dir || got.File != tt.f {
			t.Errorf("LocatePath(%q) = {%q, %q, %q}, want {%q, %q, %q}", tt.path, got.Path, dir, got.File, tt.clean, tt.dir, tt.f)
		}
	}
}
