package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// probeTimeout bounds a --probe request, connection included.
const probeTimeout = 2 * time.Second

// probeBodyLimit caps what --probe copies of the answer to stdout (where
// Docker keeps it as the health check's output).
const probeBodyLimit = 4 << 10

// probe GETs url and returns exitOK if it answers 200 within timeout,
// exitFail otherwise. It is the health check of containers without a
// shell or curl: `mirrorlist-server --probe http://127.0.0.1:3000/readyz`.
// Redirects are not followed and no proxy is used: the probe checks this
// server, not whatever it points to.
func probe(ctx context.Context, url string, timeout time.Duration, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintf(stderr, "mirrorlist-server: probe: %v\n", err)
		return exitFail
	}
	client := &http.Client{
		Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "mirrorlist-server: probe: %v\n", err)
		return exitFail
	}
	defer resp.Body.Close()
	_, _ = io.Copy(stdout, io.LimitReader(resp.Body, probeBodyLimit))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "mirrorlist-server: probe: %s: %s\n", url, resp.Status)
		return exitFail
	}
	return exitOK
}
