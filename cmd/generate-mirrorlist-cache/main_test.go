package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mirrorlist-go/mirrorlist-server/cmd/generate-mirrorlist-cache/mm2db"
	"github.com/mirrorlist-go/mirrorlist-server/cmd/generate-mirrorlist-cache/pgtest"
	pb "github.com/mirrorlist-go/mirrorlist-server/proto"
)

func TestParseDotenv(t *testing.T) {
	in := `# generate-mirrorlist-cache
DB_URL=postgres://first
  export OTHER = 'quoted value'
EMPTY=
DB_URL="postgres://mirrormanager:secret@db.example.org/mirrormanager?sslmode=require"
TRAILING=value # a comment
`
	have, err := parseDotenv([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"DB_URL":   "postgres://mirrormanager:secret@db.example.org/mirrormanager?sslmode=require",
		"OTHER":    "quoted value",
		"EMPTY":    "",
		"TRAILING": "value",
	}
	if !reflect.DeepEqual(have, want) {
		t.Errorf("have %q\nwant %q", have, want)
	}
	if _, err := parseDotenv([]byte("DB_URL postgres://x\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("a line without = gave %v", err)
	}
}

func TestDatabaseURL(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "generate-mirrorlist-cache.cfg")
	if err := os.WriteFile(cfg, []byte("DB_URL=postgres://from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	noURL := filepath.Join(dir, "no-url.cfg")
	if err := os.WriteFile(noURL, []byte("OTHER=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "DB_URL" {
				return v
			}
			return ""
		}
	}
	for _, tc := range []struct {
		name, path, env, want, err string
	}{
		{"file", cfg, "", "postgres://from-file", ""},
		{"environment wins", cfg, "postgres://from-env", "postgres://from-env", ""},
		{"environment without a file", filepath.Join(dir, "missing.cfg"), "postgres://from-env", "postgres://from-env", ""},
		{"no file, no environment", filepath.Join(dir, "missing.cfg"), "", "", "does not exist and DB_URL is not set"},
		{"file without DB_URL", noURL, "", "", "sets no DB_URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			have, err := databaseURL(tc.path, env(tc.env))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), tc.path) {
					t.Fatalf("error %v, want one naming %s and saying %q", err, tc.path, tc.err)
				}
				return
			}
			if err != nil || have != tc.want {
				t.Fatalf("have %q, %v; want %q", have, err, tc.want)
			}
		})
	}
}

// command runs the command with args and DB_URL unset.
func command(args ...string) (code int, stdout, stderr string) {
	var out, errs bytes.Buffer
	code = run(context.Background(), args, func(string) string { return "" }, &out, &errs)
	return code, out.String(), errs.String()
}

func TestUsage(t *testing.T) {
	code, stdout, _ := command("--help")
	if code != exitOK || !strings.Contains(stdout, "--outfile") || !strings.Contains(stdout, defaultConfig) {
		t.Errorf("--help: exit %d\n%s", code, stdout)
	}
	code, _, stderr := command("--no-such-flag")
	if code != exitUsage || !strings.Contains(stderr, "no-such-flag") {
		t.Errorf("bad flag: exit %d\n%s", code, stderr)
	}
	code, _, stderr = command("stray")
	if code != exitUsage || !strings.Contains(stderr, "stray") {
		t.Errorf("argument: exit %d\n%s", code, stderr)
	}
}

// database creates a database with the MirrorManager2 schema, runs sql
// in it and returns a configuration file that points at it.
func database(t *testing.T, srv *pgtest.Server, name, sql string) string {
	t.Helper()
	url, _ := srv.Database(t, name, mm2db.Schema, sql)
	cfg := filepath.Join(t.TempDir(), "generate-mirrorlist-cache.cfg")
	if err := os.WriteFile(cfg, []byte("# test database\nDB_URL="+url+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestGenerate runs the command against the hand-checkable database, then
// against an empty one, which it must refuse, leaving the target as the
// first run wrote it.
func TestGenerate(t *testing.T) {
	srv := pgtest.Start(t)
	hand, err := os.ReadFile("cachegen/testdata/handdb.sql")
	if err != nil {
		t.Fatal(err)
	}
	// The host name in the netblocks becomes localhost, which /etc/hosts
	// answers: the test sends no DNS query out.
	hand = bytes.ReplaceAll(hand, []byte("'mirror-net.example'"), []byte("'localhost'"))
	cfg := database(t, srv, "hand", string(hand))
	dir := t.TempDir()
	target := filepath.Join(dir, "mirrorlist_cache.proto")

	code, stdout, stderr := command("-c", cfg, "-o", target, "-d")
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	summary := lines[len(lines)-1]
	if !strings.HasPrefix(summary, "wrote "+target+": ") || !strings.Contains(summary, " 15 directories, 18 hosts (13 serving)") {
		t.Errorf("summary line: %s", summary)
	}
	if len(lines) < 10 || !strings.HasPrefix(lines[0], "step 1: hosts: 18 rows (") {
		t.Errorf("-d should print a line per step first:\n%s", stdout)
	}
	if !strings.Contains(stderr, `warning: host 8 (ca-netblocks.example.ca): netblock "not a netblock" skipped`) {
		t.Errorf("stderr lacks the netblock warning:\n%s", stderr)
	}
	first := readSnapshot(t, target)
	localhost := false
	for _, e := range first.HostNetblockCache {
		localhost = localhost || e.GetKey() == "127.0.0.1/32"
	}
	if !localhost {
		t.Errorf("netblock localhost not resolved to 127.0.0.1/32: %v", first.HostNetblockCache)
	}
	if n := len(first.GetMirrorListCache()); n != 15 {
		t.Errorf("%d directories written, want 15", n)
	}
	info, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", info.Mode().Perm())
	}

	// Without -d: the summary line alone.
	code, stdout, _ = command("--config", cfg, "--outfile", target)
	if code != exitOK || strings.Count(stdout, "\n") != 1 || !strings.HasPrefix(stdout, "wrote ") {
		t.Errorf("exit %d, want one summary line:\n%s", code, stdout)
	}
	before, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}

	for name, sql := range map[string]string{
		"empty": "",
		// Directories, but every host inactive: no host serves anything.
		"nobody": string(hand) + "\nUPDATE site SET admin_active = false;",
	} {
		t.Run(name, func(t *testing.T) {
			cfg := database(t, srv, name, sql)
			code, stdout, stderr := command("-c", cfg, "-o", target)
			if code != exitFail || !strings.Contains(stderr, "refusing to write an empty snapshot") || !strings.Contains(stderr, target+" left as it was") {
				t.Errorf("exit %d\n%s%s", code, stdout, stderr)
			}
			after, err := os.ReadFile(target)
			if err != nil || !bytes.Equal(after, before) {
				t.Errorf("the target changed (%v)", err)
			}
		})
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestGenerateErrors(t *testing.T) {
	srv := pgtest.Start(t)
	cfg := database(t, srv, "hand", "")
	dir := t.TempDir()
	code, _, stderr := command("-c", filepath.Join(dir, "missing.cfg"), "-o", filepath.Join(dir, "out.proto"))
	if code != exitFail || !strings.Contains(stderr, "missing.cfg") {
		t.Errorf("missing config: exit %d\n%s", code, stderr)
	}
	badDir := filepath.Join(dir, "no-such-dir", "out.proto")
	code, _, stderr = command("-c", cfg, "-o", badDir)
	if code != exitFail || !strings.Contains(stderr, "no-such-dir") {
		t.Errorf("unwritable target: exit %d\n%s", code, stderr)
	}
	bad := filepath.Join(dir, "bad.cfg")
	if err := os.WriteFile(bad, []byte("DB_URL=postgres:///nodb?host="+dir+"&port=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = command("-c", bad, "-o", filepath.Join(dir, "out.proto"))
	if code != exitFail || !strings.Contains(stderr, "connecting to the database") {
		t.Errorf("unreachable database: exit %d\n%s", code, stderr)
	}
}

func readSnapshot(t *testing.T, path string) *pb.MirrorList {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m pb.MirrorList
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}
