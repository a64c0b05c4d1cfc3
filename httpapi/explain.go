package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mirrorlist-go/mirrorlist-server/resolve"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// The paths of the explain endpoints (admin listener).
const (
	ExplainMirrorlistPath = "/-/explain/mirrorlist"
	ExplainMetalinkPath   = "/-/explain/metalink"
)

// ExplainConfig configures the explain endpoints.
type ExplainConfig struct {
	// Public is the configuration of the public handler whose answers are
	// explained: its Holder, Minimum, TrustedProxies, MaxQueryBytes and
	// Now are used. Its access log, metrics and Rand are not: an
	// explanation is no client's request, and it draws from its own seed.
	Public Config
	// Generation, if set, gives the reloader's generation of the served
	// snapshot.
	Generation func() uint64
}

// Explainer answers GET /-/explain/mirrorlist?QUERY and
// /-/explain/metalink?QUERY: why the public port answers QUERY as it does
// (docs/protocol.md section 9). QUERY is what a client sends; the
// parameters format= ("json", the default, or "text") and seed= (the
// random seed, decimal) are the explainer's and are removed first. The
// answer inside is rendered by the public handler's code with the same
// settings, and with seed= it is the same byte for byte at every call
// (but for a metalink's pubdate, the time of the call). An explanation
// shows private mirrors: the explainer belongs on the admin listener
// only.
type Explainer struct {
	h          *Handler
	generation func() uint64
}

// NewExplainer returns an Explainer for cfg.
func NewExplainer(cfg ExplainConfig) *Explainer {
	pub := cfg.Public
	h := New(Config{
		Holder: pub.Holder, Minimum: pub.Minimum, TrustedProxies: pub.TrustedProxies,
		MaxQueryBytes: pub.MaxQueryBytes, Now: pub.Now,
	})
	return &Explainer{h: h, generation: cfg.Generation}
}

// ServeHTTP implements http.Handler. GET and HEAD are answered, on the
// two explain paths only.
func (e *Explainer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !allowGet(w, r) {
		return
	}
	var kind resolve.Kind
	switch rawPath(r.URL) {
	case ExplainMirrorlistPath:
		kind = resolve.Mirrorlist
	case ExplainMetalinkPath:
		kind = resolve.Metalink
	default:
		http.NotFound(w, r)
		return
	}
	opt, err := parseExplainQuery(r.URL.RawQuery)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ex := e.explain(kind, opt, r.Header, r.RemoteAddr)
	var body []byte
	contentType := "application/json"
	if opt.text {
		body, contentType = ex.appendText(nil), "text/plain; charset=utf-8"
	} else {
		body = ex.json()
	}
	hdr := w.Header()
	hdr.Set("Content-Type", contentType)
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	hdr.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// explainOptions are the explainer's own parameters and the client's
// query without them.
type explainOptions struct {
	query   string
	text    bool
	seed    uint64
	hasSeed bool
}

// parseExplainQuery removes format= and seed= (every occurrence; the
// last counts) from a raw query and parses them. The client's pairs keep
// their order and bytes, empty ones included. A client's own format= or seed= would be ignored
// by the public port, which knows neither; removing them changes nothing
// but the query's length against --max-query-bytes.
func parseExplainQuery(raw string) (explainOptions, error) {
	var opt explainOptions
	var kept []string
	var format, seed string
	var hasFormat bool
	for _, pair := range strings.Split(raw, "&") {
		key, value, _ := strings.Cut(pair, "=")
		switch key {
		case "format":
			format, hasFormat = value, true
		case "seed":
			seed, opt.hasSeed = value, true
		default:
			kept = append(kept, pair)
		}
	}
	opt.query = strings.Join(kept, "&")
	switch {
	case !hasFormat, format == "json":
	case format == "text":
		opt.text = true
	default:
		return opt, fmt.Errorf("format=%q: want json or text", format)
	}
	if opt.hasSeed {
		n, err := strconv.ParseUint(seed, 10, 64)
		if err != nil {
			return opt, fmt.Errorf("seed=%q: want a decimal number below 2^64", seed)
		}
		opt.seed = n
	}
	return opt, nil
}

// seededRand is the random source of an explanation with seed seed.
func seededRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed)) }

// explain answers the query as the public port would, with a trace, and
// explains the answer. A random seed is below 2^53, so that JSON tools,
// which read numbers as float64, keep it exact.
func (e *Explainer) explain(kind resolve.Kind, opt explainOptions, header http.Header, remote string) *explanation {
	seed := opt.seed
	if !opt.hasSeed {
		seed = rand.Uint64() >> 11
	}
	var t resolve.Trace
	a := new(resolve.Answer)
	x := exchange{
		kind: kind, query: opt.query, header: header, remote: remote,
		now: e.h.answerTime(time.Now()), rng: seededRand(seed), trace: &t, req: new(resolve.Request),
	}
	out := e.h.render(nil, &x, a)
	b := explanationBuilder{e: e, x: &x, a: a, t: &t, out: out}
	return b.build(seed)
}

// explanation is what the explain endpoints answer; json() and
// appendText() write it.
type explanation struct {
	Kind     string        `json:"kind"`
	Query    string        `json:"query"`
	Snapshot *snapshotInfo `json:"snapshot"`
	Client   *clientInfo   `json:"client"`
	Request  requestInfo   `json:"request"`
	Steps    []stepInfo    `json:"steps"`
	Excluded []hostInfo    `json:"excluded"`
	Answer   answerInfo    `json:"answer"`
}

type snapshotInfo struct {
	Generation uint64 `json:"generation,omitempty"`
	Time       uint64 `json:"time"`
	TimeUTC    string `json:"time_utc"`
}

type clientInfo struct {
	Address       string         `json:"address"` // "" when the text does not parse
	From          string         `json:"from"`    // ip=, X-Forwarded-For or peer
	Text          string         `json:"text"`    // the address as found there
	Country       string         `json:"country"` // N/A when unknown
	CountrySource string         `json:"country_source,omitempty"`
	CountryPrefix string         `json:"country_prefix,omitempty"`
	GeoIPCountry  string         `json:"geoip_country,omitempty"` // when NetblockCountryCache overrides it
	GeoIPNetwork  string         `json:"geoip_network,omitempty"`
	Continent     string         `json:"continent,omitempty"`
	ContinentFrom string         `json:"continent_source,omitempty"`
	ASN           uint32         `json:"asn,omitempty"`
	RouteRange    string         `json:"route_range,omitempty"`
	Netblocks     []netblockInfo `json:"host_netblocks"`
}

type netblockInfo struct {
	Prefix string  `json:"prefix"`
	Hosts  []int64 `json:"hosts"`
}

type requestInfo struct {
	Repo     *string `json:"repo,omitempty"`
	Arch     *string `json:"arch,omitempty"`
	Path     *string `json:"path,omitempty"`
	Version  string  `json:"version,omitempty"`
	Country  string  `json:"country,omitempty"`
	Protocol *string `json:"protocol,omitempty"`
	Netblock *bool   `json:"netblock,omitempty"` // the netblock and ASN steps may run
	Redirect *bool   `json:"redirect,omitempty"`
	Time     *bool   `json:"time,omitempty"`

	Rule         string `json:"rule,omitempty"`
	RepoArch     string `json:"repo_arch,omitempty"`           // the RepoArchToDirectoryName key looked up
	SourceArch   bool   `json:"source_arch,omitempty"`         // "source" in the repository made the arch source
	RepoRedirect string `json:"repository_redirect,omitempty"` // "from -> to"
	Directory    string `json:"directory,omitempty"`
	File         string `json:"file,omitempty"`

	EarlyAnswer string `json:"early_answer,omitempty"`
	Why         string `json:"why,omitempty"`
}

type stepInfo struct {
	Step    int        `json:"step"` // the number in docs/protocol.md section 5
	Name    string     `json:"name"`
	Ran     bool       `json:"ran"`
	Note    string     `json:"note,omitempty"`
	Hosts   []hostInfo `json:"hosts,omitempty"`
	Trimmed []hostInfo `json:"trimmed,omitempty"`
}

type hostInfo struct {
	ID         int64    `json:"id"`
	Country    string   `json:"country"`
	Weight     int64    `json:"weight"`
	Private    bool     `json:"private,omitempty"`
	Allowed    []string `json:"allowed_countries,omitempty"`
	Netblock   string   `json:"netblock,omitempty"`   // step 1: the longest host netblock
	ASN        uint32   `json:"asn,omitempty"`        // step 2
	List       string   `json:"list,omitempty"`       // country steps: the country list, or global
	Preference int      `json:"preference,omitempty"` // metalink answers
	URLs       []string `json:"urls,omitempty"`       // those the answer lists
	OtherURLs  []string `json:"other_urls,omitempty"` // its other URLs for the directory
	Reason     string   `json:"reason,omitempty"`     // excluded hosts
}

type answerInfo struct {
	Status       int               `json:"status"`
	Headers      map[string]string `json:"headers"`
	Body         string            `json:"body"`
	BodyBase64   []byte            `json:"body_base64,omitempty"` // when the body is not UTF-8, which "body" cannot carry exactly
	Seed         uint64            `json:"seed"`
	FoundVia     string            `json:"found_via,omitempty"`
	Mirrors      int               `json:"mirrors"`
	RedirectHost int64             `json:"redirect_host,omitempty"`
}

// json returns the explanation as indented JSON.
func (ex *explanation) json() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(ex); err != nil {
		// Only unsupported types fail, and an explanation has none.
		panic(fmt.Sprintf("explain: %v", err))
	}
	return b.Bytes()
}

// explanationBuilder builds an explanation from a rendered answer and its trace.
type explanationBuilder struct {
	e   *Explainer
	x   *exchange
	a   *resolve.Answer
	t   *resolve.Trace
	out reply

	facts  snapshot.ClientFacts
	byHost map[snapshot.HostRef]*resolve.Mirror // the answer's mirrors
}

func (b *explanationBuilder) build(seed uint64) *explanation {
	x := b.x
	ex := &explanation{
		Kind:     kindName(x.kind),
		Query:    x.query,
		Steps:    []stepInfo{},
		Excluded: []hostInfo{},
		Answer:   b.answer(seed),
	}
	if s := b.snapshot(); s != nil {
		ex.Snapshot = b.snapshotInfo(s)
	}
	ex.Request = b.request()
	if !x.resolved {
		return ex
	}
	b.facts = x.snap.ClientFacts(x.req.Client)
	// A message lists no mirror, even when it came after the selection
	// (a metalink for a file without details).
	b.byHost = make(map[snapshot.HostRef]*resolve.Mirror, len(b.a.Mirrors))
	for i := range b.a.Mirrors {
		if b.a.Form != resolve.Message {
			b.byHost[b.a.Mirrors[i].Host] = &b.a.Mirrors[i]
		}
	}
	ex.Client = b.client()
	if b.t.Selected {
		ex.Steps = b.steps()
	}
	if b.t.Selected && b.a.Form != resolve.Message {
		ex.Excluded = b.excluded()
	}
	return ex
}

func kindName(k resolve.Kind) string {
	if k == resolve.Metalink {
		return "metalink"
	}
	return "mirrorlist"
}

// snapshot is the snapshot of the answer or, for an answer that came
// before render read one (the 414), the one served now.
func (b *explanationBuilder) snapshot() *snapshot.Snapshot {
	if b.x.snap != nil {
		return b.x.snap
	}
	return b.e.h.holder.Current()
}

func (b *explanationBuilder) snapshotInfo(s *snapshot.Snapshot) *snapshotInfo {
	si := &snapshotInfo{Time: s.Time(), TimeUTC: time.Unix(int64(s.Time()), 0).UTC().Format(time.RFC3339)}
	if b.e.generation != nil {
		si.Generation = b.e.generation()
	}
	return si
}

func (b *explanationBuilder) answer(seed uint64) answerInfo {
	out := b.out
	hdr := http.Header{}
	out.setHeaders(hdr)
	ai := answerInfo{Status: out.status, Headers: map[string]string{}, Body: string(out.body), Seed: seed}
	for k := range hdr {
		ai.Headers[k] = hdr.Get(k)
	}
	if !utf8.Valid(out.body) {
		ai.BodyBase64 = out.body
	}
	if b.x.resolved && b.a.Form != resolve.Message {
		ai.FoundVia = b.a.FoundVia.String()
		ai.Mirrors = len(b.a.Mirrors)
	}
	if b.a.Form == resolve.Redirect && b.a.Location != "" {
		ai.RedirectHost = b.redirectHost()
	}
	return ai
}

// redirectHost returns the id of the host whose URL is the redirect's
// Location: the first mirror that lists it.
func (b *explanationBuilder) redirectHost() int64 {
	s, a := b.x.snap, b.a
	for i := range a.Mirrors {
		m := &a.Mirrors[i]
		for j := range m.URLs {
			if string(a.AppendURL(nil, s, m, j)) == a.Location {
				return s.Mirrors().Host(m.Host).ID
			}
		}
	}
	return 0
}

func (b *explanationBuilder) client() *clientInfo {
	x, f := b.x, &b.facts
	ci := &clientInfo{From: x.from.String(), Text: x.clientText, Country: "N/A", Netblocks: []netblockInfo{}}
	if !x.req.Client.IsValid() {
		return ci
	}
	ci.Address = x.req.Client.String()
	if f.Country != "" {
		ci.Country = f.Country
		ci.CountrySource, ci.CountryPrefix = "GeoIP", f.CountryPrefix.String()
	}
	if f.FromNetblock {
		ci.CountrySource = "NetblockCountryCache"
		ci.GeoIPCountry = f.GeoIPCountry
		if f.GeoIPNetwork.IsValid() {
			ci.GeoIPNetwork = f.GeoIPNetwork.String()
		}
	}
	if f.Continent != "" {
		ci.Continent, ci.ContinentFrom = f.Continent, "country_continent.csv"
		if f.ContinentRedirect {
			ci.ContinentFrom = "CountryContinentRedirectCache"
		}
	}
	if f.HasRoute {
		ci.ASN, ci.RouteRange = f.ASN, f.RouteFirst.String()+" - "+f.RouteLast.String()
	}
	for _, nb := range f.Netblocks {
		ci.Netblocks = append(ci.Netblocks, netblockInfo{Prefix: nb.Prefix.String(), Hosts: b.x.snap.Mirrors().HostIDs(nb.Hosts)})
	}
	return ci
}

// request describes the parsed query and how the directory was found, or
// the early answer and why.
func (b *explanationBuilder) request() requestInfo {
	x, t := b.x, b.t
	var ri requestInfo
	switch {
	case b.out.status == http.StatusRequestURITooLong:
		ri.EarlyAnswer = "query too long"
		ri.Why = fmt.Sprintf("the query has %d bytes, more than --max-query-bytes (%d)", len(x.query), b.e.h.maxQuery)
		return ri
	case x.snap == nil:
		ri.EarlyAnswer, ri.Why = "no snapshot", "no snapshot is loaded yet"
		return ri
	case !x.resolved:
		ri.EarlyAnswer, ri.Why = "malformed query", x.err.Error()
		return ri
	}
	req := x.req
	ri.Repo, ri.Arch, ri.Path = optional(req.Repo, req.HasRepo), optional(req.Arch, req.HasArch), optional(req.Path, req.HasPath)
	ri.Version, ri.Country, ri.Protocol = req.Version, req.Country, optional(req.Protocol, req.HasProto)
	ri.Netblock, ri.Redirect, ri.Time = ptr(!req.NoNetblock), ptr(req.Redirect), ptr(req.Time)
	switch t.Rule {
	case resolve.RulePath:
		ri.Rule = "path: a directory"
		if t.Dir == "" {
			ri.Rule = "path: nothing the snapshot has"
		}
	case resolve.RulePathFile:
		ri.Rule = "path: a file in a directory"
	case resolve.RuleRepoArch:
		ri.Rule, ri.RepoArch, ri.SourceArch = "repo+arch", t.Repo+"+"+t.Arch, t.Source
		if t.RedirectedFrom != "" {
			ri.RepoRedirect = t.RedirectedFrom + " -> " + t.Repo
		}
	}
	ri.Directory, ri.File = t.Dir, t.File
	ri.EarlyAnswer, ri.Why = b.stopReason()
	return ri
}

func ptr[T any](v T) *T { return &v }

func optional(v string, ok bool) *string {
	if !ok {
		return nil
	}
	return &v
}

// stopReason names the early answer of a resolved request and says why.
func (b *explanationBuilder) stopReason() (string, string) {
	t, x := b.t, b.x
	switch t.Stop {
	case resolve.StopMissingParams:
		return "missing parameters", "neither path= nor both repo= and arch= are given"
	case resolve.StopInvalidPath:
		last := t.Path[strings.LastIndexByte(t.Path, '/')+1:]
		if last == "." || last == ".." {
			return "invalid path", fmt.Sprintf("the path ends in %q, which never names a file", last)
		}
		return "invalid path", fmt.Sprintf("%q is neither a directory of the snapshot nor a file in one", t.Path)
	case resolve.StopDisabled:
		return "repo disabled", fmt.Sprintf("the snapshot marks repository %q disabled", t.Repo)
	case resolve.StopInvalidRepo:
		return "invalid repo or arch", fmt.Sprintf("the snapshot has no RepoArchToDirectoryName entry %q", t.Repo+"+"+t.Arch)
	case resolve.StopBrokenIndex:
		return "broken index", fmt.Sprintf("RepoArchToDirectoryName maps %q to %q, which is not among the snapshot's directories", t.Repo+"+"+t.Arch, t.Dir)
	case resolve.StopBadClient:
		return "bad client address", fmt.Sprintf("the client address %q (from %s) does not parse", x.clientText, x.from)
	case resolve.StopNoDetails:
		return "no metalink", fmt.Sprintf("the snapshot has no FileDetailsCache entry for %q in %q", t.File, t.Dir)
	}
	return "", ""
}

// host describes a host of the directory; p, if not nil, is how a step
// offered it.
func (b *explanationBuilder) host(h snapshot.HostRef, p *resolve.Pick, step resolve.Step) hostInfo {
	ms := b.x.snap.Mirrors()
	host := ms.Host(h)
	hi := hostInfo{ID: host.ID, Country: host.Country, Weight: host.Weight, Private: !b.a.Dir.InGlobal(h)}
	if ccs, ok := host.CountriesAllowed(); ok {
		hi.Allowed = append([]string{}, ccs...)
	}
	if p != nil {
		switch step {
		case resolve.StepNetblocks:
			hi.Netblock = b.netblockOf(p.Bits)
		case resolve.StepASN:
			hi.ASN = b.facts.ASN
		default:
			hi.List = p.Country
		}
	}
	listed := map[snapshot.URLRef]bool{}
	if m := b.byHost[h]; m != nil {
		if b.x.kind == resolve.Metalink {
			hi.Preference = m.Preference
		}
		for _, u := range m.URLs {
			listed[u] = true
			hi.URLs = append(hi.URLs, b.fullURL(u))
		}
	}
	urls, _ := b.a.Dir.URLs(h)
	for _, u := range urls {
		if !listed[u] {
			hi.OtherURLs = append(hi.OtherURLs, b.fullURL(u))
		}
	}
	return hi
}

// netblockOf returns the client's host netblock of length bits.
func (b *explanationBuilder) netblockOf(bits int) string {
	for _, nb := range b.facts.Netblocks {
		if nb.Prefix.Bits() == bits {
			return nb.Prefix.String()
		}
	}
	return "/" + strconv.Itoa(bits)
}

// fullURL is an hcurl's URL as the answer would list it.
func (b *explanationBuilder) fullURL(u snapshot.URLRef) string {
	base := b.x.snap.Mirrors().URL(u)
	return string(b.a.AppendURLSuffix([]byte(base), strings.HasSuffix(base, "/")))
}
