package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// serverPackage is the import path go build builds when no server binary
// is given.
const serverPackage = "github.com/mirrorlist-go/mirrorlist-server/cmd/mirrorlist-server"

// buildServer builds the server into dir with the go command, which must
// run inside this module (go run ./cmd/mirrorlist-loadgen from its root
// does).
func buildServer(ctx context.Context, dir string, stderr io.Writer) (string, error) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("no server binary given (-server) and no go command to build one: %w", err)
	}
	bin := filepath.Join(dir, "mirrorlist-server")
	cmd := exec.CommandContext(ctx, goCmd, "build", "-o", bin, serverPackage)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building the server: %w", err)
	}
	return bin, nil
}

// soakServer is a mirrorlist-server process started by the soak.
type soakServer struct {
	cmd         *exec.Cmd
	base, admin string        // http://host:port of the main and admin listeners
	exited      chan struct{} // closed when the process has ended
	exitErr     error         // valid after exited
	logs        *logTail
	client      *http.Client
}

// startServer runs bin with args on loopback ports it chooses itself, and
// returns once the server has loaded its inputs and logged its start-up
// line, or when ctx ends or startTimeout passes.
func startServer(ctx context.Context, bin string, args []string, startTimeout time.Duration) (*soakServer, error) {
	cmd := exec.Command(bin, append([]string{
		"--listen", "127.0.0.1", "--port", "0", "--admin-listen", "127.0.0.1:0",
		"--log-format", "json", "--log-level", "info",
	}, args...)...)
	// A pipe of our own rather than StderrPipe: Wait may then run while
	// the log is still being read.
	stderr, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = w
	err = cmd.Start()
	w.Close()
	if err != nil {
		stderr.Close()
		return nil, err
	}
	s := &soakServer{cmd: cmd, exited: make(chan struct{}), logs: newLogTail(20),
		client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}}
	started := make(chan startLine, 1)
	go s.readLogs(stderr, started)
	go func() {
		s.exitErr = cmd.Wait()
		close(s.exited)
	}()
	select {
	case line := <-started:
		s.base, s.admin = "http://"+line.Listen, "http://"+line.AdminListen
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("the server exited during start-up (%v):\n%s", s.exitErr, s.logs)
	case <-ctx.Done():
		s.stop(time.Second)
		return nil, ctx.Err()
	case <-time.After(startTimeout):
		s.stop(time.Second)
		return nil, fmt.Errorf("the server did not start within %v:\n%s", startTimeout, s.logs)
	}
}

// startLine is what the soak reads of the server's start-up log line.
type startLine struct {
	Msg         string `json:"msg"`
	Listen      string `json:"listen"`
	AdminListen string `json:"admin_listen"`
}

// readLogs reads the server's JSON log until it ends: it passes the
// start-up line to started, and keeps the last lines and the count of
// error lines.
func (s *soakServer) readLogs(r io.ReadCloser, started chan<- startLine) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		s.logs.add(string(line))
		var l startLine
		if json.Unmarshal(line, &l) == nil && l.Msg == "mirrorlist-server started" {
			select {
			case started <- l:
			default:
			}
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// stop sends SIGTERM and waits up to grace for the process to end, then
// kills it.
func (s *soakServer) stop(grace time.Duration) error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-s.exited:
		return s.exitErr
	case <-time.After(grace):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("the server did not stop within %v after SIGTERM; killed", grace)
	}
}

// rss returns the server's resident set size in bytes, from
// /proc/PID/status.
func (s *soakServer) rss() (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	return parseVmRSS(string(b))
}

// parseVmRSS reads the VmRSS line of a /proc/PID/status text.
func parseVmRSS(status string) (uint64, error) {
	for line := range strings.SplitSeq(status, "\n") {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("VmRSS line %q", line)
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		return kb << 10, err
	}
	return 0, errors.New("no VmRSS line")
}

// metrics scrapes the admin listener's /metrics and returns the samples
// keyed as exposed, e.g. `mirrorlist_reloads_total{result="reloaded"}`.
func (s *soakServer) metrics(ctx context.Context) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.admin+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return parseMetrics(resp.Body)
}

// parseMetrics reads the Prometheus text format with its own parser and
// keys each sample as model.Metric prints it: the name, then the labels
// sorted and ", "-separated, as in mirrorlist_reloads_total{result="reloaded"}.
func parseMetrics(r io.Reader) (map[string]float64, error) {
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	out := make(map[string]float64)
	for _, f := range families {
		vector, err := expfmt.ExtractSamples(&expfmt.DecodeOptions{}, f)
		if err != nil {
			return nil, fmt.Errorf("metric family %s: %w", f.GetName(), err)
		}
		for _, s := range vector {
			out[s.Metric.String()] = float64(s.Value)
		}
	}
	return out, nil
}

// logTail keeps the last lines of a log and counts its error lines.
type logTail struct {
	mu     sync.Mutex
	lines  []string
	next   int
	max    int
	errors int
}

func newLogTail(n int) *logTail { return &logTail{max: n} }

func (l *logTail) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if strings.Contains(line, `"level":"error"`) {
		l.errors++
	}
	if len(l.lines) < l.max {
		l.lines = append(l.lines, line)
		return
	}
	l.lines[l.next] = line
	l.next = (l.next + 1) % l.max
}

// errorLines returns how many error lines the log had.
func (l *logTail) errorLines() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.errors
}

func (l *logTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(append(append([]string(nil), l.lines[l.next:]...), l.lines[:l.next]...), "\n")
}
