package httpapi

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// clientAddr picks the client address of a request (docs/protocol.md,
// "Client address"): a non-empty ip= value; else the last element of X-Forwarded-For,
// the one the trusted front end added, if the connection's peer may set
// it; else the connection's remote address. The zero Addr means the chosen
// text does not parse, which resolve turns into the "Cannot parse client
// IP address" answer.
func clientAddr(ip string, header http.Header, remote string, proxies trustedProxies) netip.Addr {
	addr, _, _ := pickClient(ip, header, remote, proxies)
	return addr
}

// addrSource says where a client address came from.
type addrSource uint8

// The sources of docs/protocol.md section 4, in order.
const (
	fromIP        addrSource = iota // ip=
	fromForwarded                   // X-Forwarded-For
	fromPeer                        // the connection's remote address
)

var addrSourceNames = [...]string{fromIP: "ip=", fromForwarded: "X-Forwarded-For", fromPeer: "peer"}

func (s addrSource) String() string { return addrSourceNames[s] }

// pickClient is clientAddr, with where the address came from and its text
// there, which the explain endpoints show.
func pickClient(ip string, header http.Header, remote string, proxies trustedProxies) (netip.Addr, addrSource, string) {
	if ip != "" {
		return parseAddr(ip), fromIP, ip
	}
	peer := parseRemote(remote)
	if !proxies.trusts(peer) {
		return peer, fromPeer, remote
	}
	if xff, ok := lastForwardedFor(header); ok {
		return parseAddr(xff), fromForwarded, xff
	}
	return peer, fromPeer, remote
}

// trustedProxies are the peers whose X-Forwarded-For is believed. Nil
// trusts every peer, as the production server does (it always runs behind
// its proxies); a non-nil empty list trusts none.
type trustedProxies []netip.Prefix

// trusts reports whether X-Forwarded-For from peer is honoured. An
// unparsable peer is trusted only when every peer is.
func (t trustedProxies) trusts(peer netip.Addr) bool {
	if t == nil {
		return true
	}
	for _, p := range t {
		if p.Contains(peer) {
			return true
		}
	}
	return false
}

// lastForwardedFor returns the last element of the last X-Forwarded-For
// header line. Two deviations from production (docs/protocol.md): elements
// are split on ',' and trimmed of spaces, where production splits only on
// ", "; and the last line counts, where production reads the first, since
// a front end that adds a line of its own (HAProxy's option forwardfor)
// adds it after any the client sent. A header that is present but blank
// gives "", which does not parse: the request is answered "Cannot parse
// client IP address", as production answers it.
func lastForwardedFor(header http.Header) (string, bool) {
	lines := header["X-Forwarded-For"]
	if len(lines) == 0 {
		return "", false
	}
	line := lines[len(lines)-1]
	if i := strings.LastIndexByte(line, ','); i >= 0 {
		line = line[i+1:]
	}
	return strings.Trim(line, " \t"), true
}

// parseRemote parses http.Request.RemoteAddr, "host:port" or
// "[v6host]:port", and accepts a bare address as well. The zone of a
// link-local peer is dropped, as production's socket address has none.
func parseRemote(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return snapshot.NormalizeAddr(ap.Addr())
	}
	if a, err := netip.ParseAddr(remote); err == nil {
		return snapshot.NormalizeAddr(a)
	}
	return netip.Addr{}
}

// parseAddr parses the text of ip= or X-Forwarded-For: an IPv4 or IPv6
// address without a zone (production refuses "fe80::1%eth0" too, and no
// client on the Internet has one). An IPv4-mapped IPv6 address becomes the
// IPv4 address, so that the access log and every lookup see one spelling
// of each client (a deviation, docs/protocol.md).
func parseAddr(s string) netip.Addr {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}
	}
	return snapshot.NormalizeAddr(a)
}

// ParseTrustedProxies parses the --trusted-proxies list: CIDR prefixes,
// or bare addresses meaning a /32 or /128. IPv4-mapped IPv6 forms are
// taken as the IPv4 ones, as client addresses are. Empty elements are
// skipped; a non-nil list comes back even when every element was empty, so
// that "--trusted-proxies=" trusts no peer.
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, err := snapshot.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", s, err)
		}
		out = append(out, p)
	}
	return out, nil
}
