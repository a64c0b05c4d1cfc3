package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/mirrorlist-go/mirrorlist-server/httpapi/gather"
)

// maxBodySize bounds the ceiling's answer.
const maxBodySize = 64 << 20

// runCeiling serves the ceiling's fixed answer until ctx ends. It prints
// "listening on http://ADDR" once it accepts connections, so that a script
// can start it on port 0 and read the port.
func runCeiling(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newSubcommand("ceiling", stderr)
	listen := fs.String("listen", "127.0.0.1:0", "loopback `ADDRESS:PORT` to listen on (port 0: any free port)")
	size := fs.Int("body-size", 8192, "size in bytes of every answer's body: the mean answer size of the server measured")
	gathered := fs.Bool("gather", false, "send each answer's headers and body in one write, as the mirrorlist server does (gather.Listener); default: plain net/http")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *size < 0 || *size > maxBodySize {
		return fmt.Errorf("ceiling: -body-size %d: want 0 to %d", *size, maxBodySize)
	}
	ap, err := netip.ParseAddrPort(*listen)
	if err != nil || !ap.Addr().IsLoopback() {
		return fmt.Errorf("ceiling: -listen %q: want a loopback address and port, e.g. 127.0.0.1:0", *listen)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	return serveCeiling(ctx, ln, newCeiling(*size), *gathered)
}

// serveCeiling serves h on ln until ctx ends.
func serveCeiling(ctx context.Context, ln net.Listener, h http.Handler, gathered bool) error {
	// The timeouts are the mirrorlist server's, so that both pay for the
	// same connection bookkeeping.
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	if gathered {
		ln = gather.NewListener(ln)
		srv.ConnContext = gather.ConnContext
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ceiling answers every request with the same body, headers set as the
// mirrorlist server sets them: the least a handler can do.
type ceiling struct {
	body   []byte
	length string
}

// newCeiling precomputes a body of size bytes: lines of metalink-like
// text, so that the bytes on the wire look like a server's.
func newCeiling(size int) *ceiling {
	const line = `    <url protocol="https" type="https" location="DE" preference="100">https://mirror.example.org/pub/fedora/linux/updates/42/Everything/x86_64/repodata/repomd.xml</url>` + "\n"
	body := make([]byte, size)
	for i := 0; i < size; {
		i += copy(body[i:], line)
	}
	return &ceiling{body: body, length: strconv.Itoa(size)}
}

func (c *ceiling) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/metalink+xml")
	h.Set("Content-Length", c.length)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		gather.WriteBody(w, r, c.body)
	}
}
