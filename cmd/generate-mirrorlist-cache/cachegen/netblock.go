package cachegen

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"strings"
)

// parseNetblock turns a host_netblock value, free text typed by mirror
// administrators, into prefixes: one of parseAddressBlock's forms, or else
// a host name, resolved to one /32 or /128 per address.
func (g *generator) parseNetblock(ctx context.Context, s string) ([]netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty")
	}
	if p, ok, err := parseAddressBlock(s); ok {
		if err != nil {
			return nil, err
		}
		return []netip.Prefix{p}, nil
	}
	lookup, cancel := context.WithTimeout(ctx, g.opt.LookupTimeout)
	defer cancel()
	addrs, err := g.opt.Resolver.LookupNetIP(lookup, "ip", s)
	if err != nil {
		return nil, fmt.Errorf("neither an address nor a resolvable name: %w", err)
	}
	out := make([]netip.Prefix, 0, len(addrs))
	for _, a := range addrs {
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	if len(out) == 0 {
		return nil, errors.New("name has no addresses")
	}
	return out, nil
}

// parseAddressBlock parses the address forms of a netblock, trimmed of
// spaces: a CIDR prefix, a bare address (a /32 or /128), or an IPv4
// address with a dotted netmask (192.0.2.0/255.255.255.0). ok is false
// when s has none of their shapes (it may be a host name); err is set
// when it has one but does not parse.
//
// Prefixes come out masked (192.0.2.7/24 becomes 192.0.2.0/24), unlike
// the Rust generator, which keeps what was typed, and MirrorManager2,
// whose IPy refuses it: the administrator meant the network, which is
// also how the server reads it, and two spellings of one network then
// share an entry.
func parseAddressBlock(s string) (p netip.Prefix, ok bool, err error) {
	s = strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true, nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true, nil
	}
	addr, mask, found := strings.Cut(s, "/")
	if !found {
		return netip.Prefix{}, false, nil
	}
	p, err = parseNetmask(addr, mask)
	return p, true, err
}

// parseNetmask parses an IPv4 address and a dotted, contiguous netmask.
func parseNetmask(addr, mask string) (netip.Prefix, error) {
	a, err1 := netip.ParseAddr(addr)
	m, err2 := netip.ParseAddr(mask)
	if err := errors.Join(err1, err2); err != nil {
		return netip.Prefix{}, err
	}
	if !a.Is4() || !m.Is4() {
		return netip.Prefix{}, errors.New("a netmask needs IPv4")
	}
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	ones := bits.LeadingZeros32(^v)
	if v<<ones != 0 {
		return netip.Prefix{}, fmt.Errorf("netmask %s is not contiguous", mask)
	}
	return netip.PrefixFrom(a, ones).Masked(), nil
}
