package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newServer returns the HTTP server for the handler, with timeouts that
// keep slow or idle clients from holding connections forever.
func newServer(h http.Handler, logger *zap.Logger) *http.Server {
	errLog, err := zap.NewStdLogAt(logger.Named("http"), zapcore.WarnLevel)
	if err != nil {
		errLog = nil // only fails for an invalid level; keep net/http's default
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          errLog,
	}
}

// serve runs srv on ln until ctx is done, then shuts it down, giving the
// requests in flight up to timeout to finish. Each value on hup calls
// onHangup. It returns an error if the server stops on its own or the
// shutdown does not complete in time.
func serve(ctx context.Context, srv *http.Server, ln net.Listener, hup <-chan os.Signal, onHangup func(), timeout time.Duration, logger *zap.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	for {
		select {
		case err := <-errc:
			return fmt.Errorf("serving on %s: %w", ln.Addr(), err)
		case <-hup:
			onHangup()
		case <-ctx.Done():
			return shutdown(srv, errc, timeout, logger)
		}
	}
}

// shutdown stops accepting connections and waits for the requests in
// flight, up to timeout.
func shutdown(srv *http.Server, errc <-chan error, timeout time.Duration, logger *zap.Logger) error {
	logger.Info("shutting down", zap.Duration("timeout", timeout))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("server stopped")
	return nil
}
