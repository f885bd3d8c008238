package filter

import "github.com/nfgo/nfgo/packet"

// UDPMatch is -m udp (xt_tcpudp.c, udp_mt). Set SrcPorts and DstPorts to
// AllPorts to leave them unconstrained.
type UDPMatch struct {
	// SrcPorts and DstPorts are --sport and --dport.
	SrcPorts, DstPorts PortRange
	// SrcInvert and DstInvert are the '!' of --sport and --dport.
	SrcInvert, DstInvert bool
}

// Name returns "udp".
func (*UDPMatch) Name() string { return "udp" }

// Match reports whether the UDP ports match. A non-first fragment, which
// has no UDP header, never matches.
func (m *UDPMatch) Match(c *Context) bool {
	p := c.Packet
	if p.FragOffset != 0 {
		return false
	}
	sport, dport := p.SrcPort, p.DstPort
	if p.L4Off == 0 {
		// A truncated header or a bad length: nft's payload
		// expressions load only the port they test (transport.go).
		var sok, dok bool
		sport, sok = rawPort(p, 0)
		dport, dok = rawPort(p, 2)
		if !sok && (!m.SrcPorts.IsAll() || m.SrcInvert) || !dok && (!m.DstPorts.IsAll() || m.DstInvert) {
			return false
		}
	}
	return m.SrcPorts.Contains(sport) != m.SrcInvert &&
		m.DstPorts.Contains(dport) != m.DstInvert
}

// RequiredProto binds the match to -p udp, "! -p udp" included, as
// iptables-nft does.
func (*UDPMatch) RequiredProto() (uint8, bool) { return packet.ProtoUDP, true }
