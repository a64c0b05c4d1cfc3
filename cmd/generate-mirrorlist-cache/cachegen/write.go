package cachegen

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5"
)

// WriteFile generates the snapshot into path without a reader ever seeing
// it half written: it writes a temporary file in path's directory, syncs
// it to disk, renames it over path and syncs the directory. On any error,
// ErrEmpty included, the temporary file is removed and path is untouched.
// (The Rust generator truncates path and writes it in place.)
//
// The file is made readable by all (0644), as a server running as another
// user must read it.
func WriteFile(ctx context.Context, conn *pgx.Conn, path string, opt Options) (Stats, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return Stats{}, fmt.Errorf("creating the temporary file: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	st, err := Generate(ctx, conn, tmp, opt)
	if err != nil {
		return st, err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return st, fmt.Errorf("%s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return st, fmt.Errorf("%s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return st, fmt.Errorf("%s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return st, err
	}
	committed = true
	// The rename is durable only once the directory is synced; the file
	// is in place either way, so a failure here is reported, not undone.
	if err := syncDir(dir); err != nil {
		return st, fmt.Errorf("syncing %s: %w", dir, err)
	}
	return st, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
