// Package httpapi is the HTTP face of the mirrorlist server: it routes
// requests, has package resolve parse their queries and choose the answer,
// picks the client address, and writes the answer byte for byte as
// docs/protocol.md section 7 describes, with a line in the access log
// (package accesslog) and each answer in one write (package gather). It
// also answers the health endpoints (/readyz on the main port; /healthz,
// /readyz, /metrics and the reload hook on the admin listener, see
// NewAdmin) and keeps the Prometheus metrics of the requests and answers.
//
// The request path is built to allocate little: the query is scanned in
// place instead of into a map, answers, buffers and random sources are
// pooled, and bodies are appended without fmt.
package httpapi

import (
	"math/rand/v2"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/mirrorlist-go/mirrorlist-server/httpapi/accesslog"
	"github.com/mirrorlist-go/mirrorlist-server/httpapi/gather"
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
	AccessLog *accesslog.Writer
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
	log      *accesslog.Writer
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

// kindOf routes a request path, as sent (see rawPath), by its suffix; ok
// is false for any path that is neither a mirrorlist nor a metalink.
func kindOf(path string) (kind resolve.Kind, ok bool) {
	switch {
	case strings.HasSuffix(path, "/mirrorlist"):
		return resolve.Mirrorlist, true
	case strings.HasSuffix(path, "/metalink"):
		return resolve.Metalink, true
	}
	return 0, false
}

// rawPath returns the request's path as the client sent it, still
// percent-encoded: production routes on that form, so "/x%2Fmetalink" is
// no metalink request. net/url keeps RawPath only when it differs from the
// canonical encoding of the decoded Path, so either is the path as sent.
func rawPath(u *url.URL) string {
	if u.RawPath != "" {
		return u.RawPath
	}
	return u.Path
}

// ServeHTTP implements http.Handler.
//
// /readyz is answered first, and is not counted in the metrics: health
// checks every few seconds would drown the traffic. Every other request is
// counted by kind and status, and timed, when the handler has Metrics.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rawPath(r.URL) == ReadyPath {
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
// with a method other than GET or HEAD gets 405 (a deviation: production
// answers every method as GET). The rest is render's. HEAD answers carry
// the headers of the GET answer, Content-Length included, and no body.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, now time.Time) (requestKind, int) {
	kind, ok := kindOf(rawPath(r.URL))
	if !ok {
		return kindOther, h.writePlain(w, r, http.StatusNotFound, notFoundBody)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return requestKindOf(kind, false), h.writePlain(w, r, http.StatusMethodNotAllowed, methodBody)
	}
	buf := h.getBuf()
	defer h.putBuf(buf)
	a := h.answers.Get().(*resolve.Answer)
	defer h.putAnswer(a)
	var req resolve.Request // on the heap, as Resolve lets it escape; apart, so that the exchange is not
	x := exchange{kind: kind, query: r.URL.RawQuery, header: r.Header, remote: r.RemoteAddr, now: now, req: &req}
	out := h.render(*buf, &x, a)
	*buf = out.body
	if x.resolved {
		h.logAnswer(r, &req, a, now)
	}
	return requestKindOf(kind, req.Redirect), h.send(w, r, out)
}

// exchange is one mirrorlist or metalink request on its way to an answer:
// what render reads, and what it leaves for its caller.
type exchange struct {
	kind   resolve.Kind
	query  string // the raw query, as sent
	header http.Header
	remote string // the connection's peer, as http.Request.RemoteAddr
	now    time.Time
	rng    *rand.Rand     // nil: the handler's own (see Config.Rand)
	trace  *resolve.Trace // nil but for the explain endpoints

	req *resolve.Request // filled with the parsed query and the client

	snap       *snapshot.Snapshot // the snapshot of the answer, nil before the first
	from       addrSource         // where req.Client came from
	clientText string             // and its text there
	err        error              // why the query does not parse
	resolved   bool               // Resolve ran: the Answer holds its result
}

// reply is an answer ready to send.
type reply struct {
	status      int
	contentType string // "" sends none
	location    string // "" sends none
	body        []byte // the buffer the body was appended to
}

// render makes the answer to a mirrorlist or metalink request, from the
// query on: a query longer than the cap gets a plain 414, a request before
// the first snapshot a 503, a malformed query a 400; any other is
// resolved, with a the answer's memory, and written. The body goes to dst.
// The public port and the explain endpoints both answer through it.
func (h *Handler) render(dst []byte, x *exchange, a *resolve.Answer) reply {
	if h.maxQuery > 0 && len(x.query) > h.maxQuery {
		return plainReply(dst, http.StatusRequestURITooLong, queryTooLongBody)
	}
	x.snap = h.holder.Current()
	if x.snap == nil {
		return errorReply(dst, x.kind, http.StatusServiceUnavailable, unavailableBody, x.now)
	}
	x.req.Kind = x.kind
	ip, err := resolve.ParseQuery(x.query, x.req)
	if err != nil {
		x.err = err
		return errorReply(dst, x.kind, http.StatusBadRequest, err.Error(), x.now)
	}
	x.req.Client, x.from, x.clientText = pickClient(ip, x.header, x.remote, h.proxies)
	h.resolve(x, a)
	x.resolved = true
	return answerReply(dst, x.snap, x.kind, a, x.now)
}

// logAnswer writes a resolved request's access-log line, counts its
// answer and writes the debug line.
func (h *Handler) logAnswer(r *http.Request, req *resolve.Request, a *resolve.Answer, now time.Time) {
	if a.Log {
		h.log.Log(req.Client, now, a.ClientCountry, a.LogRepo, a.LogArch)
	}
	h.metrics.observeAnswer(a)
	if ce := h.logger.Check(zap.DebugLevel, "request"); ce != nil {
		ce.Write(zap.String("method", r.Method), zap.String("uri", r.RequestURI),
			zap.Stringer("client", req.Client), zap.Int("status", a.Status),
			zap.Stringer("found_via", a.FoundVia), zap.String("country", a.ClientCountry),
			zap.Int("mirrors", len(a.Mirrors)))
	}
}

// resolve runs resolve.ResolveTraced with the exchange's random source,
// or one of this request only.
func (h *Handler) resolve(x *exchange, a *resolve.Answer) {
	rng := x.rng
	switch {
	case rng != nil:
	case h.newRand != nil:
		rng = h.newRand()
	default:
		rng = h.rngs.Get().(*rand.Rand)
		defer h.rngs.Put(rng)
	}
	resolve.ResolveTraced(x.snap, x.req, h.opts, rng, a, x.trace)
}

// putAnswer returns an answer to the pool, reset so that the pool does not
// keep the previous snapshot's directory alive.
func (h *Handler) putAnswer(a *resolve.Answer) {
	a.Reset()
	h.answers.Put(a)
}

// answerReply writes an answer in the form resolve chose.
func answerReply(dst []byte, snap *snapshot.Snapshot, kind resolve.Kind, a *resolve.Answer, now time.Time) reply {
	switch a.Form {
	case resolve.Text:
		return reply{statusOr(a.Status, http.StatusOK), contentTypeText, "", appendMirrorlist(dst, snap, a)}
	case resolve.Redirect:
		return redirectReply(dst, a.Location)
	case resolve.Document:
		return reply{statusOr(a.Status, http.StatusOK), contentTypeMeta, "", appendMetalink(dst, snap, a, now)}
	default: // resolve.Message
		status := statusOr(a.Status, http.StatusInternalServerError)
		if a.Plain {
			return plainReply(dst, status, a.Message)
		}
		return errorReply(dst, kind, status, a.Message, now)
	}
}

// redirectReply answers a mirrorlist request with redirect: 302 to the
// chosen URL, or 404 when there is none; the body is empty either way,
// and the content type text/plain, as production sends it.
func redirectReply(dst []byte, location string) reply {
	if location == "" {
		return reply{http.StatusNotFound, contentTypeText, "", dst}
	}
	return reply{http.StatusFound, contentTypeText, location, dst}
}

// errorReply answers an error in the form of the request's kind: a
// failure document dated now for a metalink request, the plain message
// otherwise.
func errorReply(dst []byte, kind resolve.Kind, status int, msg string, now time.Time) reply {
	if kind != resolve.Metalink {
		return plainReply(dst, status, msg)
	}
	return reply{status, contentTypeMeta, "", appendFailure(dst, msg, now)}
}

// plainReply answers with msg as a text/plain body.
func plainReply(dst []byte, status int, msg string) reply {
	return reply{status, contentTypeText, "", append(dst, msg...)}
}

// writePlain sends msg as a text/plain body.
func (h *Handler) writePlain(w http.ResponseWriter, r *http.Request, status int, msg string) int {
	buf := h.getBuf()
	defer h.putBuf(buf)
	out := plainReply(*buf, status, msg)
	*buf = out.body
	return h.send(w, r, out)
}

// setHeaders sets the reply's headers: Content-Type when not empty,
// Location when not empty, and always Content-Length.
func (rp *reply) setHeaders(hdr http.Header) {
	if rp.contentType != "" {
		hdr.Set("Content-Type", rp.contentType)
	}
	if rp.location != "" {
		hdr.Set("Location", rp.location)
	}
	hdr.Set("Content-Length", strconv.Itoa(len(rp.body)))
}

// send writes the status line, the headers and, except for HEAD, the
// body. It returns the status.
func (h *Handler) send(w http.ResponseWriter, r *http.Request, rp reply) int {
	rp.setHeaders(w.Header())
	w.WriteHeader(rp.status)
	if r.Method == http.MethodHead || len(rp.body) == 0 {
		return rp.status
	}
	// A failed write means the client went away; there is no one left
	// to tell.
	gather.WriteBody(w, r, rp.body)
	return rp.status
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
