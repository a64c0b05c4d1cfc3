package main

import (
	"os"

	"github.com/mirrorlist-go/mirrorlist-server/cmd/mirrorlist-server/memlimit"
	"github.com/mirrorlist-go/mirrorlist-server/reload"
)

// memoryLimit is the --memory-limit flag.
type memoryLimit struct {
	raw   string
	mode  memlimit.Mode
	bytes int64
}

func (m *memoryLimit) parse() (err error) {
	m.mode, m.bytes, err = memlimit.ParseFlag(m.raw)
	return err
}

// newMemoryLimit creates the limiter of --memory-limit, with its metrics
// when there is a registry. Called before the first load.
func (a *app) newMemoryLimit() error {
	cfg := memlimit.Config{
		Mode:       a.o.memoryLimit.mode,
		Bytes:      a.o.memoryLimit.bytes,
		GOMEMLIMIT: os.Getenv("GOMEMLIMIT"),
		GOGC:       os.Getenv("GOGC"),
		Logger:     a.logger.Named("memory"),
	}
	if a.reg != nil {
		cfg.Registerer = a.reg
	}
	l, err := memlimit.New(cfg)
	if err != nil {
		return err
	}
	a.memory = l
	return nil
}

// onResult follows every build (the reloader counts it in its own
// metrics): after a published snapshot, the memory limit is recomputed.
func (a *app) onResult(res reload.Result) {
	if res.Outcome == reload.Reloaded {
		a.memory.Published(res.Start.Add(res.Duration))
	}
}
