package httpapi

import (
	"net/http"
	"net/netip"
	"strings"
)

// clientAddr picks the client address of a request (protocol.md section
// 3.4): a non-empty ip= value; else the last element of X-Forwarded-For,
// the one the trusted front end added; else the connection's remote
// address. The zero Addr means the chosen text does not parse, which
// resolve turns into the "Cannot parse client IP address" answer.
func clientAddr(ip string, header http.Header, remote string) netip.Addr {
	if ip != "" {
		return parseAddr(ip)
	}
	if xff, ok := lastForwardedFor(header); ok {
		return parseAddr(xff)
	}
	return parseRemote(remote)
}

// lastForwardedFor returns the last element of the last X-Forwarded-For
// header line. Deviation (as the protocol allows): elements are split on ','
// and trimmed of spaces, where the old server split only on ", ". A header
// that is blank is treated as absent.
func lastForwardedFor(header http.Header) (string, bool) {
	lines := header["X-Forwarded-For"]
	if len(lines) == 0 {
		return "", false
	}
	line := lines[len(lines)-1]
	if strings.TrimSpace(line) == "" {
		return "", false
	}
	if i := strings.LastIndexByte(line, ','); i >= 0 {
		line = line[i+1:]
	}
	return strings.Trim(line, " \t"), true
}

// parseRemote parses http.Request.RemoteAddr, "host:port" or
// "[v6host]:port", and accepts a bare address as well.
func parseRemote(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return normalize(ap.Addr())
	}
	return parseAddr(remote)
}

// parseAddr parses an IPv4 or IPv6 address. An IPv6 zone is dropped and an
// IPv4-mapped IPv6 address becomes the IPv4 address, so that the access log
// and every lookup see one spelling of each client.
func parseAddr(s string) netip.Addr {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return normalize(a)
}

func normalize(a netip.Addr) netip.Addr { return a.WithZone("").Unmap() }
