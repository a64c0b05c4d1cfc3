package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mirrorlist-go/mirrorlist-server/cmd/mirrorlist-server/memlimit"
	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

func TestParseFlagsDefaults(t *testing.T) {
	o, _, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := options{
		listen:  "127.0.0.1",
		port:    3000,
		minimum: 5,
		paths: snapshot.Paths{
			Cache:      "/var/lib/mirrormanager/mirrorlist_cache.proto",
			Routes:     "/var/lib/mirrormanager/global_netblocks.txt",
			Continents: "/var/lib/mirrormanager/country_continent.csv",
			GeoIP:      "/usr/share/GeoIP/GeoLite2-Country.mmdb",
		},
		logPath:         "/var/log/mirrormanager/mirrorlist.log",
		logLevel:        "info",
		logFormat:       "json",
		shutdownTimeout: 10 * time.Second,
		reloadSettle:    2 * time.Second,
		maxQueryBytes:   8192,
		limits: httpLimits{
			readHeaderTimeout: 5 * time.Second,
			readTimeout:       10 * time.Second,
			writeTimeout:      30 * time.Second,
			idleTimeout:       2 * time.Minute,
			maxHeaderBytes:    16384,
		},
		memoryLimit: memoryLimit{raw: "auto", mode: memlimit.Auto},
	}
	if !reflect.DeepEqual(*o, want) {
		t.Errorf("defaults\n got %+v\nwant %+v", *o, want)
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		check func(*options) bool
	}{
		{"listen and port", []string{"--listen", "::1", "--port", "8080"},
			func(o *options) bool { return o.listen == "::1" && o.port == 8080 }},
		{"shorthands", []string{"-m", "7", "-c", "c.proto", "-g", "nb.txt", "-l", "a.log", "-i", "i2.txt"},
			func(o *options) bool {
				return o.minimum == 7 && o.paths.Cache == "c.proto" && o.paths.Routes == "nb.txt" && o.logPath == "a.log" && o.logPathSet
			}},
		{"long names", []string{"--minimum=3", "--cache=c", "--global_netblocks=g", "--cccsv=cc.csv", "--geoip=g.mmdb", "--log=l", "--internet2_netblocks=x"},
			func(o *options) bool {
				return o.minimum == 3 && o.paths.Cache == "c" && o.paths.Routes == "g" &&
					o.paths.Continents == "cc.csv" && o.paths.GeoIP == "g.mmdb" && o.logPath == "l"
			}},
		{"help", []string{"--help"}, func(o *options) bool { return o.help }},
		{"h", []string{"-h"}, func(o *options) bool { return o.help }},
		{"demo", []string{"--demo"}, func(o *options) bool { return o.demo && !o.logPathSet }},
		{"logging", []string{"--log-level", "debug", "--log-format", "console"},
			func(o *options) bool { return o.logLevel == "debug" && o.logFormat == "console" }},
		{"empty log", []string{"--log="}, func(o *options) bool { return o.logPath == "" && o.logPathSet }},
		{"shutdown timeout", []string{"--shutdown-timeout", "2s"}, func(o *options) bool { return o.shutdownTimeout == 2*time.Second }},
		{"admin", []string{"--admin-listen", "127.0.0.1:9090"}, func(o *options) bool { return o.adminListen == "127.0.0.1:9090" }},
		{"profiling", []string{"--admin-listen", "127.0.0.1:9090", "--admin-pprof"}, func(o *options) bool { return o.adminPprof }},
		{"reload", []string{"--reload-settle", "500ms", "--allow-shrink"},
			func(o *options) bool { return o.reloadSettle == 500*time.Millisecond && o.allowShrink }},
		{"trusted proxies", []string{"--trusted-proxies", "10.0.0.0/8,192.0.2.1", "--trusted-proxies", "2001:db8::/32"},
			func(o *options) bool {
				return reflect.DeepEqual(o.trustedProxies, []netip.Prefix{
					netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("2001:db8::/32")})
			}},
		{"no trusted proxies", []string{"--trusted-proxies="}, func(o *options) bool { return o.trustedProxies != nil && len(o.trustedProxies) == 0 }},
		{"trust all by default", nil, func(o *options) bool { return o.trustedProxies == nil }},
		{"limits", []string{"--read-header-timeout=1s", "--read-timeout=2s", "--write-timeout=3s", "--idle-timeout=4s", "--max-header-bytes=5000", "--max-query-bytes=0"},
			func(o *options) bool {
				return o.limits == httpLimits{time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second, 5000} && o.maxQueryBytes == 0
			}},
		{"probe", []string{"--probe", "http://127.0.0.1:3000/readyz"}, func(o *options) bool { return o.probe == "http://127.0.0.1:3000/readyz" }},
		{"memory limit", []string{"--memory-limit", "300MiB"}, func(o *options) bool {
			return o.memoryLimit.mode == memlimit.Fixed && o.memoryLimit.bytes == 300<<20
		}},
		{"no memory limit", []string{"--memory-limit=off"}, func(o *options) bool { return o.memoryLimit.mode == memlimit.Off }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, _, err := parseFlags(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(o) {
				t.Errorf("parseFlags(%q) = %+v", tt.args, *o)
			}
		})
	}
}

func TestParseFlagsErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string // in the error
	}{
		{[]string{"--port", "70000"}, "--port"},
		{[]string{"--port", "http"}, "--port"},
		{[]string{"-m", "many"}, "minimum"},
		{[]string{"--no-such-flag"}, "no-such-flag"},
		{[]string{"--log-level", "trace"}, "--log-level"},
		{[]string{"--log-format", "xml"}, "--log-format"},
		{[]string{"--shutdown-timeout", "-1s"}, "--shutdown-timeout"},
		{[]string{"--memory-limit", "lots"}, "--memory-limit"},
		{[]string{"--admin-listen", "9090"}, "--admin-listen"},
		{[]string{"--admin-pprof"}, "--admin-pprof needs --admin-listen"},
		{[]string{"--reload-settle", "0s"}, "--reload-settle"},
		{[]string{"--trusted-proxies", "10.0.0.0/8,proxy.example.org"}, "proxy.example.org"},
		{[]string{"--trusted-proxies", "10.0.0.0/40"}, "--trusted-proxies"},
		{[]string{"--read-timeout", "-1s"}, "--read-timeout"},
		{[]string{"--write-timeout", "-1s"}, "--write-timeout"},
		{[]string{"--idle-timeout", "-1s"}, "--idle-timeout"},
		{[]string{"--read-header-timeout", "-1s"}, "--read-header-timeout"},
		{[]string{"--max-header-bytes", "0"}, "--max-header-bytes"},
		{[]string{"--max-query-bytes", "-1"}, "--max-query-bytes"},
		{[]string{"stray"}, "stray"},
	}
	for _, tt := range tests {
		_, _, err := parseFlags(tt.args)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseFlags(%q) error %v, want one mentioning %q", tt.args, err, tt.want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runArgs runs the command with args until it returns, which start-up
// failures do at once.
func runArgs(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code = runWith(ctx, args, env{stdout: &out, stderr: &errOut, ready: func(net.Addr, net.Addr) { cancel() }})
	return code, out.String(), errOut.String()
}

func TestRunHelp(t *testing.T) {
	code, stdout, _ := runArgs(t, "--help")
	if code != exitOK || !strings.Contains(stdout, "--global_netblocks") || !strings.Contains(stdout, "-m, --minimum") {
		t.Errorf("--help: exit %d, stdout:\n%s", code, stdout)
	}
}

func TestRunUsageError(t *testing.T) {
	code, _, stderr := runArgs(t, "--bogus")
	if code != exitUsage || !strings.Contains(stderr, "bogus") || !strings.Contains(stderr, "Usage:") {
		t.Errorf("--bogus: exit %d, stderr:\n%s", code, stderr)
	}
}

// inputDir writes the tiny fixture set into a temporary directory and
// returns the flags that point at it.
func inputDir(t *testing.T) (dir string, args []string) {
	t.Helper()
	dir = t.TempDir()
	set, err := fixtures.Generate(fixtures.Config{Scale: fixtures.ScaleTiny})
	if err != nil {
		t.Fatal(err)
	}
	if err := set.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	return dir, []string{
		"-c", filepath.Join(dir, fixtures.CacheFile),
		"--geoip", filepath.Join(dir, fixtures.GeoIPFile),
		"-g", filepath.Join(dir, fixtures.RoutesFile),
		"--cccsv", filepath.Join(dir, fixtures.ContinentsFile),
		"-l", filepath.Join(dir, "access.log"),
		"--port", "0",
	}
}

func TestRunMissingInput(t *testing.T) {
	for _, name := range []string{fixtures.CacheFile, fixtures.GeoIPFile, fixtures.RoutesFile, fixtures.ContinentsFile} {
		t.Run(name, func(t *testing.T) {
			dir, args := inputDir(t)
			missing := filepath.Join(dir, name)
			if err := os.Remove(missing); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := runArgs(t, args...)
			if code != exitFail || !strings.Contains(stderr, missing) {
				t.Errorf("exit %d, stderr does not name %s:\n%s", code, missing, stderr)
			}
		})
	}
}

func TestRunBadInput(t *testing.T) {
	for _, name := range []string{fixtures.CacheFile, fixtures.GeoIPFile, fixtures.RoutesFile, fixtures.ContinentsFile} {
		t.Run(name, func(t *testing.T) {
			dir, args := inputDir(t)
			bad := filepath.Join(dir, name)
			if err := os.WriteFile(bad, []byte("\xff\xfe garbage, not this kind of file\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := runArgs(t, args...)
			if code != exitFail || !strings.Contains(stderr, bad) {
				t.Errorf("exit %d, stderr does not name %s:\n%s", code, bad, stderr)
			}
		})
	}
}

func TestRunUnwritableAccessLog(t *testing.T) {
	dir, args := inputDir(t)
	logPath := filepath.Join(dir, "no-such-dir", "access.log")
	code, _, stderr := runArgs(t, append(args, "-l", logPath)...)
	if code != exitFail || !strings.Contains(stderr, logPath) {
		t.Errorf("exit %d, stderr does not name %s:\n%s", code, logPath, stderr)
	}
}

func TestRunListenError(t *testing.T) {
	_, args := inputDir(t)
	code, _, stderr := runArgs(t, append(args, "--listen", "192.0.2.1.5")...)
	if code != exitFail || !strings.Contains(stderr, "listen") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
}

// TestRunServes starts the server on a loopback port, asks it for a
// mirrorlist, sends it a SIGHUP (reopening the access log after a
// rotation) and shuts it down.
func TestRunServes(t *testing.T) {
	dir, args := inputDir(t)
	logPath := filepath.Join(dir, "access.log")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hup := make(chan os.Signal)
	addrc := make(chan net.Addr, 1)
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runWith(ctx, append(args, "--log-level", "debug"), env{
			stdout: &stdout, stderr: &stderr, hup: hup,
			ready: func(a, _ net.Addr) { addrc <- a },
		})
	}()
	var base string
	select {
	case a := <-addrc:
		base = "http://" + a.String()
	case code := <-done:
		t.Fatalf("run returned %d before serving:\n%s", code, stderr.String())
	}
	get(t, base+"/mirrorlist?repo=fedora-41&arch=x86_64")
	if err := os.Rename(logPath, logPath+".1"); err != nil {
		t.Fatal(err)
	}
	hup <- os.Interrupt // any value: the channel stands for SIGHUP
	// The reopen creates a new file at the path; wait for it so that the
	// next line goes there.
	for i := 0; i < 1000; i++ {
		if _, err := os.Stat(logPath); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	get(t, base+"/mirrorlist?repo=fedora-41&arch=x86_64&after=hup")
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
	logs := stderr.String()
	for _, want := range []string{"mirrorlist-server started", `"directories"`, "SIGHUP", `"msg":"request"`, "server stopped", "snapshot reloaded"} {
		if !strings.Contains(logs, want) {
			t.Errorf("server log lacks %s:\n%s", want, logs)
		}
	}
	for _, path := range []string{logPath + ".1", logPath} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(b), "\n"); n != 1 || !strings.HasPrefix(string(b), "IP: 127.0.0.1; DATE: ") {
			t.Errorf("%s: want one access-log line, have:\n%s", path, b)
		}
	}
}

// get fetches url and returns its body, failing the test unless the
// status is 200.
func get(t *testing.T, url string) string {
	t.Helper()
	code, body := fetch(t, http.MethodGet, url, nil)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", url, code, body)
	}
	return body
}

func TestRunDemo(t *testing.T) {
	code, stdout, stderr := runArgs(t, "--demo", "--port", "0", "--log-format", "console")
	if code != exitOK {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "curl 'http://127.0.0.1:") || !strings.Contains(stdout, "/metalink?repo=") {
		t.Errorf("the demo prints no examples:\n%s", stdout)
	}
	if !strings.Contains(stderr, "demo") {
		t.Errorf("the start-up line does not say demo:\n%s", stderr)
	}
}

func TestDialable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"127.0.0.1:3000", "127.0.0.1:3000"},
		{"0.0.0.0:3000", "127.0.0.1:3000"},
		{"[::]:80", "[::1]:80"},
		{"[2001:db8::1]:80", "[2001:db8::1]:80"},
	}
	for _, tt := range tests {
		addr, err := net.ResolveTCPAddr("tcp", tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := dialable(addr); got != tt.want {
			t.Errorf("dialable(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestDemoRepo(t *testing.T) {
	tests := []struct {
		keys       []string
		repo, arch string
	}{
		{nil, "", ""},
		{[]string{"a+source", "b+x86_64"}, "b", "x86_64"},
		{[]string{"a+source"}, "a", "source"},
		{[]string{"c++lib+x86_64"}, "c++lib", "x86_64"},
		{[]string{"broken", "+x86_64", "x+"}, "", ""},
	}
	for _, tt := range tests {
		if repo, arch := demoRepo(tt.keys); repo != tt.repo || arch != tt.arch {
			t.Errorf("demoRepo(%q) = %q, %q; want %q, %q", tt.keys, repo, arch, tt.repo, tt.arch)
		}
	}
}
