package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newServer returns an HTTP server for h with the configured timeouts and
// header limit, which keep slow or idle clients from holding connections
// (and goroutines) forever. Its own errors go to logger.
func newServer(h http.Handler, l httpLimits, logger *zap.Logger) *http.Server {
	errLog, err := zap.NewStdLogAt(logger, zapcore.WarnLevel)
	if err != nil {
		errLog = nil // only fails for an invalid level; keep net/http's default
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.readHeaderTimeout,
		ReadTimeout:       l.readTimeout,
		WriteTimeout:      l.writeTimeout,
		IdleTimeout:       l.idleTimeout,
		MaxHeaderBytes:    l.maxHeaderBytes,
		ErrorLog:          errLog,
	}
}

// listener is one HTTP server with the listener it serves, named for
// messages ("main", "admin").
type listener struct {
	name string
	srv  *http.Server
	ln   net.Listener
	done chan struct{} // closed when Serve has returned
}

// servers runs several HTTP servers and shuts them down together.
type servers struct {
	list []*listener
	// failed receives the error of a server that stopped on its own,
	// which only a broken listener makes happen.
	failed chan error
}

// startServers starts serving every listener in its own goroutine.
func startServers(list ...*listener) *servers {
	s := &servers{list: list, failed: make(chan error, len(list))}
	for _, l := range list {
		l.done = make(chan struct{})
		go func() {
			defer close(l.done)
			if err := l.srv.Serve(l.ln); !errors.Is(err, http.ErrServerClosed) {
				s.failed <- fmt.Errorf("serving %s on %s: %w", l.name, l.ln.Addr(), err)
			}
		}()
	}
	return s
}

// shutdown stops every server from accepting connections at once, closes
// idle ones, and waits up to timeout for the requests in flight to finish.
// Connections still busy then are closed, and the error says so.
func (s *servers) shutdown(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	errs := make([]error, len(s.list))
	var wg sync.WaitGroup
	for i, l := range s.list {
		wg.Go(func() {
			if err := l.srv.Shutdown(ctx); err != nil {
				_ = l.srv.Close()
				errs[i] = fmt.Errorf("shutting down %s: %w", l.name, err)
			}
			<-l.done
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
