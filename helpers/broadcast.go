package helpers

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

// The broadcast helper (nf_conntrack_broadcast.c), which netbios-ns and
// snmp use. A host that broadcasts a query on its subnet (a NetBIOS
// name query to 10.0.0.255:137) gets its answers from hosts it did not
// address, so they would start new connections. For a broadcast the
// host sends itself, the helper expects UDP from the subnet, from the
// service's port, to the port the query came from; the expectation is
// permanent (every answer matches it until it times out), and the query's
// own connection is kept only as long.
//
// The expected source is the subnet of the interface address whose
// broadcast address the query went to: the expectation's source mask is
// that address's netmask.

// LocalRoute is what the kernel's broadcast helper learns of a packet
// the host sent itself, from its socket and its route (skb->sk,
// skb_rtable): the engine fills it in for such packets only, and leaves
// Call.Local nil for every other (forwarded or received) packet.
type LocalRoute struct {
	// Broadcast is the route's RTCF_BROADCAST: the destination is a
	// broadcast address, the limited broadcast 255.255.255.255 or one
	// the host has a broadcast route for (the broadcast address of one
	// of its IPv4 addresses), as the route type RTN_BROADCAST says.
	Broadcast bool
	// OutAddrs are the IPv4 addresses of the interface the packet leaves
	// by (the route's output device, rt->dst.dev), in the order the
	// kernel keeps them (ifa_list); addresses of other families are
	// ignored.
	OutAddrs []InterfaceAddr
}

// InterfaceAddr is one IPv4 address of an interface (struct in_ifaddr).
type InterfaceAddr struct {
	// Prefix is the address and its prefix length (ifa_local, ifa_mask).
	Prefix netip.Prefix
	// Broadcast is the address's broadcast address (ifa_broadcast), the
	// zero Addr if it has none.
	Broadcast netip.Addr
	// Secondary is IFA_F_SECONDARY: the address is in the subnet of an
	// address the interface had first (the kernel makes an address
	// secondary when the interface already has one with the same prefix
	// length whose subnet holds it). The helper skips such addresses.
	Secondary bool
}

// InterfaceAddrs returns an interface's IPv4 addresses as the kernel
// keeps them when they are added in the order of prefixes, each as
// `ip addr add ADDR/LEN brd + dev IF` adds it (__inet_insert_ifa): with
// the last address of its subnet as its broadcast address (none for a
// /31 or a /32), and secondary when a primary address with the same
// prefix length already holds it in its subnet. Primary addresses come
// first, secondary ones after them, each in the order added; an address
// added twice, and all but IPv4 prefixes, are left out. An engine can
// compute it once per interface, for LocalRoute.OutAddrs.
func InterfaceAddrs(prefixes []netip.Prefix) []InterfaceAddr {
	var primary, secondary []InterfaceAddr
	for _, p := range prefixes {
		if !p.IsValid() || !p.Addr().Is4() {
			continue
		}
		a := InterfaceAddr{Prefix: p}
		if p.Bits() < 31 {
			a.Broadcast = lastAddr4(p)
		}
		dup := false
		for _, o := range slices.Concat(primary, secondary) {
			if o.Prefix.Bits() == p.Bits() && p.Contains(o.Prefix.Addr()) {
				dup = dup || o.Prefix.Addr() == p.Addr()
				a.Secondary = true
			}
		}
		switch {
		case dup:
		case a.Secondary:
			secondary = append(secondary, a)
		default:
			primary = append(primary, a)
		}
	}
	return append(primary, secondary...)
}

// lastAddr4 returns the last address of an IPv4 prefix's subnet.
func lastAddr4(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	v := binary.BigEndian.Uint32(b[:]) | (1<<(32-p.Bits()) - 1)
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

// broadcastHelp is nf_conntrack_broadcast_help for a service at port
// port, whose answers are awaited for timeout. It never drops the
// packet.
func broadcastHelp(c *Call, port uint16, timeout time.Duration) {
	// Only the host's own broadcasts, in the query's direction.
	l := c.Local
	if l == nil || !l.Broadcast || c.dir() != conntrack.Original || c.Packet.Family != packet.IPv4 {
		return
	}
	dst := c.Packet.Dst()
	bits := 0
	for _, a := range l.OutAddrs {
		if a.Secondary || !a.Prefix.Addr().Is4() {
			continue
		}
		if a.Broadcast == dst {
			bits = a.Prefix.Bits()
			break
		}
	}
	if bits <= 0 {
		// No primary address has this broadcast address (or its mask
		// is 0.0.0.0): the kernel's mask stays 0 and nothing is expected.
		return
	}
	// The answers come as the query's replies would, but from any host
	// of the subnet, and from the service's port.
	exp := conntrack.Expectation{Tuple: c.tuple(conntrack.Reply), SrcBits: uint8(bits), Flags: conntrack.ExpectPermanent}
	exp.Tuple.SrcPort = port
	// The kernel ignores a failure to expect, and keeps the query's
	// connection only as long as its answers are awaited either way.
	_ = c.Table.Expect(c.CT, exp, c.Now)
	c.Table.Refresh(c.CT, timeout, c.Now)
}
