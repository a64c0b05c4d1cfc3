// Command mm2load fills a PostgreSQL database with MirrorManager2 tables
// holding the content of a snapshot, so that generate-mirrorlist-cache can
// be run, timed and compared against any snapshot, the fixtures' included:
//
//	go run ./cmd/mirrorlist-fixtures -scale fedora -seed 1 -out /tmp/fedora
//	go run ./cmd/generate-mirrorlist-cache/mm2load -db postgres:///mm2?host=/run/postgresql -snapshot /tmp/fedora/mirrorlist_cache.proto
//
// The database must be empty: mm2load creates the tables (mm2db.Schema).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/mirrorlist-go/mirrorlist-server/cmd/generate-mirrorlist-cache/mm2db"
	pb "github.com/mirrorlist-go/mirrorlist-server/proto"
)

func main() {
	db := flag.String("db", "", "the `URL` of an empty PostgreSQL database")
	snap := flag.String("snapshot", "", "the snapshot `FILE` to load")
	flag.Parse()
	if *db == "" || *snap == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := load(context.Background(), *db, *snap); err != nil {
		fmt.Fprintf(os.Stderr, "mm2load: %v\n", err)
		os.Exit(1)
	}
}

func load(ctx context.Context, url, path string) error {
	began := time.Now()
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var m pb.MirrorList
	if err := proto.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if err := mm2db.CreateSchema(ctx, conn); err != nil {
		return err
	}
	notes, err := mm2db.LoadSnapshot(ctx, conn, &m)
	if err != nil {
		return err
	}
	for _, n := range notes {
		fmt.Println("note:", n)
	}
	fmt.Printf("loaded %s (%d directories) in %s\n", path, len(m.MirrorListCache), time.Since(began).Round(time.Millisecond))
	return nil
}
