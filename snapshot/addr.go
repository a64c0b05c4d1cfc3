package snapshot

import (
	"net/netip"
	"strings"
)

// NormalizeAddr returns addr in the one spelling the lookup tables key on:
// without an IPv6 zone, and an IPv4-mapped IPv6 address as the IPv4
// address. The server normalises every client address with it, so that
// the access log and every lookup see one spelling of each client.
func NormalizeAddr(addr netip.Addr) netip.Addr {
	return addr.WithZone("").Unmap()
}

// ParsePrefix parses a CIDR prefix or a bare address (a /32 or /128), as
// the snapshot's prefix tables and the server's --trusted-proxies take
// them: surrounding space trimmed, a bare address normalised
// (NormalizeAddr), an IPv4-mapped prefix of 96 bits or more taken as the
// IPv4 prefix, host bits masked.
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		a = NormalizeAddr(a)
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}
