package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// The generator's unit publishes a snapshot only once this command has
// checked it (deploy/generate-mirrorlist-cache.service): the generator
// writes a staged file, the first ExecStartPost checks it against the
// published one, the second renames it over the published one, and
// systemd runs no later command once one fails.

const unitFile = "../../deploy/generate-mirrorlist-cache.service"

// published is where the servers read the cache file: their default, and
// the generator's.
const published = "/var/lib/mirrormanager/mirrorlist_cache.proto"

// unitCommands returns the generator's --outfile and the unit's
// ExecStartPost command lines, in order.
func unitCommands(t *testing.T) (outfile string, post [][]string) {
	t.Helper()
	unit, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.ReplaceAll(string(unit), "\\\n", " ")
	start := regexp.MustCompile(`(?m)^ExecStart=\S*generate-mirrorlist-cache\s.*--outfile\s+(\S+)`).FindStringSubmatch(joined)
	if start == nil {
		t.Fatal("no ExecStart running generate-mirrorlist-cache --outfile")
	}
	for _, m := range regexp.MustCompile(`(?m)^ExecStartPost=(.*)$`).FindAllStringSubmatch(joined, -1) {
		post = append(post, strings.Fields(m[1]))
	}
	return start[1], post
}

// TestDeployUnitFlags: the check reads the staged file and the inputs the
// servers read, compares it with the published file, and the rename
// publishes the staged file within its directory (an atomic rename).
func TestDeployUnitFlags(t *testing.T) {
	staged, post := unitCommands(t)
	if len(post) != 2 {
		t.Fatalf("ExecStartPost lines %q, want the check and the rename", post)
	}
	check, mv := post[0], post[1]
	if filepath.Base(check[0]) != "mirrorlist-snapshot" || check[1] != "check" {
		t.Fatalf("first ExecStartPost %q, want mirrorlist-snapshot check", check)
	}
	fs := pflag.NewFlagSet("check", pflag.ContinueOnError)
	checkFlags(fs)
	if err := fs.Parse(check[2:]); err != nil {
		t.Fatalf("check flags: %v", err)
	}
	flag := func(name string) string { return fs.Lookup(name).Value.String() }
	if flag("cache") != staged || flag("against") != published {
		t.Errorf("check --cache %s --against %s, want the staged %s against %s", flag("cache"), flag("against"), staged, published)
	}
	for _, name := range []string{"global_netblocks", "cccsv", "geoip"} {
		if fs.Lookup(name).Value.String() != fs.Lookup(name).DefValue {
			t.Errorf("check --%s %s: not the servers' default %s", name, flag(name), fs.Lookup(name).DefValue)
		}
	}
	if len(mv) != 4 || filepath.Base(mv[0]) != "mv" || mv[1] != "-f" || mv[2] != staged || mv[3] != published {
		t.Errorf("second ExecStartPost %q, want mv -f %s %s", mv, staged, published)
	}
	if filepath.Dir(staged) != filepath.Dir(published) {
		t.Errorf("staged %s is not in the directory of %s: the rename could be a copy", staged, published)
	}
}

// TestDeployUnitPublishes runs the unit's ExecStartPost lines, as
// written, on a directory standing in for /var/lib/mirrormanager after
// the generator wrote each kind of file: only a file the check passes
// replaces the published one.
func TestDeployUnitPublishes(t *testing.T) {
	mvPath, err := exec.LookPath("mv")
	if err != nil {
		t.Skip("no mv:", err)
	}
	root, err := dataRoot()
	if err != nil {
		t.Fatal(err)
	}
	read := func(set, name string) []byte {
		data, err := os.ReadFile(filepath.Join(root, set, name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	small, small2, tiny, cut := read("small", fixtures.CacheFile), read("small2", fixtures.CacheFile), read("tiny", fixtures.CacheFile), read("tiny-cut", fixtures.CacheFile)
	tests := []struct {
		name       string
		old, new   []byte // old nil: nothing published yet
		publishes  bool
		stderrHint string
	}{
		{"first run", nil, small, true, ""},
		{"next snapshot", small, small2, true, ""},
		{"shrunk", small, tiny, false, "shrink guard"},
		{"cut short", small, cut, false, "runs past the end"},
	}
	_, post := unitCommands(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, geoip := t.TempDir(), t.TempDir()
			set, err := fixtures.ReadFS(fixtures.Small, "small")
			if err != nil {
				t.Fatal(err)
			}
			p := snapshot.PathsIn(dir)
			writeFile(t, p.Routes, set.Routes)
			writeFile(t, p.Continents, set.Continents)
			writeFile(t, filepath.Join(geoip, snapshot.GeoIPFile), set.GeoIP)
			if tt.old != nil {
				writeFile(t, p.Cache, tt.old)
			}
			writeFile(t, p.Cache+".staged", tt.new)
			local := strings.NewReplacer("/var/lib/mirrormanager", dir, "/usr/share/GeoIP", geoip)
			var stderr bytes.Buffer
			for _, cmd := range post {
				args := make([]string, len(cmd))
				for i, a := range cmd {
					args[i] = local.Replace(a)
				}
				if !runUnitCommand(t, mvPath, args, &stderr) {
					break // systemd runs no later command
				}
			}
			want := tt.old
			if tt.publishes {
				want = tt.new
			}
			got, err := os.ReadFile(p.Cache)
			if err != nil && tt.old != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("published file is %d bytes, want %d (published: %v); stderr:\n%s", len(got), len(want), tt.publishes, stderr.String())
			}
			_, err = os.Stat(p.Cache + ".staged")
			if staged := err == nil; staged == tt.publishes {
				t.Errorf("staged file left: %v, want %v", staged, !tt.publishes)
			}
			if !strings.Contains(stderr.String(), tt.stderrHint) {
				t.Errorf("stderr %q does not say %q", stderr.String(), tt.stderrHint)
			}
		})
	}
}

// runUnitCommand runs one ExecStartPost line: this command in the
// process, mv as a program. It reports whether the command succeeded.
func runUnitCommand(t *testing.T, mvPath string, args []string, stderr *bytes.Buffer) bool {
	t.Helper()
	switch filepath.Base(args[0]) {
	case "mirrorlist-snapshot":
		var stdout bytes.Buffer
		return run(context.Background(), args[1:], &stdout, stderr) == exitOK
	case "mv":
		cmd := exec.Command(mvPath, args[1:]...)
		cmd.Stderr = stderr
		return cmd.Run() == nil
	}
	t.Fatalf("unexpected command %q", args)
	return false
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
