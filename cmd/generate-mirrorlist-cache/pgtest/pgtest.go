// Package pgtest starts a throwaway PostgreSQL server for tests: initdb
// and pg_ctl on a fresh temporary directory, listening only on a Unix
// socket inside it, with fsync off, stopped and removed when the test
// ends.
//
// The binaries are found through $MIRRORLIST_PG_BIN (a directory), then
// $PATH (initdb, pg_ctl), then Debian's /usr/lib/postgresql/NN/bin (the
// newest). Without them the test is skipped with a message saying how to
// get them, except in CI (CI=true, or MIRRORLIST_REQUIRE_TOOLS=1), where a
// missing binary fails the test: there the tests must never skip.
//
// PostgreSQL refuses to run as root. When the test runs as root, initdb
// and the server run as the unprivileged user "postgres" (Debian's
// package creates it), or "nobody" where that user does not exist; the
// data directory is given to that user.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// port is the port number in the socket's name; the socket lives in a
// directory of its own, so it never collides with another server.
const port = 5432

// Server is a running PostgreSQL server.
type Server struct {
	bin  string // directory of initdb and pg_ctl
	dir  string // owns data/, the socket and the log
	cred *syscall.Credential
}

// RequireTools reports whether a missing external tool must fail a test
// instead of skipping it: in CI, where every test must run.
func RequireTools() bool {
	return os.Getenv("CI") == "true" || os.Getenv("MIRRORLIST_REQUIRE_TOOLS") == "1"
}

// SkipOrFail skips tb with the message, or fails it when RequireTools.
func SkipOrFail(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if RequireTools() {
		tb.Fatalf("%s (required here: CI=true or MIRRORLIST_REQUIRE_TOOLS=1)", msg)
	}
	tb.Skip(msg)
}

// Start starts a server for the test; it is stopped and its files removed
// when the test and its subtests end.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin, err := findBin()
	if err != nil {
		SkipOrFail(tb, "pgtest: %v; apt-get install postgresql, or set MIRRORLIST_PG_BIN", err)
	}
	s, err := start(bin)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(s.stop)
	return s
}

// findBin returns the directory that holds initdb and pg_ctl.
func findBin() (string, error) {
	if d := os.Getenv("MIRRORLIST_PG_BIN"); d != "" {
		for _, name := range []string{"initdb", "pg_ctl"} {
			if _, err := os.Stat(filepath.Join(d, name)); err != nil {
				return "", fmt.Errorf("MIRRORLIST_PG_BIN: %w", err)
			}
		}
		return d, nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(dirs) == 0 {
		return "", errors.New("PostgreSQL's initdb is not installed")
	}
	version := func(p string) int {
		n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(p))))
		return n
	}
	newest := slices.MaxFunc(dirs, func(a, b string) int { return version(a) - version(b) })
	return filepath.Dir(newest), nil
}

// start initialises a cluster in a new directory and starts it.
func start(bin string) (*Server, error) {
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	// Not under t.TempDir: its parents are private to root, and the
	// server may run as another user. The socket path must also stay
	// short (about 100 bytes at most).
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, dir: dir, cred: cred}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			s.remove()
			return nil, err
		}
	}
	if err := s.run("initdb", "-D", s.dataDir(), "-U", "postgres", "--auth=trust",
		"--no-sync", "--no-locale", "-E", "UTF8"); err != nil {
		s.remove()
		return nil, err
	}
	opts := fmt.Sprintf("-k %s -p %d -c listen_addresses= -F -c full_page_writes=off -c synchronous_commit=off", dir, port)
	if err := s.run("pg_ctl", "-D", s.dataDir(), "-l", filepath.Join(dir, "server.log"),
		"-w", "-t", "60", "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		s.remove()
		return nil, fmt.Errorf("%w\nserver log:\n%s", err, log)
	}
	return s, nil
}

// serverCredential returns the user to run PostgreSQL as: nil (ourselves)
// unless we are root.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	var u *user.User
	var err error
	for _, name := range []string{"postgres", "nobody"} {
		if u, err = user.Lookup(name); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("running as root and no unprivileged user (postgres, nobody) to run PostgreSQL as: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("user %s: %w", u.Username, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }

// run runs one of the PostgreSQL programs as the server's user.
func (s *Server) run(name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, name), args...)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "HOME="+s.dir)
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return nil
}

func (s *Server) stop() {
	_ = s.run("pg_ctl", "-D", s.dataDir(), "-m", "immediate", "-w", "stop")
	s.remove()
}

func (s *Server) remove() { _ = os.RemoveAll(s.dir) }

// URL returns the connection URL of database db on this server.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres:///%s?host=%s&port=%d&user=postgres&sslmode=disable", db, s.dir, port)
}

// CreateDatabase creates a new, empty database and returns its URL.
func (s *Server) CreateDatabase(tb testing.TB, name string) string {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("pgtest: creating database %s: %v", name, err)
	}
	return s.URL(name)
}

// Database creates a new database, runs each statement of setup in it in
// order (a schema, then rows), and returns its URL and a connection to it
// that is closed when the test ends.
func (s *Server) Database(tb testing.TB, name string, setup ...string) (string, *pgx.Conn) {
	tb.Helper()
	url := s.CreateDatabase(tb, name)
	conn := Connect(tb, url)
	for i, sql := range setup {
		if _, err := conn.Exec(context.Background(), sql); err != nil {
			tb.Fatalf("pgtest: setting up database %s, statement %d: %v", name, i+1, err)
		}
	}
	return url, conn
}

// Connect opens a connection to url that is closed when the test ends.
func Connect(tb testing.TB, url string) *pgx.Conn {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
