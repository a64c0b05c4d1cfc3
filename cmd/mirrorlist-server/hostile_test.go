package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
)

// The tests of this file send hostile requests, byte for byte, to the
// command's own server (runWith, as main runs it) on a loopback port, with
// short timeouts. Every request must get a clear 4xx or the protocol's
// answer, or its connection closed, within the timeouts; no test waits
// longer than patience for anything.

// patience bounds every wait of these tests.
const patience = 5 * time.Second

// readHeaderTimeout is the read-header timeout of the hostile tests'
// servers.
const readHeaderTimeout = 200 * time.Millisecond

// shortTimeouts are the HTTP timeouts of the hostile tests' servers.
var shortTimeouts = []string{
	"--read-header-timeout", readHeaderTimeout.String(), "--read-timeout", "500ms",
	"--write-timeout", "2s", "--idle-timeout", "1s",
}

// hostileServer starts the command over the tiny set with shortTimeouts
// and the extra flags, and returns it with its main address.
func hostileServer(t *testing.T, extra ...string) (*running, string) {
	t.Helper()
	_, args := inputDir(t)
	r := startServer(t, append(append(args, shortTimeouts...), extra...)...)
	return r, strings.TrimPrefix(r.base, "http://")
}

// rawGET is a GET request for target with the given header lines, which
// asks the server to close the connection after answering.
func rawGET(target string, headers ...string) string {
	var b strings.Builder
	b.WriteString("GET " + target + " HTTP/1.1\r\nHost: mirrors.example\r\n")
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	return b.String()
}

// exchange sends raw on a new connection and reads one response. The
// request is written concurrently, so that a server that answers before it
// has read everything (431) is not blocked by the client.
func exchange(t *testing.T, addr, raw string) (code int, body string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, patience)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(patience)); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.WriteString(conn, raw) }() // fails once the server closes: fine
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	return resp.StatusCode, string(b)
}

// hostileCase is one request and what its answer must be: the status, and
// a string the body must contain ("" checks nothing).
type hostileCase struct {
	name string
	raw  string
	code int
	body string
}

func runHostile(t *testing.T, addr string, cases []hostileCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := exchange(t, addr, tc.raw)
			if code != tc.code || !strings.Contains(body, tc.body) {
				t.Errorf("%d %.300q, want %d with %q", code, body, tc.code, tc.body)
			}
			if !utf8.ValidString(body) && strings.Contains(body, "<?xml") {
				t.Errorf("XML answer is not UTF-8: %q", body)
			}
		})
	}
}

const (
	fedora41   = "repo=fedora-41&arch=x86_64"
	repoHeader = "# repo = fedora-41 arch = x86_64 "
	pathError  = "error: invalid path"
	// deHeader is the whole header line of an answer to fedora41 for a
	// client at fixtures.TinyAddrDE.
	deHeader = repoHeader + "country = DE country = FR country = global \n"
)

// TestHostileSizes sends requests at and far beyond the limits of the
// default configuration: the query cap (8 KB, 414) and the header limit
// (16 KB plus net/http's slack, 431).
func TestHostileSizes(t *testing.T) {
	_, addr := hostileServer(t)
	xff := func(n int) string {
		return "X-Forwarded-For: " + strings.Repeat("10.0.0.1, ", n) + fixtures.TinyAddrDE
	}
	var flood []string
	for i := range 5000 {
		flood = append(flood, "X-Flood-"+strconv.Itoa(i)+": 1")
	}
	runHostile(t, addr, []hostileCase{
		{"query of 1 MB", rawGET("/metalink?" + fedora41 + "&pad=" + strings.Repeat("a", 1<<20)), 431, ""},
		{"query of 10 KB", rawGET("/metalink?" + fedora41 + "&pad=" + strings.Repeat("a", 10<<10)), 414, "Request-URI too long"},
		{"10,000 empty parameters", rawGET("/mirrorlist?" + strings.Repeat("&", 10_000) + fedora41), 414, "Request-URI too long"},
		{"X-Forwarded-For of 1,000 elements", rawGET("/mirrorlist?"+fedora41, xff(1000)), 200, deHeader},
		{"X-Forwarded-For of 10,000 elements", rawGET("/mirrorlist?"+fedora41, xff(10_000)), 431, ""},
		{"5,000 headers", rawGET("/mirrorlist?"+fedora41, flood...), 431, ""},
		{"a header of 1 MB", rawGET("/mirrorlist?"+fedora41, "X-Pad: "+strings.Repeat("p", 1<<20)), 431, ""},
	})
}

// TestHostileSizesUncapped checks that the server handles what the limits
// let through when an operator raises them: 10,000 parameters and an
// X-Forwarded-For of 10,000 elements are answered, and right.
func TestHostileSizesUncapped(t *testing.T) {
	_, addr := hostileServer(t, "--max-query-bytes", "0", "--max-header-bytes", strconv.Itoa(1<<20))
	runHostile(t, addr, []hostileCase{
		{"10,000 parameters", rawGET("/mirrorlist?" + strings.Repeat("countme=1&", 10_000) + fedora41 + "&ip=" + fixtures.TinyAddrDE), 200, deHeader},
		{"10,000 repeats of repo=", rawGET("/mirrorlist?" + strings.Repeat("repo=nope&", 10_000) + fedora41 + "&ip=" + fixtures.TinyAddrDE), 200, repoHeader},
		{"X-Forwarded-For of 10,000 elements", rawGET("/mirrorlist?"+fedora41, "X-Forwarded-For: "+strings.Repeat("10.0.0.1,", 10_000)+fixtures.TinyAddrDE), 200, deHeader},
		{"1,000 X-Forwarded-For lines", rawGET("/mirrorlist?"+fedora41, append(repeat("X-Forwarded-For: 10.0.0.1", 1000), "X-Forwarded-For: "+fixtures.TinyAddrDE)...), 200, deHeader},
	})
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestHostileBytes sends malformed escapes, control bytes and bytes that
// are not UTF-8, raw and percent-encoded.
func TestHostileBytes(t *testing.T) {
	_, addr := hostileServer(t)
	ip := "&ip=" + fixtures.TinyAddrDE
	badEscape := "invalid percent-encoding in the value of "
	runHostile(t, addr, []hostileCase{
		{"%zz in repo", rawGET("/mirrorlist?repo=%zz&arch=x86_64" + ip), 400, badEscape + "repo="},
		{"lone % in arch", rawGET("/mirrorlist?repo=fedora-41&arch=%" + ip), 400, badEscape + "arch="},
		{"%G0 in path, metalink", rawGET("/metalink?path=%G0" + ip), 400, badEscape + "path="},
		{"%% in protocol", rawGET("/mirrorlist?" + fedora41 + "&protocol=%%" + ip), 400, badEscape + "protocol="},
		{"bad escape in an ignored key", rawGET("/mirrorlist?" + fedora41 + "&countme=%zz" + ip), 200, repoHeader},
		{"%00 in repo", rawGET("/mirrorlist?repo=fedora%00-41&arch=x86_64" + ip), 400, "%00 is a control character"},
		{"%0A in protocol", rawGET("/mirrorlist?" + fedora41 + "&protocol=https%0Ahttp://evil.example/" + ip), 400, "%0A is a control character"},
		{"%0D%0A in path, metalink", rawGET("/metalink?path=" + fixtures.TinyDirOS + "%0D%0AX:%20y" + ip), 400, "%0D is a control character"},
		{"raw NUL in the target", rawGET("/mirrorlist?repo=fedora\x00-41&arch=x86_64"), 400, ""},
		{"raw DEL in the target", rawGET("/mirrorlist?repo=fedora\x7f-41&arch=x86_64"), 400, ""},
		{"raw control byte in a header", rawGET("/mirrorlist?"+fedora41, "X-Forwarded-For: 80.1.2.3\x01"), 400, ""},
		{"raw NUL in a header name", rawGET("/mirrorlist?"+fedora41, "X-Bad\x00Name: 1"), 400, ""},
		{"raw bytes not UTF-8 in repo", rawGET("/mirrorlist?repo=\xff\xfe&arch=x86_64" + ip), 404, "error: invalid repo or arch"},
		{"%ff in a metalink file name", rawGET("/metalink?path=" + fixtures.TinyDirOSRepodata + "/%ff" + ip), 404, "\uFFFD not found or has not metalink"},
		{"%ff in metalink repo", rawGET("/metalink?repo=%ff&arch=x86_64" + ip), 404, "error: invalid repo or arch"},
		{"UTF-16 surrogate in a metalink file name", rawGET("/metalink?path=" + fixtures.TinyDirOSRepodata + "/%ed%a0%80" + ip), 404, "not found or has not metalink"},
		{"-- in a metalink file name", rawGET("/metalink?path=" + fixtures.TinyDirOSRepodata + "/--%3E%3Cx%3E" + ip), 404, "- -><x> not found"},
	})
}

// TestHostilePaths tries to leave the index through path= and through the
// request path.
func TestHostilePaths(t *testing.T) {
	_, addr := hostileServer(t)
	ip := "&ip=" + fixtures.TinyAddrDE
	os := fixtures.TinyDirOS
	runHostile(t, addr, []hostileCase{
		{"../ at the start", rawGET("/mirrorlist?path=../../../etc/passwd" + ip), 404, pathError},
		{"../ after a directory", rawGET("/mirrorlist?path=" + os + "/../../../../../../etc/passwd" + ip), 404, pathError},
		{"%2e%2e%2f", rawGET("/mirrorlist?path=%2e%2e%2f%2e%2e%2fetc%2fpasswd" + ip), 404, pathError},
		{"directory then ..", rawGET("/mirrorlist?path=" + os + "/.." + ip), 404, pathError},
		{"directory then %2e%2e", rawGET("/mirrorlist?path=" + os + "/%2e%2e" + ip), 404, pathError},
		{"directory then %2E, redirect", rawGET("/mirrorlist?path=" + os + "/%2E&redirect" + ip), 404, pathError},
		{"directory then .., metalink", rawGET("/metalink?path=" + os + "/.." + ip), 404, pathError},
		{"// around a directory", rawGET("/mirrorlist?path=//" + os + "//" + ip), 200, "# path = " + os + " "},
		{"// inside a directory", rawGET("/mirrorlist?path=pub//fedora///linux/releases/41/Everything/x86_64/os" + ip), 200, "# path = " + os + " "},
		{"%2f%2f around a file", rawGET("/mirrorlist?path=%2f%2f" + os + "%2f%2fa.rpm" + ip), 200, "/os/a.rpm\n"},
		{"/ only", rawGET("/mirrorlist?path=/" + ip), 404, pathError},
		{"traversal in the request path", rawGET("/../../etc/passwd"), 404, "We don't serve their kind here!"},
		{"encoded traversal in the request path", rawGET("/..%2f..%2fetc%2fpasswd"), 404, "We don't serve their kind here!"},
		{"traversal before a known suffix", rawGET("/../..%2f/mirrorlist?" + fedora41 + ip), 200, repoHeader},
		{"absolute-form target", rawGET("http://evil.example/mirrorlist?" + fedora41 + ip), 200, repoHeader},
	})
}

// TestHostileAddresses checks client addresses with IPv6 zones, IPv4
// mapped into IPv6, and unusable ones, in ip= and in X-Forwarded-For. An
// address in another spelling gets the answer of its plain spelling.
func TestHostileAddresses(t *testing.T) {
	_, addr := hostileServer(t)
	const de = deHeader
	runHostile(t, addr, []hostileCase{
		// A zone makes the text no client address, as in production.
		{"zone in ip=, escaped", rawGET("/mirrorlist?" + fedora41 + "&ip=fe80::1%25eth0"), 500, "Cannot parse client IP address. Aborting."},
		{"zone in ip=, raw", rawGET("/mirrorlist?" + fedora41 + "&ip=fe80::1%eth0"), 400, "invalid percent-encoding in the value of ip="},
		{"zone in X-Forwarded-For", rawGET("/mirrorlist?"+fedora41, "X-Forwarded-For: fe80::1%eth0"), 500, "Cannot parse client IP address. Aborting."},
		{"zone after a mapped address", rawGET("/mirrorlist?" + fedora41 + "&ip=::ffff:" + fixtures.TinyAddrDE + "%25x"), 500, "Cannot parse client IP address. Aborting."},
		{"mapped IPv4 in ip=", rawGET("/mirrorlist?" + fedora41 + "&ip=" + fixtures.TinyAddrDEMapped), 200, de},
		{"mapped IPv4 in X-Forwarded-For", rawGET("/mirrorlist?"+fedora41, "X-Forwarded-For: 10.0.0.1, "+fixtures.TinyAddrDEMapped), 200, de},
		{"mapped IPv4, expanded", rawGET("/mirrorlist?" + fedora41 + "&ip=0:0:0:0:0:ffff:5001:0203"), 200, de},
		{"address with a port", rawGET("/mirrorlist?" + fedora41 + "&ip=" + fixtures.TinyAddrDE + ":80"), 500, "Cannot parse client IP address. Aborting."},
		{"bracketed IPv6", rawGET("/metalink?" + fedora41 + "&ip=[2a01::1]"), 500, "Cannot parse client IP address. Aborting."},
		{"empty last X-Forwarded-For element", rawGET("/mirrorlist?"+fedora41, "X-Forwarded-For: "+fixtures.TinyAddrDE+", "), 500, "Cannot parse client IP address. Aborting."},
		{"host name in X-Forwarded-For", rawGET("/mirrorlist?"+fedora41, "X-Forwarded-For: localhost"), 500, "Cannot parse client IP address. Aborting."},
	})
}

// TestHostileSlowloris trickles request headers byte by byte on several
// connections: each must be cut off by the read-header timeout, not
// before it and not long after, while a normal client is still answered,
// and the goroutines of the cut connections must go away.
func TestHostileSlowloris(t *testing.T) {
	r, addr := hostileServer(t, "--admin-listen", "127.0.0.1:0")
	before := scrape(t, r.admin)["go_goroutines"]
	const clients = 20
	type outcome struct {
		open time.Duration
		err  error
	}
	cut := make(chan outcome, clients)
	for range clients {
		go func() {
			d, err := trickle(addr, "GET /metalink?"+fedora41+" HTTP/1.1\r\nHost: mirrors.example\r\nX-Slow: "+strings.Repeat("z", 200))
			cut <- outcome{d, err}
		}()
	}
	time.Sleep(100 * time.Millisecond) // the slow connections are open
	if code, body := exchange(t, addr, rawGET("/mirrorlist?"+fedora41)); code != 200 || !strings.HasPrefix(body, repoHeader) {
		t.Errorf("a normal request during the attack: %d %.200q", code, body)
	}
	for range clients {
		switch c := <-cut; {
		case c.err != nil:
			t.Errorf("a trickling connection: %v", c.err)
		case c.open < readHeaderTimeout || c.open > 3*time.Second:
			t.Errorf("a trickling connection was cut after %v (read-header timeout %v)", c.open, readHeaderTimeout)
		}
	}
	deadline := time.Now().Add(patience)
	for {
		now := scrape(t, r.admin)["go_goroutines"]
		if now <= before+2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: %v before the attack, %v after", before, now)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// trickle opens a connection and writes raw one byte every 20 ms until
// the server closes the connection, then returns how long that took from
// before the dial. The server may answer first (net/http sends a 400 when
// the header timeout cuts a request it has begun reading) and, since the
// trickle goes on writing, its close may reach the client as a reset
// rather than an end of file: with bytes of ours left unread in its
// socket, or arriving after it closed, the server's kernel resets the
// connection, and the more so when the machine is loaded. Both are the
// server closing the connection. The error says what else happened: no
// connection, an answer that is not a 4xx, or no close within patience.
func trickle(addr, raw string) (time.Duration, error) {
	start := time.Now()
	conn, err := net.DialTimeout("tcp", addr, patience)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	closed := make(chan error, 1)
	go func() {
		_ = conn.SetReadDeadline(start.Add(patience))
		b, err := io.ReadAll(conn) // nothing, or an error answer, then EOF or a reset
		switch {
		case err != nil && !errors.Is(err, syscall.ECONNRESET):
			closed <- fmt.Errorf("not closed by the server: %w", err)
		case len(b) > 0 && !strings.HasPrefix(string(b), "HTTP/1.1 4"):
			closed <- fmt.Errorf("answered %.80q", b)
		default:
			closed <- nil
		}
	}()
	for i := 0; ; i = (i + 1) % len(raw) {
		select {
		case err := <-closed:
			return time.Since(start), err
		case <-time.After(20 * time.Millisecond):
		}
		_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = conn.Write([]byte{raw[i]}) // fails once the server has closed
	}
}

// TestHostileMethods checks methods and request forms the protocol does
// not use.
func TestHostileMethods(t *testing.T) {
	_, addr := hostileServer(t)
	runHostile(t, addr, []hostileCase{
		{"DELETE", "DELETE /metalink?" + fedora41 + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405, "Method not allowed"},
		{"POST with a body", "POST /mirrorlist HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", 405, "Method not allowed"},
		{"made-up method", "BREW /mirrorlist HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405, "Method not allowed"},
		{"OPTIONS * (net/http answers it)", "OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 200, ""},
		{"HTTP/1.0 without Host", "GET /mirrorlist?" + fedora41 + " HTTP/1.0\r\n\r\n", 200, repoHeader},
		{"HTTP/1.1 without Host", "GET /mirrorlist?" + fedora41 + " HTTP/1.1\r\nConnection: close\r\n\r\n", 400, ""},
		{"HTTP/2 preface over HTTP/1", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 404, "We don't serve their kind here!"},
		{"garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 hello\r\n\r\n", 400, ""},
	})
}

// TestHostileInputsAtStart starts the command with inputs that are not
// files: each start must fail with status 1 and a message naming the
// flag, in bounded time. A named pipe used to hang the start-up check,
// which opened it (and waited for a writer) before anything listened.
func TestHostileInputsAtStart(t *testing.T) {
	tests := []struct {
		name string
		make func(path string) error
	}{
		{"named pipe", func(p string) error { return syscall.Mkfifo(p, 0o644) }},
		{"directory", func(p string) error { return os.Mkdir(p, 0o755) }},
		{"/dev/zero", func(p string) error { return os.Symlink("/dev/zero", p) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, args := inputDir(t)
			cache := filepath.Join(dir, fixtures.CacheFile)
			if err := os.Remove(cache); err != nil {
				t.Fatal(err)
			}
			if err := tt.make(cache); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), patience)
			defer cancel()
			var stderr syncBuffer
			done := make(chan int, 1)
			go func() { done <- runWith(ctx, args, env{stdout: io.Discard, stderr: &stderr}) }()
			select {
			case code := <-done:
				if code != exitFail || !strings.Contains(stderr.String(), "--cache: "+cache+" is not a regular file") {
					t.Errorf("exit %d, want %d with a message naming --cache and the file:\n%s", code, exitFail, stderr.String())
				}
			case <-time.After(patience + time.Second):
				t.Fatal("the start-up hangs")
			}
		})
	}
}
