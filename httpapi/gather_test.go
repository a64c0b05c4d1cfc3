package httpapi

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// TestGatherAnswers serves bodies of every size around net/http's two
// buffers (2 KB and 4 KB) through a GatherListener, GET and HEAD, one
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
	h := new(Handler)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		body := bodyOf(n) // the handler's own buffer, as the pooled ones are
		h.send(w, r, http.StatusOK, contentTypeMeta, body)
		clear(body) // reused at once: what was sent must not change
	}))
	srv.Listener = NewGatherListener(srv.Listener)
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

// newGatherConn wraps c as a GatherListener's Accept does.
func newGatherConn(c net.Conn) *gatherConn {
	return &gatherConn{Conn: c, pool: &NewGatherListener(nil).copies}
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
