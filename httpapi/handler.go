// Package httpapi is the HTTP face of the mirrorlist server: it routes
// requests, parses their queries and client addresses, asks package resolve
// for the answer and writes it byte for byte as protocol.md section 7
// describes, and it keeps the statistics access log of section 8. It also
// answers the health endpoints (/readyz on the main port; /healthz, /readyz,
// /metrics and the reload hook on the admin listener, see NewAdmin) and
// keeps the Prometheus metrics of the requests and answers.
//
// The request path is built to allocate little: the query is scanned in
// place instead of into a map, answers, buffers and random sources are
// pooled, and bodies are appended without fmt.
package httpapi

import (
	"math/rand/v2"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/mirrorlist-go/mirrorlist-server/resolve"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// Bodies and content types of the answers the handler gives on its own.
const (
	notFoundBody      = "We don't serve their kind here!"
	methodBody        = "Method not allowed: use GET or HEAD."
	queryTooLongBody  = "Request-URI too long: the query is longer than this server accepts."
	unavailableBody   = "The mirror data is not loaded yet; try again shortly."
	contentTypeText   = "text/plain"
	contentTypeMeta   = "application/metalink+xml"
	maxPooledBodySize = 1 << 20 // larger buffers are left to the GC
)

// Config configures a Handler.
type Config struct {
	// Holder supplies the snapshot; each request uses the one current
	// when it starts. Required.
	Holder *snapshot.Holder
	// Minimum is --minimum: with fewer hosts than this the global list is
	// added.
	Minimum int
	// AccessLog receives a line per repo/arch request; nil logs nothing.
	AccessLog *AccessLog
	// Logger gets one debug line per request; nil discards.
	Logger *zap.Logger
	// Now gives the answer time (metalink pubdate, access-log date); nil
	// means time.Now.
	Now func() time.Time
	// Rand, if set, supplies the random source of each request, which
	// lets tests make answers reproducible. It must return a source that
	// no other goroutine is using. Nil means a pooled, randomly seeded PCG
	// per request: no lock is shared between requests.
	Rand func() *rand.Rand

	// Metrics, if set, counts requests, answers and durations.
	Metrics *Metrics
	// TrustedProxies are the peers whose X-Forwarded-For header gives the
	// client address. Nil trusts every peer, as production does; an empty
	// non-nil slice trusts none.
	TrustedProxies []netip.Prefix
	// MaxQueryBytes caps the length of the raw query: a longer one is
	// answered 414 before it is parsed. Zero means no cap.
	MaxQueryBytes int
	// Ready answers GET /readyz on this handler, ahead of the suffix
	// routing, for load balancers that check the port they send traffic
	// to. Nil means a Readiness of Holder alone.
	Ready http.Handler
}

// Handler answers /mirrorlist and /metalink requests. Create it with New.
type Handler struct {
	holder   *snapshot.Holder
	opts     resolve.Options
	log      *AccessLog
	logger   *zap.Logger
	now      func() time.Time
	newRand  func() *rand.Rand // nil: use rngs
	metrics  *Metrics
	proxies  trustedProxies
	maxQuery int
	ready    http.Handler

	rngs    sync.Pool // *rand.Rand
	answers sync.Pool // *resolve.Answer
	bufs    sync.Pool // *[]byte
}

// New returns a Handler for cfg.
func New(cfg Config) *Handler {
	h := &Handler{
		holder:   cfg.Holder,
		opts:     resolve.Options{Minimum: cfg.Minimum},
		log:      cfg.AccessLog,
		logger:   cfg.Logger,
		now:      cfg.Now,
		newRand:  cfg.Rand,
		metrics:  cfg.Metrics,
		proxies:  cfg.TrustedProxies,
		maxQuery: cfg.MaxQueryBytes,
		ready:    cfg.Ready,
	}
	if h.ready == nil {
		h.ready = NewReadiness(ReadinessConfig{Holder: cfg.Holder})
	}
	if h.logger == nil {
		h.logger = zap.NewNop()
	}
	// math/rand/v2's top-level functions draw from a per-thread ChaCha8
	// state without a global lock, so seeding a new source is cheap and
	// safe from any goroutine.
	h.rngs.New = func() any { return rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())) }
	h.answers.New = func() any { return new(resolve.Answer) }
	h.bufs.New = func() any { b := make([]byte, 0, 4096); return &b }
	return h
}

// kindOf routes a request path by its suffix; ok is false for any path
// that is neither a mirrorlist nor a metalink.
func kindOf(path string) (kind resolve.Kind, ok bool) {
	switch {
	case strings.HasSuffix(path, "/mirrorlist"):
		return resolve.Mirrorlist, true
	case strings.HasSuffix(path, "/metalink"):
		return resolve.Metalink, true
	}
	return 0, false
}

// ServeHTTP implements http.Handler.
//
// /readyz is answered first, and is not counted in the metrics: health
// checks every few seconds would drown the traffic. Every other request is
// counted by kind and status, and timed, when the handler has Metrics.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == ReadyPath {
		h.ready.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	kind, status := h.serve(w, r, h.answerTime(start))
	if h.metrics != nil {
		h.metrics.observeRequest(kind, status, time.Since(start))
	}
}

// answerTime returns the time an answer states (metalink pubdate,
// access-log date): the request's start, so that the clock is read once
// per request, unless Config.Now gives another clock.
func (h *Handler) answerTime(start time.Time) time.Time {
	if h.now != nil {
		return h.now()
	}
	return start
}

// serve answers a request at time now and returns its kind and status for
// the metrics.
//
// A path that is neither kind gets 404 whatever the method; a known path
// with a method other than GET or HEAD gets 405 (a Deviation: the old
// server answered every method as GET), and a query longer than the cap a
// plain 414. HEAD answers carry the headers of the GET answer,
// Content-Length included, and no body.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, now time.Time) (requestKind, int) {
	kind, ok := kindOf(r.URL.Path)
	if !ok {
		return kindOther, h.writePlain(w, r, http.StatusNotFound, notFoundBody)
	}
	rk := requestKindOf(kind, false)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return rk, h.writePlain(w, r, http.StatusMethodNotAllowed, methodBody)
	}
	if h.maxQuery > 0 && len(r.URL.RawQuery) > h.maxQuery {
		return rk, h.writePlain(w, r, http.StatusRequestURITooLong, queryTooLongBody)
	}
	snap := h.holder.Current()
	if snap == nil {
		return rk, h.writeError(w, r, kind, http.StatusServiceUnavailable, unavailableBody, now)
	}
	req := resolve.Request{Kind: kind}
	ip, err := parseQuery(r.URL.RawQuery, &req)
	if err != nil {
		return rk, h.writeError(w, r, kind, http.StatusBadRequest, err.Error(), now)
	}
	rk = requestKindOf(kind, req.Redirect)
	req.Client = clientAddr(ip, r.Header, r.RemoteAddr, h.proxies)
	return rk, h.answer(w, r, snap, &req, now)
}

// answer resolves a parsed request, logs it, writes the answer and
// returns its status.
func (h *Handler) answer(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, req *resolve.Request, now time.Time) int {
	a := h.answers.Get().(*resolve.Answer)
	defer h.putAnswer(a)
	h.resolve(snap, req, a)
	if a.Log {
		h.log.Log(req.Client, now, a.ClientCountry, a.LogRepo, a.LogArch)
	}
	h.metrics.observeAnswer(a)
	if ce := h.logger.Check(zap.DebugLevel, "request"); ce != nil {
		ce.Write(zap.String("method", r.Method), zap.String("uri", r.RequestURI),
			zap.Stringer("client", req.Client), zap.Int("status", a.Status),
			zap.String("found_via", a.FoundVia), zap.String("country", a.ClientCountry),
			zap.Int("mirrors", len(a.Mirrors)))
	}
	return h.write(w, r, snap, req.Kind, a, now)
}

// resolve runs resolve.Resolve with a random source of this request only.
func (h *Handler) resolve(snap *snapshot.Snapshot, req *resolve.Request, a *resolve.Answer) {
	if h.newRand != nil {
		resolve.Resolve(snap, req, h.opts, h.newRand(), a)
		return
	}
	rng := h.rngs.Get().(*rand.Rand)
	resolve.Resolve(snap, req, h.opts, rng, a)
	h.rngs.Put(rng)
}

// putAnswer returns an answer to the pool, reset so that the pool does not
// keep the previous snapshot's directory alive.
func (h *Handler) putAnswer(a *resolve.Answer) {
	a.Reset()
	h.answers.Put(a)
}

// write sends an answer in the form resolve chose and returns its status.
func (h *Handler) write(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, kind resolve.Kind, a *resolve.Answer, now time.Time) int {
	switch a.Form {
	case resolve.Text:
		buf := h.getBuf()
		defer h.putBuf(buf)
		*buf = appendMirrorlist(*buf, snap, a)
		return h.send(w, r, statusOr(a.Status, http.StatusOK), contentTypeText, *buf)
	case resolve.Redirect:
		return h.writeRedirect(w, r, a.Location)
	case resolve.Document:
		buf := h.getBuf()
		defer h.putBuf(buf)
		*buf = appendMetalink(*buf, snap, a, now)
		return h.send(w, r, statusOr(a.Status, http.StatusOK), contentTypeMeta, *buf)
	default: // resolve.Message
		status := statusOr(a.Status, http.StatusInternalServerError)
		if a.Plain {
			return h.writePlain(w, r, status, a.Message)
		}
		return h.writeError(w, r, kind, status, a.Message, now)
	}
}

// writeRedirect answers a mirrorlist request with redirect: 302 to the
// chosen URL, or 404 when there is none; the body is empty either way.
func (h *Handler) writeRedirect(w http.ResponseWriter, r *http.Request, location string) int {
	status := http.StatusFound
	if location == "" {
		status = http.StatusNotFound
	} else {
		w.Header().Set("Location", location)
	}
	return h.send(w, r, status, "", nil)
}

// writeError answers an error in the form of the request's kind: a
// failure document dated now for a metalink request, the plain message
// otherwise.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, kind resolve.Kind, status int, msg string, now time.Time) int {
	if kind != resolve.Metalink {
		return h.writePlain(w, r, status, msg)
	}
	buf := h.getBuf()
	defer h.putBuf(buf)
	*buf = appendFailure(*buf, msg, now)
	return h.send(w, r, status, contentTypeMeta, *buf)
}

// writePlain answers with msg as a text/plain body.
func (h *Handler) writePlain(w http.ResponseWriter, r *http.Request, status int, msg string) int {
	buf := h.getBuf()
	defer h.putBuf(buf)
	*buf = append(*buf, msg...)
	return h.send(w, r, status, contentTypeText, *buf)
}

// send writes the status line, the headers (Content-Type when not empty,
// and always Content-Length) and, except for HEAD, the body. It returns
// status.
func (h *Handler) send(w http.ResponseWriter, r *http.Request, status int, contentType string, body []byte) int {
	hdr := w.Header()
	if contentType != "" {
		hdr.Set("Content-Type", contentType)
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method == http.MethodHead || len(body) == 0 {
		return status
	}
	// A failed write means the client went away; there is no one left
	// to tell.
	WriteBody(w, r, body)
	return status
}

func statusOr(status, fallback int) int {
	if status == 0 {
		return fallback
	}
	return status
}

func (h *Handler) getBuf() *[]byte { return h.bufs.Get().(*[]byte) }

func (h *Handler) putBuf(b *[]byte) {
	if cap(*b) > maxPooledBodySize {
		return
	}
	*b = (*b)[:0]
	h.bufs.Put(b)
}
