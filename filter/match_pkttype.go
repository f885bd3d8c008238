package filter

import "github.com/nfgo/nfgo/packet"

// PktTypeMatch is -m pkttype --pkt-type (xt_pkttype.c).
type PktTypeMatch struct {
	// Type is the packet type to match: PacketHost (unicast),
	// PacketBroadcast, PacketMulticast or PacketOtherHost.
	Type PktType
	// Invert is the '!' of --pkt-type.
	Invert bool
}

// Name returns "pkttype".
func (*PktTypeMatch) Name() string { return "pkttype" }

// Match compares the packet type. A looped-back packet has no link-layer
// type of its own, so pkttype_mt derives it from the destination: IPv4
// multicast (224.0.0.0/4) and IPv6 multicast (ff00::/8) count as
// multicast, every other looped-back packet as broadcast.
func (m *PktTypeMatch) Match(c *Context) bool {
	t := c.PktType
	if t == PacketLoopback {
		d := c.Packet.Dst()
		switch {
		case c.Packet.Family == packet.IPv4 && d.Is4() && d.As4()[0]&0xF0 == 0xE0:
			t = PacketMulticast
		case c.Packet.Family == packet.IPv6 && d.Is6() && d.As16()[0] == 0xFF:
			t = PacketMulticast
		default:
			t = PacketBroadcast
		}
	}
	return (t == m.Type) != m.Invert
}
