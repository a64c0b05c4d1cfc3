// Package cachegen builds the mirrorlist snapshot (mirrorlist_cache.proto,
// docs/snapshot-format.md) from MirrorManager2's PostgreSQL database, as
// a drop-in for the Rust project's generate-mirrorlist-cache
// (adrianreber/mirrorlist-server), production's generator, which replaced
// MirrorManager2's own writer, mm2_refresh_mirrorlist_cache. Where the
// Rust generator dropped a MirrorManager2 feature that operators still
// set (peer ASNs, exclusive directories, the hosts of a directory's other
// categories), it follows MirrorManager2.
//
// Every query streams its rows; nothing is loaded into ORM objects. The
// per-host tables, the host categories and the up-to-date marks
// (host_category_dir, the one large table) are held in compact form, and
// the directory entries, nine tenths of the file, are encoded and written
// one at a time as the last query streams the directories, so memory does
// not grow with the size of the output.
//
// Where the output differs from either's, on purpose, the comment at the
// place says so in the snapshot format's terms; the README section
// "Differences from MirrorManager2 and the Rust generator" lists them all.
package cachegen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrEmpty is returned when the database yields a snapshot that no server
// should serve: no directory entries, or no host in any of them.
var ErrEmpty = errors.New("refusing to write an empty snapshot")

// Resolver looks up the addresses of a host name, for host netblocks that
// mirror administrators entered as DNS names. *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Options configures Generate. The zero value is ready to use.
type Options struct {
	// Now gives the snapshot's Time; nil means time.Now.
	Now func() time.Time
	// Step, if set, gets one line per step (the -d output).
	Step func(line string)
	// Warn, if set, gets one line per row that was skipped because it
	// could not be used (an unparsable netblock, say).
	Warn func(line string)
	// Resolver resolves netblocks given as host names; nil means
	// net.DefaultResolver.
	Resolver Resolver
	// LookupTimeout bounds each host name lookup; zero means 5 s.
	LookupTimeout time.Duration
}

// Stats counts what a generation wrote.
type Stats struct {
	Directories   int   // MirrorListCache entries
	Hosts         int   // hosts (with a site) in the per-host caches
	ServingHosts  int   // distinct hosts in at least one ByHostId
	HCUrls        int   // HCUrlCache entries
	RepoArches    int   // RepoArchToDirectoryName entries
	Disabled      int   // DisabledRepositoryCache entries
	FileDetailDir int   // FileDetailsCache directories
	HostNetblocks int   // HostNetblockCache entries
	Bytes         int64 // size of the encoded snapshot
}

// Generate reads the database through conn and writes the encoded
// snapshot to w. All queries run in one read-only, repeatable-read
// transaction, so the snapshot is one consistent view of the database.
// On error, w may hold part of a snapshot; WriteFile never lets that reach
// its target.
func Generate(ctx context.Context, conn *pgx.Conn, w io.Writer, opt Options) (Stats, error) {
	g := newGenerator(opt)
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return Stats{}, fmt.Errorf("starting a read-only transaction: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only: nothing to undo
	if err := g.readTables(ctx, tx); err != nil {
		return g.stats, err
	}
	cw := &countingWriter{w: w}
	if err := g.writeHead(cw); err != nil {
		return g.stats, err
	}
	if err := g.streamDirectories(ctx, tx, cw); err != nil {
		return g.stats, err
	}
	g.stats.Bytes = cw.n
	if g.stats.Directories == 0 || g.stats.ServingHosts == 0 {
		return g.stats, fmt.Errorf("%w: %d directories, %d hosts serving them", ErrEmpty, g.stats.Directories, g.stats.ServingHosts)
	}
	return g.stats, nil
}

// generator holds what the queries gathered until the file is written.
type generator struct {
	opt   Options
	steps int
	stats Stats
	start time.Time

	hosts      []host        // ascending id
	hostByID   map[int32]int // index into hosts
	categories map[int32]*category
	merged     map[string]*category         // categoriesOf's unions, by their category ids
	exclusive  map[int32]map[int32]struct{} // directory id → the only host ids that may serve it
	hcIndex    map[int32]int32              // host category id → its dense number
	hcurls     map[int32][]int64            // host category id → its public hcurl ids, ascending
	upToDate   map[int32][]int32            // directory id → dense numbers of the host categories up to date there
	head       headCaches
	serving    map[int64]struct{}
}

func newGenerator(opt Options) *generator {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Resolver == nil {
		opt.Resolver = net.DefaultResolver
	}
	if opt.LookupTimeout == 0 {
		opt.LookupTimeout = 5 * time.Second
	}
	return &generator{
		opt:        opt,
		start:      opt.Now(),
		hostByID:   make(map[int32]int),
		categories: make(map[int32]*category),
		merged:     make(map[string]*category),
		exclusive:  make(map[int32]map[int32]struct{}),
		hcIndex:    make(map[int32]int32),
		hcurls:     make(map[int32][]int64),
		upToDate:   make(map[int32][]int32),
		serving:    make(map[int64]struct{}),
	}
}

// step reports one finished step when -d asked for it.
func (g *generator) step(began time.Time, format string, args ...any) {
	g.steps++
	if g.opt.Step == nil {
		return
	}
	g.opt.Step(fmt.Sprintf("step %d: %s (%s)", g.steps, fmt.Sprintf(format, args...), time.Since(began).Round(time.Millisecond)))
}

func (g *generator) warn(format string, args ...any) {
	if g.opt.Warn != nil {
		g.opt.Warn(fmt.Sprintf(format, args...))
	}
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
