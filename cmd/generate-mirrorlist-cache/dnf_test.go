package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mirrorlist-go/mirrorlist-server/cmd/generate-mirrorlist-cache/mm2db"
	"github.com/mirrorlist-go/mirrorlist-server/cmd/generate-mirrorlist-cache/pgtest"
	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
)

// The end-to-end test: MirrorManager2's database → this generator → the
// directory a running mirrorlist-server watches → the server's metalink →
// Debian's dnf (librepo) fetching a real createrepo_c repository from two
// loopback mirrors.
//
// Mirror "stale" serves an older build of the repository and is listed
// first (a host netblock holds 127.0.0.1); mirror "fresh" serves the
// current one. dnf must reject stale's repomd.xml by the metalink's hash
// and take fresh's. Then fresh drops out of the database (not up to date):
// with stale alone dnf must fail, until the older repomd.xml is listed as
// an mm0:alternate, which dnf then accepts from stale.

const (
	e2eRepo = "mltest-1"
	e2eArch = "x86_64"
	e2eTop  = "pub/mltest"
	e2eDir  = e2eTop + "/x86_64/os"
)

// e2eTools are the programs the test runs, and the Debian packages that
// bring them.
var e2eTools = map[string]string{
	"dnf": "dnf python3-librepo", "createrepo_c": "createrepo-c", "rpmbuild": "rpm", "go": "golang",
}

func TestDNFEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: builds the server and runs dnf")
	}
	for tool, pkg := range e2eTools {
		if _, err := exec.LookPath(tool); err != nil {
			pgtest.SkipOrFail(t, "%s not found: apt-get install %s", tool, pkg)
		}
	}
	srv := pgtest.Start(t)
	work := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	// Two builds of one repository: the old one lacks mlworld.
	rpms := buildRPMs(t, filepath.Join(work, "rpmbuild"), "mlhello", "mlworld")
	stale := newMirror(t, filepath.Join(work, "stale"), rpms[:1])
	fresh := newMirror(t, filepath.Join(work, "fresh"), rpms)
	if stale.repomd.sha256 == fresh.repomd.sha256 {
		t.Fatal("the two builds have the same repomd.xml")
	}

	// The database: both mirrors up to date, no repository yet.
	url, conn := srv.Database(t, "e2e", mm2db.Schema)
	dbExec := func(sql string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	dbExec(e2eSchemaRows)
	dbExec(`INSERT INTO host_category_url (host_category_id, url) VALUES (1, $1), (2, $2)`, stale.url+"/"+e2eTop, fresh.url+"/"+e2eTop)
	cfg := filepath.Join(work, "generate-mirrorlist-cache.cfg")
	if err := os.WriteFile(cfg, []byte("DB_URL="+url+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// The server's inputs: the tiny set's GeoIP database, routes and
	// continents (127.0.0.1 is in none), and the generated snapshot.
	data := filepath.Join(work, "mirrormanager")
	set, err := fixtures.Generate(fixtures.Config{Scale: fixtures.ScaleTiny})
	if err != nil {
		t.Fatal(err)
	}
	if err := set.WriteDir(data); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(data, fixtures.CacheFile)
	generateInto := func() {
		t.Helper()
		if code, stdout, stderr := command("-c", cfg, "-o", cache); code != exitOK {
			t.Fatalf("generate-mirrorlist-cache: exit %d\n%s%s", code, stdout, stderr)
		}
	}
	generateInto()
	server := startServer(ctx, t, work, data)
	metalink := server.base + "/metalink?repo=" + e2eRepo + "&arch=" + e2eArch
	if code, _ := httpGet(t, metalink); code != http.StatusNotFound {
		t.Fatalf("metalink before the repository exists: status %d, want 404", code)
	}

	dnf := &dnfRunner{work: work, metalink: metalink}

	t.Run("stale repomd rejected by hash", func(t *testing.T) {
		dbExec(`INSERT INTO repository (id, name, prefix, category_id, version_id, arch_id, directory_id)
			VALUES (1, 'mltest 1 x86_64', $1, 1, 1, 1, 3)`, e2eRepo)
		dbExec(fileDetailSQL, 1, fresh.repomd.timestamp, fresh.repomd.size, fresh.repomd.sha256)
		generateInto()
		server.waitFor(t, metalink, fresh.repomd.sha256)
		stale.reset()
		fresh.reset()
		out, err := dnf.list(ctx, t)
		if err != nil {
			t.Fatalf("dnf failed: %v\n%s", err, out)
		}
		if have := packages(out); !slices.Equal(have, []string{"mlhello", "mlworld"}) {
			t.Errorf("dnf listed %v, want mlhello and mlworld:\n%s", have, out)
		}
		if !stale.served("repodata/repomd.xml") {
			t.Errorf("dnf never tried the stale mirror, listed first: %v", stale.paths())
		}
		// librepo asks every mirror for the fresh build's files, which
		// the stale mirror does not have: it must have served none.
		if stale.served("primary") {
			t.Errorf("dnf used the stale mirror's metadata: %v", stale.paths())
		}
		if !fresh.served("repodata/repomd.xml") || !fresh.served("primary") {
			t.Errorf("dnf did not fetch the fresh mirror's metadata: %v", fresh.paths())
		}
	})

	t.Run("stale alone refused", func(t *testing.T) {
		dbExec(`UPDATE host_category_dir SET up2date = false WHERE host_category_id = 2`)
		generateInto()
		server.waitFor(t, metalink, "!"+fresh.url)
		stale.reset()
		out, err := dnf.list(ctx, t)
		if err == nil {
			t.Fatalf("dnf accepted the stale repository:\n%s", out)
		}
		mismatch := "checksum doesn't match. Calculated: " + stale.repomd.sha256 + "(sha256)  Expected: " + fresh.repomd.sha256
		if !strings.Contains(out, mismatch) {
			t.Errorf("dnf failed, but not on the metalink's hash (want %q):\n%s", mismatch, out)
		}
		if !stale.served("repodata/repomd.xml") || stale.served("primary") {
			t.Errorf("the stale mirror served %v; want repomd.xml only", stale.paths())
		}
	})

	t.Run("stale accepted as an alternate", func(t *testing.T) {
		dbExec(fileDetailSQL, 2, stale.repomd.timestamp-3600, stale.repomd.size, stale.repomd.sha256)
		generateInto()
		server.waitFor(t, metalink, "<mm0:alternates>")
		stale.reset()
		out, err := dnf.list(ctx, t)
		if err != nil {
			t.Fatalf("dnf failed: %v\n%s", err, out)
		}
		if have := packages(out); !slices.Equal(have, []string{"mlhello"}) {
			t.Errorf("dnf listed %v, want the old build's mlhello:\n%s", have, out)
		}
		if !stale.served("primary") {
			t.Errorf("dnf did not use the stale mirror: %v", stale.paths())
		}
	})

	server.stop(t)
	if n := strings.Count(server.log(), `"msg":"snapshot reloaded"`); n < 3 {
		t.Errorf("server log has %d reloads, want 3 (one per generation):\n%s", n, server.log())
	}
}

// e2eSchemaRows are the database rows before the repository exists: a
// category with its directories, and two public hosts carrying all of it
// (their URLs follow, with the mirrors' ports). The stale one has a host netblock holding 127.0.0.1, so the server
// lists it first to a dnf on this machine.
const e2eSchemaRows = `
INSERT INTO site (id, name) VALUES (1, 'e2e');
INSERT INTO host (id, name, site_id, country, bandwidth_int) VALUES
	(1, 'stale.mirror', 1, 'US', 100), (2, 'fresh.mirror', 1, 'US', 100);
INSERT INTO host_netblock (host_id, netblock) VALUES (1, '127.0.0.1');
INSERT INTO directory (id, name) VALUES
	(1, 'pub/mltest'), (2, 'pub/mltest/x86_64'), (3, 'pub/mltest/x86_64/os'), (4, 'pub/mltest/x86_64/os/repodata');
INSERT INTO category (id, name, topdir_id) VALUES (1, 'mltest', 1);
INSERT INTO category_directory (category_id, directory_id) VALUES (1, 1), (1, 2), (1, 3), (1, 4);
INSERT INTO host_category (id, host_id, category_id) VALUES (1, 1, 1), (2, 2, 1);
INSERT INTO host_category_dir (host_category_id, directory_id, path)
	SELECT hc.id, d.id, d.name FROM host_category hc CROSS JOIN directory d;
INSERT INTO arch (id, name) VALUES (1, 'x86_64');
INSERT INTO version (id, name) VALUES (1, '1');`

// fileDetailSQL adds a repomd.xml version to the repository's repodata.
const fileDetailSQL = `INSERT INTO file_detail (id, directory_id, filename, timestamp, size, sha256)
	VALUES ($1, 4, 'repomd.xml', $2, $3, $4)`

// buildRPMs builds one small noarch package per name with rpmbuild and
// returns their paths.
func buildRPMs(t *testing.T, top string, names ...string) []string {
	t.Helper()
	var out []string
	for _, name := range names {
		spec := filepath.Join(top, name+".spec")
		if err := os.MkdirAll(top, 0o755); err != nil {
			t.Fatal(err)
		}
		text := fmt.Sprintf(`Name: %[1]s
Version: 1.0
Release: 1
Summary: mirrorlist end-to-end test package
License: MIT
BuildArch: noarch

%%description
A package for the mirrorlist end-to-end test.

%%install
mkdir -p %%{buildroot}/usr/share/%[1]s
echo %[1]s > %%{buildroot}/usr/share/%[1]s/%[1]s.txt

%%files
/usr/share/%[1]s/%[1]s.txt
`, name)
		if err := os.WriteFile(spec, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		runTool(t, "rpmbuild", "-bb", "--define", "_topdir "+top, "--define", "_build_id_links none", spec)
		out = append(out, filepath.Join(top, "RPMS", "noarch", name+"-1.0-1.noarch.rpm"))
	}
	return out
}

func runTool(t *testing.T, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// repomdFile is what the metalink says about a repomd.xml.
type repomdFile struct {
	timestamp, size int64
	sha256          string
}

// A mirror is a loopback HTTP file server over one build of the
// repository, recording the paths it is asked for.
type mirror struct {
	url    string
	repomd repomdFile

	mu   sync.Mutex
	seen []string // paths answered 200
}

// newMirror lays out root/pub/mltest/x86_64/os with the packages, runs
// createrepo_c on it and serves root.
func newMirror(t *testing.T, root string, rpms []string) *mirror {
	t.Helper()
	repo := filepath.Join(root, e2eDir)
	if err := os.MkdirAll(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range rpms {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, filepath.Base(p)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runTool(t, "createrepo_c", "--quiet", "--no-database", repo)
	b, err := os.ReadFile(filepath.Join(repo, "repodata", "repomd.xml"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(repo, "repodata", "repomd.xml"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	m := &mirror{repomd: repomdFile{timestamp: info.ModTime().Unix(), size: int64(len(b)), sha256: hex.EncodeToString(sum[:])}}
	files := http.FileServer(http.Dir(root))
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		files.ServeHTTP(rec, r)
		if rec.status == http.StatusOK {
			m.mu.Lock()
			m.seen = append(m.seen, r.URL.Path)
			m.mu.Unlock()
		}
	}))
	t.Cleanup(s.Close)
	m.url = s.URL
	return m
}

func (m *mirror) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seen = nil
}

func (m *mirror) paths() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.seen)
}

// statusRecorder notes the status a handler answered with.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// served reports whether a path containing part was answered 200.
func (m *mirror) served(part string) bool {
	return slices.ContainsFunc(m.paths(), func(p string) bool { return strings.Contains(p, part) })
}

// runningServer is the mirrorlist-server binary, started once for the
// whole test.
type runningServer struct {
	cmd    *exec.Cmd
	base   string
	stderr *lockedBuffer
	done   chan error
}

// startServer builds cmd/mirrorlist-server and starts it on a loopback
// port over the inputs in data.
func startServer(ctx context.Context, t *testing.T, work, data string) *runningServer {
	t.Helper()
	bin := filepath.Join(work, "mirrorlist-server")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/mirrorlist-go/mirrorlist-server/cmd/mirrorlist-server")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building mirrorlist-server: %v\n%s", err, out)
	}
	s := &runningServer{stderr: new(lockedBuffer), done: make(chan error, 1)}
	s.cmd = exec.CommandContext(ctx, bin,
		"--listen", "127.0.0.1", "--port", "0",
		"-c", filepath.Join(data, fixtures.CacheFile),
		"--geoip", filepath.Join(data, fixtures.GeoIPFile),
		"-g", filepath.Join(data, fixtures.RoutesFile),
		"--cccsv", filepath.Join(data, fixtures.ContinentsFile),
		"-l", filepath.Join(data, "mirrorlist.log"),
		"--reload-settle", "200ms",
		// The second step drops one of two hosts, which the shrink guard
		// would hold back as a likely accident.
		"--allow-shrink",
	)
	s.cmd.Stdout = io.Discard
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() { s.stop(t) })
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if addr := startedAddress(s.stderr.String()); addr != "" {
			s.base = "http://" + addr
			return s
		}
		select {
		case err := <-s.done:
			t.Fatalf("mirrorlist-server exited: %v\n%s", err, s.stderr)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("mirrorlist-server did not start:\n%s", s.stderr)
	return nil
}

// startedAddress finds the listen address in the server's start-up line.
func startedAddress(log string) string {
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		var line struct {
			Msg    string `json:"msg"`
			Listen string `json:"listen"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "mirrorlist-server started" {
			return line.Listen
		}
	}
	return ""
}

// waitFor polls url until its body contains want (or, for "!x", lacks x):
// the server has reloaded the new snapshot.
func (s *runningServer) waitFor(t *testing.T, url, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var body string
	for time.Now().Before(deadline) {
		_, body = httpGet(t, url)
		if lack, ok := strings.CutPrefix(want, "!"); ok && !strings.Contains(body, lack) || !ok && strings.Contains(body, want) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the server did not pick up the new snapshot (waiting for %q):\n%s\nserver log:\n%s", want, body, s.stderr)
}

func (s *runningServer) stop(t *testing.T) {
	if s.cmd.ProcessState != nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		t.Errorf("mirrorlist-server did not stop on SIGINT")
	}
}

func (s *runningServer) log() string { return s.stderr.String() }

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// lockedBuffer is a buffer written by a process's output copier and read
// by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// dnfRunner runs Debian's dnf against the metalink, each time in a fresh
// install root with a fresh cache, configured only by files of its own.
type dnfRunner struct {
	work     string
	metalink string
	runs     int
}

// list runs "dnf list --available" over the test repository alone.
func (d *dnfRunner) list(ctx context.Context, t *testing.T) (string, error) {
	t.Helper()
	d.runs++
	dir := filepath.Join(d.work, fmt.Sprintf("dnf-%d", d.runs))
	repos := filepath.Join(dir, "repos.d")
	for _, p := range []string{repos, filepath.Join(dir, "root"), filepath.Join(dir, "cache")} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(dir, "dnf.conf")
	mainConf := fmt.Sprintf("[main]\nreposdir=%s\ncachedir=%s\nkeepcache=0\ngpgcheck=0\nmetadata_expire=0\nretries=1\ntimeout=10\n", repos, filepath.Join(dir, "cache"))
	repo := fmt.Sprintf("[mltest]\nname=mirrorlist end-to-end test\nmetalink=%s\nenabled=1\ngpgcheck=0\nrepo_gpgcheck=0\nskip_if_unavailable=False\n", d.metalink)
	if err := os.WriteFile(conf, []byte(mainConf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repos, "mltest.repo"), []byte(repo), 0o644); err != nil {
		t.Fatal(err)
	}
	run, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(run, "dnf", "--config", conf, "--installroot", filepath.Join(dir, "root"),
		"--releasever", "1", "--noplugins", "--disablerepo", "*", "--enablerepo", "mltest",
		"--setopt", "reposdir="+repos, "-y", "list", "--available")
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "LANG=C.UTF-8")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// packages returns the package names dnf list printed for the test
// repository, sorted.
func packages(out string) []string {
	var names []string
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) == 3 && f[2] == "mltest" {
			name, _, _ := strings.Cut(f[0], ".")
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}
