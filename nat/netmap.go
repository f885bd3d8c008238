package nat

import (
	"net/netip"

	"github.com/nfgo/nfgo/conntrack"
)

// NetmapRange returns the range NETMAP hands to [Selector.Select] for a
// connection whose current original-direction tuple is curr, at a hook of
// manipulation m (xt_NETMAP.c's netmap_tg4 and netmap_tg6): the single
// address that keeps the host part of curr's address on the m side, the
// destination for PREROUTING and OUTPUT and the source for POSTROUTING
// and INPUT, and puts r's network in front of it. r's ports and flags
// carry over. The reply direction is mapped back by the binding, so a
// prefix maps both ways.
//
// For IPv6 this is NPTv6-like prefix mapping (RFC 6296 without its
// checksum-neutral adjustment: the kernel rewrites the address as is and
// updates the transport checksum).
func NetmapRange(r *Range, curr *conntrack.Tuple, m Manip) Range {
	a := &curr.Src
	if m == ManipDst {
		a = &curr.Dst
	}
	n := netmap(a, &r.Min, &r.Max)
	return Range{Min: n, Max: n, MinPort: r.MinPort, MaxPort: r.MaxPort, BasePort: r.BasePort, Flags: r.Flags | MapIPs}
}

// netmap maps a into [lo, hi] keeping its host part: with
// mask = ^(lo ^ hi), the result is (a &^ mask) | (lo & mask). The kernel
// does it per 32-bit word; bytewise is the same.
func netmap(a, lo, hi *[16]byte) [16]byte {
	var n [16]byte
	for i := range n {
		mask := ^(lo[i] ^ hi[i])
		n[i] = a[i]&^mask | lo[i]&mask
	}
	return n
}

// NetmapAddr maps a into the network lo..hi (NETMAP's --to, as its first
// and last address) keeping a's host part. It reports false if a is not
// of lo's family.
func NetmapAddr(a, lo, hi netip.Addr) (netip.Addr, bool) {
	a, lo, hi = a.Unmap(), lo.Unmap(), hi.Unmap()
	if a.Is4() != lo.Is4() || lo.Is4() != hi.Is4() || !a.IsValid() || !lo.IsValid() || !hi.IsValid() {
		return netip.Addr{}, false
	}
	x, l, h := addrBytes(a), addrBytes(lo), addrBytes(hi)
	n := netmap(&x, &l, &h)
	if a.Is4() {
		return netip.AddrFrom4([4]byte(n[:4])), true
	}
	return netip.AddrFrom16(n), true
}
