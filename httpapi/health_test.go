package httpapi

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

func TestReadiness(t *testing.T) {
	s := fixtures.TinySnapshot()
	snapTime := time.Unix(int64(s.Time()), 0).UTC().Format(time.RFC3339)
	failedAt := time.Date(2026, 11, 24, 21, 30, 0, 0, time.UTC)
	failed := ReloadState{Generation: 3, Failure: "failed", FailureTime: failedAt,
		Error: "mirrors: /data/mirrorlist_cache.proto: unexpected EOF\nsecond line"}
	tests := []struct {
		name    string
		snap    *snapshot.Snapshot
		status  *ReloadState // nil: no reloader
		verbose bool
		code    int
		body    string
	}{
		{"before the first load", nil, nil, true, 503, "not ready: no snapshot loaded yet\n"},
		{"first load failed", nil, &ReloadState{Failure: "failed", FailureTime: failedAt, Error: "cccsv: no such file"}, true, 503,
			"not ready: no snapshot loaded yet; last reload failed at 2026-11-24T21:30:00Z: cccsv: no such file\n"},
		{"loaded, no reloader", s, nil, true, 200, "ready: snapshot time " + snapTime + "\n"},
		{"loaded", s, &ReloadState{Generation: 1}, true, 200,
			"ready: generation 1, snapshot time " + snapTime + "\n"},
		{"after a failed reload", s, &failed, true, 200,
			"ready: generation 3, snapshot time " + snapTime + "; last reload failed at 2026-11-24T21:30:00Z: mirrors: /data/mirrorlist_cache.proto: unexpected EOF%0Asecond line\n"},
		{"after a failed reload, terse", s, &failed, false, 200,
			"ready: generation 3, snapshot time " + snapTime + "; last reload failed at 2026-11-24T21:30:00Z\n"},
		{"after a refused reload", s, &ReloadState{Generation: 2, Failure: "refused", FailureTime: failedAt, Error: "shrink guard"}, true, 200,
			"ready: generation 2, snapshot time " + snapTime + "; last reload refused at 2026-11-24T21:30:00Z: shrink guard\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			holder := new(snapshot.Holder)
			if tt.snap != nil {
				holder.Store(tt.snap)
			}
			cfg := ReadinessConfig{Holder: holder, Verbose: tt.verbose}
			if tt.status != nil {
				cfg.Reloads = func() ReloadState { return *tt.status }
			}
			resp := serve(NewReadiness(cfg), "GET", ReadyPath)
			if got := body(t, resp); resp.StatusCode != tt.code || got != tt.body {
				t.Errorf("got %d %q\nwant %d %q", resp.StatusCode, got, tt.code, tt.body)
			}
		})
	}
}

// TestHealthRouting checks /readyz on the main handler (ahead of the
// suffix routing) and every admin endpoint.
func TestHealthRouting(t *testing.T) {
	holder := new(snapshot.Holder)
	main := New(Config{Holder: holder})
	reloads := 0
	admin := NewAdmin(AdminConfig{
		Ready:  NewReadiness(ReadinessConfig{Holder: holder, Verbose: true}),
		Reload: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reloads++ }),
	})
	check := func(h http.Handler, method, target string, code int, bodyPrefix string) {
		t.Helper()
		resp := serve(h, method, target)
		if got := body(t, resp); resp.StatusCode != code || !strings.HasPrefix(got, bodyPrefix) {
			t.Errorf("%s %s: %d %q, want %d %q...", method, target, resp.StatusCode, got, code, bodyPrefix)
		}
	}
	check(main, "GET", "/readyz", 503, "not ready")
	check(admin, "GET", "/readyz", 503, "not ready")
	check(admin, "GET", "/healthz", 200, "ok\n")
	check(admin, "HEAD", "/healthz", 200, "")
	check(admin, "POST", "/healthz", 405, "method not allowed")
	check(main, "POST", "/readyz", 405, "method not allowed")
	check(main, "GET", "/healthz", 404, notFoundBody) // admin only
	check(main, "GET", "/metrics", 404, notFoundBody)
	check(admin, "GET", "/metrics", 404, "404 page not found") // no Gatherer
	check(admin, "GET", "/mirrorlist", 404, "404 page not found")
	holder.Store(fixtures.TinySnapshot())
	check(main, "GET", "/readyz", 200, "ready: snapshot time ")
	check(main, "GET", "/readyz?x=1", 200, "ready: ")
	check(main, "GET", "/foo/readyz", 404, notFoundBody)
	check(admin, "POST", "/-/reload", 200, "")
	if reloads != 1 {
		t.Errorf("the reload handler ran %d times, want 1", reloads)
	}
	check(admin, "GET", "/debug/pprof/", 404, "404 page not found") // not asked for
	check(main, "GET", "/debug/pprof/", 404, notFoundBody)

	profiling := NewAdmin(AdminConfig{Ready: NewReadiness(ReadinessConfig{Holder: holder}), Profiling: true})
	check(profiling, "GET", "/debug/pprof/", 200, "<html>")
	check(profiling, "GET", "/debug/pprof/goroutine?debug=1", 200, "goroutine profile: total ")
	check(profiling, "GET", "/debug/pprof/cmdline", 200, "")
}
