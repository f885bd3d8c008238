package filter

import (
	"net/netip"

	"github.com/nfgo/nfgo/packet"
)

// RouteEnv is an Env that can route: rpfilter asks it the reverse path.
// The engine's simulated host (nfgo.Host, and the daemon's host learnt
// from rtnetlink) is one.
type RouteEnv interface {
	Env
	// RouteTo returns the route the host has to dst: its output
	// interface and the destination's type (AddrLocal for one of the
	// host's addresses, AddrBroadcast, AddrMulticast, AddrUnicast);
	// ok is false when there is none.
	RouteTo(dst netip.Addr) (iface string, typ AddrType, ok bool)
}

// RPFilterMatch is -m rpfilter (ipt_rpfilter.c, ip6t_rpfilter.c), in the
// raw and mangle tables' PREROUTING: the packet's source is routed back
// out of the interface it came in by (Loose: routed at all); AcceptLocal
// accepts a source that is one of the host's addresses; Invert negates.
// Packets from loopback, and IPv4 packets from 0.0.0.0 to a broadcast
// or local multicast address (DHCP), always pass.
//
// The route comes from the Env (RouteEnv). nfgo's routes have no
// policy rules, so ValidMark is kept but changes nothing; without a
// RouteEnv the path is taken as valid.
type RPFilterMatch struct {
	Loose, ValidMark, AcceptLocal, Invert bool
}

// Name returns "rpfilter".
func (*RPFilterMatch) Name() string { return "rpfilter" }

// Allowed restricts the match to raw and mangle PREROUTING.
func (*RPFilterMatch) Allowed() (TableMask, HookMask) {
	return Tables(Raw, Mangle), Hooks(Prerouting)
}

// Match looks the source's route up.
func (m *RPFilterMatch) Match(c *Context) bool {
	return m.valid(c) != m.Invert
}

func (m *RPFilterMatch) valid(c *Context) bool {
	p := c.Packet
	if c.PktType == PacketLoopback || c.In == "lo" {
		return true
	}
	src, dst := p.Src(), p.Dst()
	if p.Family == packet.IPv4 && src.IsUnspecified() {
		if dst == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || dst.IsLinkLocalMulticast() {
			return true
		}
	}
	re, ok := c.Env.(RouteEnv)
	if !ok {
		return true
	}
	iface, typ, ok := re.RouteTo(src)
	switch {
	case !ok:
		return false
	case typ == AddrLocal:
		if !m.AcceptLocal {
			return false
		}
	case typ != AddrUnicast:
		return false
	}
	return m.Loose || iface == c.In
}
