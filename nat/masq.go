package nat

import (
	"net/netip"
)

// Addrs provides the addresses of the host's interfaces, which
// MASQUERADE and REDIRECT choose from.
type Addrs interface {
	// Addrs returns the addresses configured on interface iface, with
	// their prefix lengths, in the order the kernel lists them (ip addr
	// show: in the order they were added). It may return a slice it
	// keeps; the caller does not modify it.
	Addrs(iface string) []netip.Prefix
}

// MasqueradeAddr returns the source address MASQUERADE gives a connection
// leaving through interface out, and false when out has none: the kernel
// then drops the packet ("out ate my IP address"). For IPv4, to is the
// next hop (rt_nexthop: the gateway, or the destination itself when it is
// on link); for IPv6 it is the packet's destination.
//
// For IPv4 it is inet_select_addr(out, to, RT_SCOPE_UNIVERSE): the
// first primary address of global scope whose subnet holds to, else
// the first primary address of global scope. An address is secondary when
// an earlier one on the interface has the same prefix and contains it, as
// the kernel marks them; loopback addresses (127/8) have host scope and
// never qualify. Not modelled: addresses configured with a narrower scope
// by hand, and the kernel's last resort of taking a global address of
// another interface in the same VRF.
//
// For IPv6 it stands in for ipv6_dev_get_saddr's RFC 6724 selection with
// its deciding rules for a host with static addresses: an address of the
// destination's scope (link-local for a link-local destination, global
// otherwise) is preferred, then the longest common prefix with the
// destination; IPv4-mapped and loopback addresses never qualify.
// Deprecated, temporary and tentative addresses are not known to nfgo.
//
// nfgo leaves a connection whose original source is 0.0.0.0 alone, as
// the kernel does (a locally generated packet that is not meant to be
// masqueraded); that check is the caller's, before calling this.
func MasqueradeAddr(a Addrs, out string, to netip.Addr) (netip.Addr, bool) {
	to = to.Unmap()
	ps := a.Addrs(out)
	if to.Is4() {
		var first netip.Addr
		for i, p := range ps {
			ip := p.Addr()
			if !ip.Is4() || ip.IsLoopback() || secondary(ps, i) {
				continue
			}
			if p.Contains(to) {
				return ip, true
			}
			if !first.IsValid() {
				first = ip
			}
		}
		return first, first.IsValid()
	}
	var best netip.Addr
	bestScore := -1
	for _, p := range ps {
		ip := p.Addr()
		if !ip.Is6() || ip.Is4In6() || ip.IsLoopback() || ip.IsUnspecified() {
			continue
		}
		score := commonPrefix(ip, to)
		if ip.IsLinkLocalUnicast() == to.IsLinkLocalUnicast() {
			score += 256 // scope first, then prefix length
		}
		if score > bestScore {
			best, bestScore = ip, score
		}
	}
	return best, best.IsValid()
}

// secondary reports whether ps[i] is a secondary address: an earlier
// IPv4 address with the same prefix length holds it in its subnet.
func secondary(ps []netip.Prefix, i int) bool {
	for _, q := range ps[:i] {
		if q.Addr().Is4() && q.Bits() == ps[i].Bits() && q.Contains(ps[i].Addr()) {
			return true
		}
	}
	return false
}

// SingleAddrRange returns the range MASQUERADE and REDIRECT hand to
// [Selector.Select] once they have chosen address a: r's ports and flags,
// with MapIPs and a as the only address (nf_nat_masquerade_ipv4,
// nf_nat_redirect).
func SingleAddrRange(r *Range, a netip.Addr) Range {
	b := addrBytes(a)
	return Range{Min: b, Max: b, MinPort: r.MinPort, MaxPort: r.MaxPort, BasePort: r.BasePort, Flags: r.Flags | MapIPs}
}

// commonPrefix returns how many leading bits a and b share.
func commonPrefix(a, b netip.Addr) int {
	x, y := a.As16(), b.As16()
	n := 0
	for i := range x {
		d := x[i] ^ y[i]
		if d == 0 {
			n += 8
			continue
		}
		for d&0x80 == 0 {
			n++
			d <<= 1
		}
		break
	}
	return n
}

// RedirectAddr returns the destination REDIRECT gives a connection
// (nf_nat_redirect_ipv4 and _ipv6), and false when there is none, when
// the kernel drops the packet. At OUTPUT (local is true) it is loopback,
// 127.0.0.1 or ::1 by dst's family. At PREROUTING it is the first address
// of the input interface in, for IPv4 the first in the list whatever its
// scope; for IPv6 the first that is not IPv4-mapped and has dst's scope
// (link-local or global), as nf_nat_redirect_ipv6_usable intends
// (Linux 6.7; it also skips tentative addresses, which nfgo does not
// know of).
func RedirectAddr(a Addrs, in string, dst netip.Addr, local bool) (netip.Addr, bool) {
	dst = dst.Unmap()
	if local {
		if dst.Is4() {
			return netip.AddrFrom4([4]byte{127, 0, 0, 1}), true
		}
		return netip.IPv6Loopback(), true
	}
	for _, p := range a.Addrs(in) {
		ip := p.Addr()
		if dst.Is4() {
			if ip.Unmap().Is4() {
				return ip.Unmap(), true
			}
			continue
		}
		if !ip.Is6() || ip.Is4In6() {
			continue
		}
		if ip.IsLinkLocalUnicast() == dst.IsLinkLocalUnicast() {
			return ip, true
		}
	}
	return netip.Addr{}, false
}
