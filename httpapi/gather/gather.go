// Package gather sends an HTTP/1 answer, status line, headers and body, in
// one system call.
//
// net/http buffers a response in 4 KB: the status line and headers go to
// that buffer, and a body larger than what is left of it then makes two
// writes to the socket, the full buffer and the rest of the body. Most of
// a write's cost is per call, not per byte, so for the ~50 KB of a metalink
// the first, 4 KB write costs almost as much as the rest of the body. A
// Listener's connections can hold the writes of one answer and send them
// with a single writev, without copying the body a second time. The
// measurements are in the commit history and .ci/bench.sh's ceilings.
package gather

import (
	"context"
	"net"
	"net/http"
	"sync"
)

// Listener wraps a listener so that handlers writing with WriteBody send
// each answer in one write. Serve it with ConnContext as the http.Server's
// ConnContext; without it (or behind any other listener) WriteBody writes
// as usual. Create it with NewListener.
type Listener struct {
	net.Listener
	// copies holds the buffers of the held writes that are not the body
	// (net/http's 4 KB buffer): shared by the connections, so that idle
	// keep-alive connections hold none.
	copies sync.Pool // *[]byte
}

// NewListener returns a Listener accepting from ln.
func NewListener(ln net.Listener) *Listener {
	l := &Listener{Listener: ln}
	l.copies.New = func() any { b := make([]byte, 0, 8<<10); return &b }
	return l
}

// Accept waits for the next connection and wraps it.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &gatherConn{Conn: c, pool: &l.copies}, nil
}

// gatherKey is the context key of a request's *gatherConn.
type gatherKey struct{}

// ConnContext makes a Listener's connection known to the requests
// it carries; it is meant for http.Server.ConnContext.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if gc, ok := c.(*gatherConn); ok {
		return context.WithValue(ctx, gatherKey{}, gc)
	}
	return ctx
}

// WriteBody writes an answer's body, after its headers, as a handler's
// w.Write(body) would; on a Listener's connection served with
// ConnContext, a body larger than 2 KB leaves with the headers in one
// write. body must not change until WriteBody returns. Like a handler's
// own write, it reports no error: a failed write means the client has
// gone, and net/http closes the connection.
func WriteBody(w http.ResponseWriter, r *http.Request, body []byte) {
	gc := gatherConnOf(r.Context())
	if gc == nil || len(body) <= gatherMin {
		_, _ = w.Write(body)
		return
	}
	gc.hold(body)
	_, _ = w.Write(body)
	gc.send()
}

// gatherMin is the body size above which an answer is gathered: net/http
// keeps a smaller body in its 2 KB buffer and writes it with the headers
// anyway.
const gatherMin = 2048

func gatherConnOf(ctx context.Context) *gatherConn {
	gc, _ := ctx.Value(gatherKey{}).(*gatherConn)
	return gc
}

// gatherConn is a connection that can hold its writes between hold and
// send. net/http writes to an HTTP/1 connection only from the goroutine
// serving it, which is also the one running the handler, so hold, Write
// and send never run concurrently.
type gatherConn struct {
	net.Conn
	pool    *sync.Pool // of copies buffers
	holding bool
	body    []byte // the answer body, which stays unchanged until send
	pieces  []piece
	copies  *[]byte     // held bytes that are not the body's, from pool
	bufs    net.Buffers // reused by send
	err     error       // the failure of a gathered write
}

// piece is one held write: the end of the body from bodyFrom, or copies
// from start to end.
type piece struct {
	fromBody   bool
	start, end int
}

// hold starts holding writes. body is the answer's body: a write of its
// end is kept by reference, other writes (net/http's buffer) are copied.
func (c *gatherConn) hold(body []byte) {
	c.holding, c.body = true, body
	c.pieces = c.pieces[:0]
}

// Write sends p, or holds it between hold and send.
func (c *gatherConn) Write(p []byte) (int, error) {
	if !c.holding {
		return c.Conn.Write(p)
	}
	if c.err != nil {
		return 0, c.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if n := len(p); n <= len(c.body) && &p[n-1] == &c.body[len(c.body)-1] {
		// p is the body's tail: it ends where the body ends, so it is
		// body[len(body)-n:], which lives until send.
		c.pieces = append(c.pieces, piece{fromBody: true, start: len(c.body) - n})
		return n, nil
	}
	if c.copies == nil {
		c.copies = c.pool.Get().(*[]byte)
	}
	start := len(*c.copies)
	*c.copies = append(*c.copies, p...)
	c.pieces = append(c.pieces, piece{start: start, end: len(*c.copies)})
	return len(p), nil
}

// send writes what was held, in one writev, and stops holding. A failed
// write closes the connection: the answer is cut, and the client must
// not read the next one after it.
func (c *gatherConn) send() {
	c.holding = false
	c.bufs = c.bufs[:0]
	for _, p := range c.pieces {
		if p.fromBody {
			c.bufs = append(c.bufs, c.body[p.start:])
		} else {
			c.bufs = append(c.bufs, (*c.copies)[p.start:p.end])
		}
	}
	c.body = nil
	if len(c.bufs) > 0 {
		bufs := c.bufs // WriteTo consumes its receiver
		if _, err := bufs.WriteTo(c.Conn); err != nil {
			c.err = err
			c.Conn.Close()
		}
		clear(c.bufs[:cap(c.bufs)]) // drop the references to the body and the copies
	}
	c.putCopies()
}

// putCopies returns the copies buffer to the pool, unless it grew
// unusually large.
func (c *gatherConn) putCopies() {
	if c.copies == nil {
		return
	}
	if cap(*c.copies) <= maxHeldCopies {
		*c.copies = (*c.copies)[:0]
		c.pool.Put(c.copies)
	}
	c.copies = nil
}

// CloseWrite shuts down the writing side of the connection, if it has
// one: net/http half-closes after an error answer (a 431 to a header too
// large) so that the client reads the answer before the connection is
// reset, and it looks for this method to do so.
func (c *gatherConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// maxHeldCopies bounds the copy buffers kept in the pool; they hold
// net/http's 4 KB buffer, rarely more.
const maxHeldCopies = 64 << 10
