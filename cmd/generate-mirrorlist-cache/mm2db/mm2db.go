// Package mm2db is MirrorManager2's database as generate-mirrorlist-cache
// reads it, for tests and benchmarks: Schema creates the tables, and
// LoadSnapshot fills them with rows from which the generator rebuilds a
// given snapshot, so that any snapshot (the fixtures', at any scale) can
// stand in for a MirrorManager2 database.
package mm2db

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Schema is the SQL that creates the MirrorManager2 tables the generator
// reads (schema.sql).
//
//go:embed schema.sql
var Schema string

// CreateSchema creates the tables in the database conn is connected to.
func CreateSchema(ctx context.Context, conn *pgx.Conn) error {
	if _, err := conn.Exec(ctx, Schema); err != nil {
		return fmt.Errorf("creating the MirrorManager2 schema: %w", err)
	}
	return nil
}
