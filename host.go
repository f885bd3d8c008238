package nfgo

import (
	"net/netip"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/helpers"
	"github.com/nfgo/nfgo/packet"
)

// Interface is one of the simulated host's network interfaces.
type Interface struct {
	Name string
	// Addrs are the interface's addresses with their prefix lengths; the
	// prefix gives the subnet broadcast address addrtype knows.
	Addrs []netip.Prefix
	// MTU is the interface MTU, for TCPMSS --clamp-mss-to-pmtu (0: 1500).
	MTU int
}

// Route sends packets for Dst out of interface Out.
type Route struct {
	Dst netip.Prefix
	Out string
}

// Host is the engine's model of the machine it filters for: which
// addresses are its own (so a packet goes to INPUT rather than FORWARD) and
// where packets are routed. The zero Host has no addresses and routes
// everything out of DefaultOut.
type Host struct {
	Interfaces []Interface
	// Routes are matched longest prefix first.
	Routes []Route
	// DefaultOut is the output interface when no route matches
	// ("eth1" if empty).
	DefaultOut string
}

// hostEnv answers filter.Env from a Host. It is immutable after creation.
type hostEnv struct {
	host  Host
	local addrIndex // address → interface
	// bcast holds the subnet broadcast address of each IPv4 address,
	// with its interface: the kernel's broadcast routes.
	bcast  addrIndex
	routes []Route // sorted longest prefix first
	// routeMTU is the MTU of each route's output interface, and
	// defaultMTU DefaultOut's, for the offload path's routing decision.
	routeMTU   []int
	defaultMTU int
	// ifaddrs are each interface's IPv4 addresses as the kernel keeps
	// them, for the broadcast helpers.
	ifaddrs map[string][]helpers.InterfaceAddr
}

// addrIndex maps some of the host's addresses to their interfaces. A
// host has few, and every forwarded packet's destination is looked up:
// up to addrScanMax they are scanned, which costs less than hashing a
// netip.Addr; beyond, a map holds them.
type addrIndex struct {
	list []addrEntry
	m    map[netip.Addr]string
}

type addrEntry struct {
	addr  netip.Addr
	iface string
}

const addrScanMax = 16

// get returns a's interface.
func (x *addrIndex) get(a netip.Addr) (string, bool) {
	if x.m != nil {
		ifc, ok := x.m[a]
		return ifc, ok
	}
	for i := range x.list {
		if x.list[i].addr == a {
			return x.list[i].iface, true
		}
	}
	return "", false
}

func (x *addrIndex) has(a netip.Addr) bool {
	_, ok := x.get(a)
	return ok
}

// add records a on iface unless a is recorded already.
func (x *addrIndex) add(a netip.Addr, iface string) {
	if !x.has(a) {
		x.set(a, iface)
	}
}

// set records a on iface; a later set of the same address wins.
func (x *addrIndex) set(a netip.Addr, iface string) {
	if x.m != nil {
		x.m[a] = iface
		return
	}
	for i := range x.list {
		if x.list[i].addr == a {
			x.list[i].iface = iface
			return
		}
	}
	x.list = append(x.list, addrEntry{a, iface})
	if len(x.list) > addrScanMax {
		x.m = make(map[netip.Addr]string, len(x.list))
		for _, e := range x.list {
			x.m[e.addr] = e.iface
		}
		x.list = nil
	}
}

func newHostEnv(h Host) *hostEnv {
	e := &hostEnv{host: h, ifaddrs: map[string][]helpers.InterfaceAddr{}}
	for _, ifc := range h.Interfaces {
		e.ifaddrs[ifc.Name] = helpers.InterfaceAddrs(ifc.Addrs)
		for _, p := range ifc.Addrs {
			e.local.set(p.Addr(), ifc.Name)
			if p.Addr().Is4() && p.Bits() < 31 {
				e.bcast.add(lastAddr(p), ifc.Name)
			}
		}
	}
	e.routes = append(e.routes, h.Routes...)
	// Longest prefix first; insertion sort keeps it dependency-free and
	// the list is short.
	for i := 1; i < len(e.routes); i++ {
		for j := i; j > 0 && e.routes[j].Dst.Bits() > e.routes[j-1].Dst.Bits(); j-- {
			e.routes[j], e.routes[j-1] = e.routes[j-1], e.routes[j]
		}
	}
	if e.host.DefaultOut == "" {
		e.host.DefaultOut = "eth1"
	}
	for _, r := range e.routes {
		e.routeMTU = append(e.routeMTU, e.MTU(r.Out))
	}
	e.defaultMTU = e.MTU(e.host.DefaultOut)
	return e
}

// forwardRoute is the routing decision for a forwarded packet to dst:
// ok is false when dst is for the host (ForHost), else out is Route's
// interface and mtu its MTU, kept with the route.
func (e *hostEnv) forwardRoute(dst netip.Addr) (out string, mtu int, ok bool) {
	if e.ForHost(dst) {
		return "", 0, false
	}
	// Not for the host, so not a broadcast address of its: Route's
	// routes decide.
	if i := e.route(dst); i >= 0 {
		return e.routes[i].Out, e.routeMTU[i], true
	}
	return e.host.DefaultOut, e.defaultMTU, true
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// IsLocal reports whether a is one of the host's addresses (or loopback).
func (e *hostEnv) IsLocal(a netip.Addr) bool {
	_, ok := e.local.get(a)
	return ok || a.IsLoopback()
}

// ForHost reports whether the routing decision delivers a packet for dst
// locally (RTN_LOCAL, RTN_BROADCAST, or multicast, which nfgo always
// delivers: it has no multicast routing).
func (e *hostEnv) ForHost(dst netip.Addr) bool {
	_, bcast := e.bcast.get(dst)
	return e.IsLocal(dst) || bcast || dst.IsMulticast() ||
		dst == netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// Route returns the output interface for a destination. A subnet
// broadcast address of one of the host's addresses is routed out of that
// address's interface, whatever the routes say, as the kernel's local
// table, looked up first, routes it (the broadcast route it adds with
// the address): the host's own broadcasts leave there.
func (e *hostEnv) Route(dst netip.Addr) string {
	if ifc, ok := e.bcast.get(dst); ok {
		return ifc
	}
	if i := e.route(dst); i >= 0 {
		return e.routes[i].Out
	}
	return e.host.DefaultOut
}

// route returns the index of the route dst takes, -1 for the default.
func (e *hostEnv) route(dst netip.Addr) int {
	for i := range e.routes {
		if e.routes[i].Dst.Contains(dst) {
			return i
		}
	}
	return -1
}

// RouteTo implements filter.RouteEnv, as the kernel's FIB answers:
// a local address is reached by the interface that has it; otherwise
// the longest prefix among the routes and the interfaces' own subnets
// (the kernel's connected routes), else DefaultOut.
func (e *hostEnv) RouteTo(dst netip.Addr) (string, filter.AddrType, bool) {
	typ := e.AddrType(dst, "")
	if ifc, ok := e.local.get(dst); ok {
		return ifc, typ, true
	}
	if ifc, ok := e.bcast.get(dst); ok {
		return ifc, typ, true
	}
	best, out := -1, e.host.DefaultOut
	for _, r := range e.routes {
		if r.Dst.Contains(dst) && r.Dst.Bits() > best {
			best, out = r.Dst.Bits(), r.Out
		}
	}
	for _, ifc := range e.host.Interfaces {
		for _, p := range ifc.Addrs {
			if pm := p.Masked(); pm.Contains(dst) && p.Bits() > best {
				best, out = p.Bits(), ifc.Name
			}
		}
	}
	if out == "" {
		out = "eth1"
	}
	return out, typ, true
}

// AddrType implements filter.Env.
func (e *hostEnv) AddrType(a netip.Addr, _ string) filter.AddrType {
	switch {
	case !a.IsValid() || a.IsUnspecified():
		return filter.AddrUnspec
	case e.IsLocal(a):
		return filter.AddrLocal
	case a.IsMulticast():
		return filter.AddrMulticast
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || e.bcast.has(a):
		return filter.AddrBroadcast
	}
	return filter.AddrUnicast
}

// LocalAddr implements filter.Env: the first address of the family on the
// interface, else the first of the family anywhere.
func (e *hostEnv) LocalAddr(iface string, f packet.Family) (netip.Addr, bool) {
	var fallback netip.Addr
	for _, ifc := range e.host.Interfaces {
		for _, p := range ifc.Addrs {
			if p.Addr().Is4() != (f == packet.IPv4) {
				continue
			}
			if ifc.Name == iface {
				return p.Addr(), true
			}
			if !fallback.IsValid() {
				fallback = p.Addr()
			}
		}
	}
	return fallback, fallback.IsValid()
}

// MTU implements filter.Env.
func (e *hostEnv) MTU(iface string) int {
	for _, ifc := range e.host.Interfaces {
		if ifc.Name == iface && ifc.MTU > 0 {
			return ifc.MTU
		}
	}
	return 1500
}
