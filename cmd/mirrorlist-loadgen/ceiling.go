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
	sizesPath := fs.String("sizes", "", "answer each target of `FILE` (run -sizes-out writes it) with a body of its size, the others with -body-size")
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
	var sizes map[string]int
	if *sizesPath != "" {
		if sizes, err = readSizes(*sizesPath, maxBodySize); err != nil {
			return fmt.Errorf("ceiling: %w", err)
		}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	return serveCeiling(ctx, ln, newCeiling(*size, sizes), *gathered)
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

// ceiling answers every request with a precomputed body, headers set as
// the mirrorlist server sets them: the least a handler can do. The body
// is the same for every request unless sized gives the target's own size.
type ceiling struct {
	def   sizedBody            // the answer to a target sized does not list
	sized map[string]sizedBody // by request target (-sizes)
	body  []byte               // every answer is a prefix of it
}

// sizedBody is the size of one answer and its Content-Length.
type sizedBody struct {
	n      int
	length string
}

// newCeiling precomputes a body of size bytes, or the sizes of sizes (by
// request target) when it names the target: lines of metalink-like text,
// so that the bytes on the wire look like a server's.
func newCeiling(size int, sizes map[string]int) *ceiling {
	const line = `    <url protocol="https" type="https" location="DE" preference="100">https://mirror.example.org/pub/fedora/linux/updates/42/Everything/x86_64/repodata/repomd.xml</url>` + "\n"
	c := &ceiling{def: sizedBody{size, strconv.Itoa(size)}}
	largest := size
	if len(sizes) > 0 {
		c.sized = make(map[string]sizedBody, len(sizes))
		for target, n := range sizes {
			c.sized[target] = sizedBody{n, strconv.Itoa(n)}
			largest = max(largest, n)
		}
	}
	c.body = make([]byte, largest)
	for i := 0; i < largest; {
		i += copy(c.body[i:], line)
	}
	return c
}

func (c *ceiling) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, ok := c.sized[r.RequestURI]
	if !ok {
		b = c.def
	}
	h := w.Header()
	h.Set("Content-Type", "application/metalink+xml")
	h.Set("Content-Length", b.length)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		gather.WriteBody(w, r, c.body[:b.n])
	}
}
