package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// explainPeer is the connection address of the explain tests' requests.
const explainPeer = "192.0.2.9:40000"

// explainCases are the golden explanations of the tiny set: each is asked
// for as JSON and as text, and must match testdata/explain/<name>.json and
// .txt (rewritten by -update).
var explainCases = []struct {
	name    string
	target  string // path and query; seed=1 is added
	header  http.Header
	minimum int // --minimum; 0 means 5
}{
	{name: "mirrorlist_netblock", target: "/-/explain/mirrorlist?repo=fedora-41&arch=x86_64&ip=" + fixtures.TinyAddrDENetblock},
	{name: "mirrorlist_de_minimum", target: "/-/explain/mirrorlist?repo=fedora-41&arch=x86_64&ip=" + fixtures.TinyAddrDE, minimum: 3},
	{name: "mirrorlist_asn", target: "/-/explain/mirrorlist?repo=updates-released-f41&arch=x86_64&ip=" + fixtures.TinyAddrUSASN},
	{name: "mirrorlist_tr_redirected_continent", target: "/-/explain/mirrorlist?repo=fedora-41&arch=x86_64&ip=" + fixtures.TinyAddrTR},
	{name: "mirrorlist_country_fr", target: "/-/explain/mirrorlist?repo=fedora-41&arch=x86_64&country=fr&ip=" + fixtures.TinyAddrDE},
	{name: "mirrorlist_country_continent", target: "/-/explain/mirrorlist?repo=fedora-41&arch=x86_64&country=AT&ip=" + fixtures.TinyAddrUS},
	{name: "mirrorlist_protocol_ftp", target: "/-/explain/mirrorlist?path=" + fixtures.TinyDirOS + "&protocol=ftp&netblock=0&ip=" + fixtures.TinyAddrDENetblock},
	{name: "mirrorlist_redirect_repo_redirect", target: "/-/explain/mirrorlist?repo=epel-10&arch=x86_64&redirect&ip=" + fixtures.TinyAddrCA},
	{name: "mirrorlist_source_xff", target: "/-/explain/mirrorlist?repo=fedora-source-41&arch=x86_64",
		header: http.Header{"X-Forwarded-For": {"10.0.0.1, " + fixtures.TinyAddrFR}}},
	{name: "mirrorlist_unknown_peer", target: "/-/explain/mirrorlist?path=" + fixtures.TinyDirUpdates + "&time"},
	{name: "metalink_override", target: "/-/explain/metalink?repo=updates-released-f41&arch=x86_64&protocol=https&ip=" + fixtures.TinyAddrCAOverride},
	{name: "metalink_file_without_versions", target: "/-/explain/metalink?path=" + fixtures.TinyDirEPELRepodata + "/" + fixtures.TinyFileNoDetails + "&ip=" + fixtures.TinyAddrDE},
	{name: "metalink_no_details", target: "/-/explain/metalink?path=" + fixtures.TinyDirEPELRepodata + "/primary.xml.gz&ip=" + fixtures.TinyAddrDE},
	{name: "metalink_bad_client", target: "/-/explain/metalink?repo=fedora-41&arch=x86_64",
		header: http.Header{"X-Forwarded-For": {"fe80::1%eth0"}}},
	{name: "metalink_malformed", target: "/-/explain/metalink?repo=%zz&arch=x86_64"},
	{name: "mirrorlist_invalid_repo", target: "/-/explain/mirrorlist?repo=fedora-40&arch=x86_64&ip=" + fixtures.TinyAddrDE},
	{name: "mirrorlist_disabled", target: "/-/explain/mirrorlist?repo=" + fixtures.TinyRepoDisabled + "&arch=x86_64&ip=" + fixtures.TinyAddrDE},
	{name: "mirrorlist_invalid_path", target: "/-/explain/mirrorlist?path=/pub//nowhere/x/&ip=" + fixtures.TinyAddrDE},
	{name: "mirrorlist_dotdot", target: "/-/explain/mirrorlist?path=" + fixtures.TinyDirOS + "/..&ip=" + fixtures.TinyAddrDE},
	{name: "mirrorlist_missing", target: "/-/explain/mirrorlist?countme=1"},
	{name: "mirrorlist_too_long", target: "/-/explain/mirrorlist?repo=fedora-41&arch=x86_64&pad=" + strings.Repeat("x", 100)},
}

// explainConfig is the public configuration the explain tests explain:
// the tiny set at answerTime, trusting every proxy, queries capped at 100
// bytes.
func explainConfig(s *snapshot.Snapshot, minimum int) Config {
	holder := new(snapshot.Holder)
	holder.Store(s)
	return Config{Holder: holder, Minimum: minimum, MaxQueryBytes: 100, Now: func() time.Time { return answerTime }}
}

func TestExplainGolden(t *testing.T) {
	for _, tc := range explainCases {
		t.Run(tc.name, func(t *testing.T) {
			minimum := tc.minimum
			if minimum == 0 {
				minimum = 5
			}
			cfg := explainConfig(fixtures.TinySnapshot(), minimum)
			e := NewExplainer(ExplainConfig{Public: cfg, Generation: func() uint64 { return 7 }})
			for _, format := range []string{"json", "text"} {
				target := tc.target + "&seed=1&format=" + format
				rec := explainRequest(e, target, tc.header)
				if rec.Code != 200 {
					t.Fatalf("%s: %d %s", target, rec.Code, rec.Body)
				}
				ext := map[string]string{"json": ".json", "text": ".txt"}[format]
				golden(t, filepath.Join("explain", tc.name+ext), rec.Body.Bytes())
				if format == "json" {
					path, query := publicTarget(tc.target)
					checkSameAnswer(t, cfg, rec.Body.Bytes(), path, query, tc.header)
				}
			}
		})
	}
}

// explainRequest asks e for target, from explainPeer.
func explainRequest(e http.Handler, target string, header http.Header) *httptest.ResponseRecorder {
	path, query, _ := strings.Cut(target, "?")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, clientRequest(path, query, header))
	return rec
}

// explainedAnswer is the part of a JSON explanation that checkSameAnswer
// reads.
type explainedAnswer struct {
	Answer struct {
		Status     int               `json:"status"`
		Headers    map[string]string `json:"headers"`
		Body       string            `json:"body"`
		BodyBase64 []byte            `json:"body_base64"`
		Seed       uint64            `json:"seed"`
	} `json:"answer"`
}

// checkSameAnswer checks that the answer in a JSON explanation is the one
// a public Handler of cfg, seeded as the explanation says, gives the
// client's request for path and query: status, headers and body, byte for
// byte.
func checkSameAnswer(t testing.TB, cfg Config, explanation []byte, path, query string, header http.Header) {
	t.Helper()
	var ex explainedAnswer
	if err := json.Unmarshal(explanation, &ex); err != nil {
		t.Fatalf("explanation of %s?%q: %v\n%s", path, query, err, explanation)
	}
	got := ex.Answer
	body := []byte(got.Body)
	if got.BodyBase64 != nil {
		body = got.BodyBase64
	}
	cfg.Rand = func() *rand.Rand { return seededRand(got.Seed) }
	rec := httptest.NewRecorder()
	New(cfg).ServeHTTP(rec, clientRequest(path, query, header))
	if rec.Code != got.Status || !bytes.Equal(rec.Body.Bytes(), body) {
		t.Fatalf("%s?%q: explained answer %d\n%s\npublic answer %d\n%s", path, query, got.Status, body, rec.Code, rec.Body)
	}
	want := map[string]string{}
	for k := range rec.Header() {
		want[k] = rec.Header().Get(k)
	}
	if fmt.Sprint(want) != fmt.Sprint(got.Headers) {
		t.Fatalf("%s?%q: explained headers %v, public %v", path, query, got.Headers, want)
	}
}

// publicTarget splits an explain target into the client's path and query:
// the query without seed= and format=.
func publicTarget(explainTarget string) (path, query string) {
	path, query, _ = strings.Cut(explainTarget, "?")
	var kept []string
	for _, pair := range strings.Split(query, "&") {
		if k, _, _ := strings.Cut(pair, "="); k != "seed" && k != "format" {
			kept = append(kept, pair)
		}
	}
	return strings.TrimPrefix(path, "/-/explain"), strings.Join(kept, "&")
}

// clientRequest is a GET of path with the raw query as it is (which
// httptest.NewRequest would refuse or cut at a '#'), from explainPeer.
func clientRequest(path, query string, header http.Header) *http.Request {
	h := http.Header{}
	for k, v := range header {
		h[k] = v
	}
	u := &url.URL{Path: path, RawQuery: query}
	return &http.Request{Method: "GET", URL: u, RequestURI: u.RequestURI(), Header: h, RemoteAddr: explainPeer}
}

// TestExplainSeed checks that an explanation without seed= reports the
// seed it drew, that the seed reproduces the answer, and that answers
// differ between seeds.
func TestExplainSeed(t *testing.T) {
	cfg := explainConfig(fixtures.TinySnapshot(), 5)
	e := NewExplainer(ExplainConfig{Public: cfg})
	const target = "/-/explain/metalink?repo=fedora-41&arch=x86_64&country=global&ip=" + fixtures.TinyAddrUnknown
	bodies := map[string]bool{}
	for range 50 {
		rec := explainRequest(e, target, nil)
		var ex explainedAnswer
		if err := json.Unmarshal(rec.Body.Bytes(), &ex); err != nil {
			t.Fatal(err)
		}
		if ex.Answer.Seed >= 1<<53 {
			t.Fatalf("seed %d: not exact in a float64", ex.Answer.Seed)
		}
		path, query := publicTarget(target)
		checkSameAnswer(t, cfg, rec.Body.Bytes(), path, query, nil)
		again := explainRequest(e, fmt.Sprintf("%s&seed=%d", target, ex.Answer.Seed), nil)
		if !bytes.Equal(again.Body.Bytes(), rec.Body.Bytes()) {
			t.Fatalf("seed=%d does not reproduce the explanation:\n%s\nthen\n%s", ex.Answer.Seed, rec.Body, again.Body)
		}
		bodies[ex.Answer.Body] = true
	}
	if len(bodies) < 2 {
		t.Errorf("50 explanations without seed= gave %d answers; want them shuffled", len(bodies))
	}
}

// TestExplainMixSmall checks, for the tiny and the small set's request
// mixes, that every explained answer is the public one.
func TestExplainMixSmall(t *testing.T) {
	s := smallHolder(t).Current()
	for _, set := range []struct {
		name string
		snap *snapshot.Snapshot
		mix  fixtures.Config
	}{
		{"tiny", fixtures.TinySnapshot(), fixtures.Config{Scale: fixtures.ScaleTiny}},
		{"small", s, fixtures.Config{Scale: fixtures.ScaleSmall, Seed: fixtures.SmallSeed}},
	} {
		t.Run(set.name, func(t *testing.T) { checkMix(t, set.snap, set.mix, 400, 1) })
	}
}

// TestExplainMixFedora is TestExplainMixSmall for a sample of the
// Fedora-scale mix, whose inputs are not in the repository: it skips
// when they are absent, as BenchmarkServeMix does.
func TestExplainMixFedora(t *testing.T) {
	dir := fedoraMixDir()
	paths := snapshot.PathsIn(dir)
	if _, err := os.Stat(paths.Cache); err != nil {
		t.Skipf("no Fedora-scale inputs in %s", dir)
	}
	if testing.Short() {
		t.Skip("loads the Fedora-scale snapshot")
	}
	s, err := snapshot.Load(context.Background(), paths)
	if err != nil {
		t.Fatal(err)
	}
	// Every fifth of the first 300: an explanation at this scale is half
	// a megabyte of JSON, and 60 of them take seconds under the race
	// detector.
	checkMix(t, s, fixtures.Config{Seed: 1, Scale: fixtures.ScaleFedora}, 300, 5)
}

// checkMix explains every step-th of the first n requests of a mix, each
// with a seed of its own, and checks their answers against the public
// handler's.
func checkMix(t *testing.T, s *snapshot.Snapshot, mix fixtures.Config, n, step int) {
	t.Helper()
	targets, err := fixtures.Mix(mix, n)
	if err != nil {
		t.Fatal(err)
	}
	cfg := explainConfig(s, 5)
	cfg.MaxQueryBytes = 8192
	e := NewExplainer(ExplainConfig{Public: cfg})
	kinds := map[int]int{}
	for i := 0; i < len(targets); i += step {
		target := targets[i]
		explainTarget := fmt.Sprintf("/-/explain%s&seed=%d", target, i)
		rec := explainRequest(e, explainTarget, nil)
		if rec.Code != 200 {
			t.Fatalf("%s: %d %s", explainTarget, rec.Code, rec.Body)
		}
		path, query := publicTarget(explainTarget)
		checkSameAnswer(t, cfg, rec.Body.Bytes(), path, query, nil)
		var ex explainedAnswer
		if err := json.Unmarshal(rec.Body.Bytes(), &ex); err != nil {
			t.Fatal(err)
		}
		kinds[ex.Answer.Status]++
	}
	t.Logf("%d requests explained, answers by status: %v", (n+step-1)/step, kinds)
}

// TestExplainPublicPort checks that the public port explains nothing: it
// routes on the path's ending, as production does, so an explain path
// there is an ordinary mirrorlist or metalink request and is answered as
// one, and one ending otherwise is not found.
func TestExplainPublicPort(t *testing.T) {
	cfg := explainConfig(fixtures.TinySnapshot(), 5)
	cfg.Rand = seeded
	h := New(cfg)
	const q = "?repo=fedora-41&arch=x86_64&ip=" + fixtures.TinyAddrDEPrivate + "&format=text&seed=1"
	for _, kind := range []string{"mirrorlist", "metalink"} {
		explain, plain := serve(h, "GET", "/-/explain/"+kind+q), serve(h, "GET", "/"+kind+q)
		if got, want := body(t, explain), body(t, plain); explain.StatusCode != plain.StatusCode || got != want {
			t.Errorf("public %s: /-/explain/%s answers %d\n%s\nwant /%s's %d\n%s", kind, kind, explain.StatusCode, got, kind, plain.StatusCode, want)
		}
	}
	if resp := serve(h, "GET", "/-/explain/"+q); resp.StatusCode != 404 || body(t, resp) != notFoundBody {
		t.Errorf("public /-/explain/: %d, want 404", resp.StatusCode)
	}
}

// TestExplainAdmin checks the explain endpoints on the admin handler and
// their refusals.
func TestExplainAdmin(t *testing.T) {
	cfg := explainConfig(fixtures.TinySnapshot(), 5)
	admin := NewAdmin(AdminConfig{Ready: NewReadiness(ReadinessConfig{Holder: cfg.Holder}), Explain: NewExplainer(ExplainConfig{Public: cfg})})
	without := NewAdmin(AdminConfig{Ready: NewReadiness(ReadinessConfig{Holder: cfg.Holder})})
	const q = "?repo=fedora-41&arch=x86_64&ip=" + fixtures.TinyAddrDE
	tests := []struct {
		name        string
		h           http.Handler
		method      string
		target      string
		status      int
		contentType string
	}{
		{"mirrorlist", admin, "GET", "/-/explain/mirrorlist" + q, 200, "application/json"},
		{"metalink text", admin, "GET", "/-/explain/metalink" + q + "&format=text", 200, "text/plain; charset=utf-8"},
		{"HEAD", admin, "HEAD", "/-/explain/metalink" + q, 200, "application/json"},
		{"POST", admin, "POST", "/-/explain/metalink" + q, 405, "text/plain; charset=utf-8"},
		{"bad format", admin, "GET", "/-/explain/mirrorlist" + q + "&format=xml", 400, "text/plain; charset=utf-8"},
		{"bad seed", admin, "GET", "/-/explain/mirrorlist" + q + "&seed=-1", 400, "text/plain; charset=utf-8"},
		{"other path", admin, "GET", "/-/explain/x/mirrorlist" + q, 404, "text/plain; charset=utf-8"},
		{"not configured", without, "GET", "/-/explain/mirrorlist" + q, 404, "text/plain; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := serve(tt.h, tt.method, tt.target)
			b := body(t, resp)
			if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != tt.contentType {
				t.Errorf("%d %q, want %d %q\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), tt.status, tt.contentType, b)
			}
			if tt.method == "HEAD" && (b != "" || resp.Header.Get("Content-Length") == "0") {
				t.Errorf("HEAD: body %q, Content-Length %s", b, resp.Header.Get("Content-Length"))
			}
		})
	}
}

// TestExplainNoSnapshot checks the explanation before the first load:
// the 503 the public port gives, and no snapshot.
func TestExplainNoSnapshot(t *testing.T) {
	e := NewExplainer(ExplainConfig{Public: Config{Holder: new(snapshot.Holder), Minimum: 5, Now: func() time.Time { return answerTime }}})
	rec := explainRequest(e, "/-/explain/metalink?repo=fedora-41&arch=x86_64&seed=1&format=text", nil)
	golden(t, filepath.Join("explain", "no_snapshot.txt"), rec.Body.Bytes())
}

func TestParseExplainQuery(t *testing.T) {
	tests := []struct {
		raw, query string
		text       bool
		seed       uint64
		err        bool
	}{
		{raw: "", query: ""},
		{raw: "repo=a&arch=b", query: "repo=a&arch=b"},
		{raw: "format=text&repo=a&seed=9&arch=b&", query: "repo=a&arch=b&", text: true, seed: 9},
		{raw: "seed=1&seed=2&format=json", query: "", seed: 2},
		{raw: "repo=a&&format=text&", query: "repo=a&&", text: true},
		{raw: "formats=1&seeds=2&Format=x", query: "formats=1&seeds=2&Format=x"},
		{raw: "format=html", err: true},
		{raw: "seed=0x10", err: true},
		{raw: "seed", err: true},
	}
	for _, tt := range tests {
		opt, err := parseExplainQuery(tt.raw)
		if (err != nil) != tt.err {
			t.Errorf("%q: error %v, want error %v", tt.raw, err, tt.err)
			continue
		}
		if err == nil && (opt.query != tt.query || opt.text != tt.text || opt.seed != tt.seed) {
			t.Errorf("%q: query %q text %v seed %d, want %q %v %d", tt.raw, opt.query, opt.text, opt.seed, tt.query, tt.text, tt.seed)
		}
	}
}
