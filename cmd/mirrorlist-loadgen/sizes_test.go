package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestSizesRoundTrip records the sizes of a server's answers with run
// -sizes-out, serves them with ceiling -sizes, and records the ceiling's:
// each target must get its own size back, and a target the file does not
// list the default.
func TestSizesRoundTrip(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Write(make([]byte, n))
	}))
	defer srv.Close()
	dir := t.TempDir()
	targets := writeTargetsFile(t, "/metalink?n=10", "/metalink?n=70000", "/metalink?n=10", "/mirrorlist?n=0")
	first := filepath.Join(dir, "first")
	summary(t, "run", "-target", srv.URL, "-targets", targets, "-c", "2", "-warmup", "0s", "-duration", "1m", "-requests", "12", "-sizes-out", first)
	want := "10 /metalink?n=10\n70000 /metalink?n=70000\n0 /mirrorlist?n=0\n"
	if got := readFile(t, first); got != want {
		t.Fatalf("sizes of the server:\n%s\nwant\n%s", got, want)
	}

	sizes, err := readSizes(first, maxBodySize)
	if err != nil {
		t.Fatal(err)
	}
	url, stop := startCeiling(t, newCeiling(333, sizes), true)
	second := filepath.Join(dir, "second")
	more := writeTargetsFile(t, "/metalink?n=10", "/metalink?n=70000", "/mirrorlist?n=0", "/unlisted")
	summary(t, "run", "-target", url, "-targets", more, "-c", "2", "-warmup", "0s", "-duration", "1m", "-requests", "12", "-sizes-out", second)
	stop()
	if got := readFile(t, second); got != want+"333 /unlisted\n" {
		t.Errorf("sizes of the ceiling:\n%s\nwant\n%s333 /unlisted\n", got, want)
	}
}

func TestReadSizesErrors(t *testing.T) {
	for _, data := range []string{
		"",                  // no sizes
		"10\n",              // no target
		"x /a\n",            // no number
		"-1 /a\n",           // negative
		"10 a\n",            // not a target
		"999999999999 /a\n", // over the limit
	} {
		path := filepath.Join(t.TempDir(), "sizes")
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := readSizes(path, maxBodySize); err == nil || !strings.Contains(err.Error(), "sizes") {
			t.Errorf("readSizes(%q) = %v, want an error", data, err)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
