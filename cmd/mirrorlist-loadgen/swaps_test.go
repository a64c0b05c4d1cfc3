package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestSwaps runs the swaps command against a server whose answers slow
// down while a reload runs: the windows with a reload must show it, the
// others not.
func TestSwaps(t *testing.T) {
	var reloading atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			reloading.Store(true)
			time.Sleep(150 * time.Millisecond)
			reloading.Store(false)
			w.Write([]byte(`{"outcome":"reloaded","generation":2}`))
			return
		}
		if reloading.Load() {
			time.Sleep(20 * time.Millisecond)
		}
		w.Write([]byte("0123456789"))
	}))
	defer srv.Close()
	targets := writeTargetsFile(t, "/metalink?repo=a&arch=x86_64")
	values, out := summary(t, "swaps", "-target", srv.URL, "-reload", srv.URL+"/-/reload", "-targets", targets,
		"-c", "2", "-swaps", "2", "-warmup", "50ms", "-tail", "0s", "-quiet", "50ms")
	if number(t, values, "swaps") != 2 || number(t, values, "requests") == 0 || number(t, values, "errors") != 0 {
		t.Fatalf("summary:\n%s", out)
	}
	if swap, steady := number(t, values, "p99_swap_ms"), number(t, values, "p99_steady_ms"); swap < 20 || steady >= 20 {
		t.Errorf("p99 %v ms during the reloads, %v ms without; want 20 ms or more, and less:\n%s", swap, steady, out)
	}
	if number(t, values, "build_s") < 0.15 {
		t.Errorf("reloads shorter than the server took:\n%s", out)
	}
}

func TestSwapsFailedReload(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`{"outcome":"failed","error":"mirrors: bad"}`))
		}
	}))
	defer srv.Close()
	targets := writeTargetsFile(t, "/metalink")
	err := run(context.Background(), []string{"swaps", "-target", srv.URL, "-reload", srv.URL + "/-/reload", "-targets", targets, "-warmup", "0s"},
		new(bytes.Buffer), new(bytes.Buffer))
	if err == nil {
		t.Fatal("a failed reload was not reported")
	}
}

func TestSwapsFlagErrors(t *testing.T) {
	targets := writeTargetsFile(t, "/metalink")
	for _, args := range [][]string{
		{"swaps", "-targets", targets},
		{"swaps", "-reload", "http://127.0.0.1:1/-/reload"},
		{"swaps", "-targets", targets, "-reload", "http://127.0.0.1:1/-/reload", "-swaps", "0"},
		{"swaps", "-targets", targets, "-reload", "http://example.com/-/reload"},
		{"swaps", "-targets", targets, "-reload", "http://127.0.0.1:1/-/reload", "-tail", "-1s"},
	} {
		if err := run(context.Background(), args, new(bytes.Buffer), new(bytes.Buffer)); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
