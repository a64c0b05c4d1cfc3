package main

import (
	"os"

	"go.uber.org/zap"
)

// exitInterrupted is the exit status after a second shutdown signal: the
// shell's 128+SIGINT, whichever of SIGINT and SIGTERM it was.
const exitInterrupted = 130

// onSignals watches term for shutdown signals (SIGTERM, SIGINT): the first
// calls shutdown, which begins the graceful shutdown; the second calls
// exit(exitInterrupted), for an operator who will not wait for it. The
// returned function stops watching; call it before returning from the
// program. exit is os.Exit except in tests.
func onSignals(term <-chan os.Signal, shutdown func(), exit func(int), logger *zap.Logger) (stop func()) {
	quit := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		first := true
		for {
			select {
			case <-quit:
				return
			case sig := <-term:
				if first {
					first = false
					logger.Info("shutting down; send the signal again to exit at once", zap.Stringer("signal", sig))
					shutdown()
					continue
				}
				logger.Warn("second signal: exiting at once", zap.Stringer("signal", sig), zap.Int("status", exitInterrupted))
				exit(exitInterrupted)
				return
			}
		}
	}()
	return func() {
		close(quit)
		<-stopped
	}
}
