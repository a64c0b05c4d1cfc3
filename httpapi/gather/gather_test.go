package gather

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestGatherAnswers serves bodies of every size around net/http's two
// buffers (2 KB and 4 KB) through a Listener, GET and HEAD, one
// after the other on one keep-alive connection: each must arrive whole,
// in order, with its Content-Length.
func TestGatherAnswers(t *testing.T) {
	sizes := []int{0, 1, 100, 2047, 2048, 2049, 3900, 4096, 4097, 5000, 8191, 8192, 60_000, 300_000}
	bodyOf := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + i%26)
		}
		return b
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		body := bodyOf(n) // the handler's own buffer, as the pooled ones are
		writeAnswer(w, r, body)
		clear(body) // reused at once: what was sent must not change
	}))
	srv.Listener = NewListener(srv.Listener)
	srv.Config.ConnContext = ConnContext
	srv.Start()
	defer srv.Close()

	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}, Timeout: 10 * time.Second}
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		for _, n := range sizes {
			req, _ := http.NewRequest(method, srv.URL+"/?n="+strconv.Itoa(n), nil)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s %d bytes: %v", method, n, err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("%s %d bytes: reading: %v", method, n, err)
			}
			want := bodyOf(n)
			if method == http.MethodHead {
				want = nil
			}
			if !bytes.Equal(got, want) || resp.ContentLength != int64(n) {
				t.Errorf("%s %d bytes: got %d bytes (equal: %v), Content-Length %d", method, n, len(got), bytes.Equal(got, want), resp.ContentLength)
			}
		}
	}
}

// writeAnswer answers as the mirrorlist handler does: Content-Type and
// Content-Length set, then the body through WriteBody unless the request
// is a HEAD.
func writeAnswer(w http.ResponseWriter, r *http.Request, body []byte) {
	w.Header().Set("Content-Type", "application/metalink+xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead && len(body) > 0 {
		WriteBody(w, r, body)
	}
}

// TestOneWrite checks what the package is for: through real net/http on
// loopback, a metalink-sized answer (50 KB) leaves in one system call with
// a Listener, and in two without. The writes are counted by the kernel
// (syscw of /proc/self/io counts write and writev calls), around one
// request written by a raw client in one write of its own, on a keep-alive
// connection that has already carried one request. The fewest calls of
// five requests count, since the Go runtime's own writes (waking its
// network poller) can only add to them. Both ends get socket
// buffers larger than the answer, so that no write is cut short by a
// full buffer (which would add a call in either case).
func TestOneWrite(t *testing.T) {
	if _, err := writeCalls(); err != nil {
		t.Skipf("no write counter: %v", err)
	}
	body := bytes.Repeat([]byte("0123456789"), 5_000)
	for _, tt := range []struct {
		name   string
		gather bool
		want   uint64 // the client's request and the server's answer
	}{
		{"plain net/http", false, 1 + 2},
		{"Listener", true, 1 + 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				writeAnswer(w, r, body)
			}))
			srv.Listener = bufferedListener{srv.Listener}
			if tt.gather {
				srv.Listener = NewListener(srv.Listener)
				srv.Config.ConnContext = ConnContext
			}
			srv.Start()
			defer srv.Close()
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if err := conn.(*net.TCPConn).SetReadBuffer(socketBuffer); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			get(t, conn, br, len(body)) // warm-up: the connection and its goroutines exist
			fewest := uint64(math.MaxUint64)
			for range 5 {
				before, _ := writeCalls()
				get(t, conn, br, len(body))
				after, _ := writeCalls()
				fewest = min(fewest, after-before)
			}
			if fewest != tt.want {
				t.Errorf("%d write calls for one request and its %d-byte answer, want %d", fewest, len(body), tt.want)
			}
		})
	}
}

// socketBuffer is the socket buffer size TestOneWrite asks for, four times
// its answer (Linux caps it at net.core.[rw]mem_max, 208 KB by default).
const socketBuffer = 200 << 10

// bufferedListener gives the connections it accepts a large send buffer.
type bufferedListener struct{ net.Listener }

func (l bufferedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		if err := tc.SetWriteBuffer(socketBuffer); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// get sends one GET in a single write and reads the whole answer.
func get(t *testing.T, conn net.Conn, br *bufio.Reader, size int) {
	t.Helper()
	if _, err := conn.Write([]byte("GET / HTTP/1.1\r\nHost: test\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != int64(size) {
		t.Fatalf("read %d bytes of %d: %v", n, size, err)
	}
}

// writeCalls returns the process's count of write system calls so far.
func writeCalls() (uint64, error) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "syscw: "); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, errors.New("/proc/self/io has no syscw line")
}

// fakeConn records what is written to it and can fail.
type fakeConn struct {
	net.Conn // nil: only Write and Close are called
	out      bytes.Buffer
	writes   int
	fail     error
	closed   bool
}

func (c *fakeConn) Write(p []byte) (int, error) {
	c.writes++
	if c.fail != nil {
		return 0, c.fail
	}
	return c.out.Write(p)
}

func (c *fakeConn) Close() error { c.closed = true; return nil }

// newGatherConn wraps c as a Listener's Accept does.
func newGatherConn(c net.Conn) *gatherConn {
	return &gatherConn{Conn: c, pool: &NewListener(nil).copies}
}

// TestGatherConnHolds checks that a held answer reaches the connection
// only at send, in order, with the writes that are not the body's end
// copied (the writer reuses its buffer) and the body's end as it was.
func TestGatherConnHolds(t *testing.T) {
	fc := new(fakeConn)
	gc := newGatherConn(fc)
	body := []byte("0123456789abcdefghij")
	buffer := append([]byte("HTTP/1.1 200 OK\r\n\r\n"), body[:7]...) // net/http's buffer, then flushed

	gc.hold(body)
	gc.Write(buffer)
	copy(buffer, "XXXXXXXXXXXXXXXXXXXX") // the writer's buffer is reused
	gc.Write(body[7:])
	if fc.writes != 0 {
		t.Fatalf("%d writes reached the connection before send", fc.writes)
	}
	gc.send()
	if want := "HTTP/1.1 200 OK\r\n\r\n" + string(body); fc.out.String() != want {
		t.Errorf("sent %q, want %q", fc.out.String(), want)
	}
	if gc.body != nil || gc.bufs[:cap(gc.bufs)][1] != nil {
		t.Error("the connection still refers to the body after send")
	}
	if gc.copies != nil {
		t.Error("the connection keeps its copies buffer after send: idle connections would hold one each")
	}

	fc.out.Reset()
	gc.Write([]byte("next"))
	if fc.out.String() != "next" {
		t.Errorf("a write after send gave %q, want it passed through", fc.out.String())
	}
}

// TestGatherConnFailure checks that a failed gathered write closes the
// connection and fails the writes still held.
func TestGatherConnFailure(t *testing.T) {
	broken := errors.New("connection reset")
	fc := &fakeConn{fail: broken}
	gc := newGatherConn(fc)
	body := bytes.Repeat([]byte("x"), 100)
	gc.hold(body)
	gc.Write(body)
	gc.send()
	if !fc.closed {
		t.Error("the connection is still open after a failed write")
	}
	gc.hold(body)
	if _, err := gc.Write(body); !errors.Is(err, broken) {
		t.Errorf("a write after the failure returned %v, want %v", err, broken)
	}
}
