package filter

import (
	"fmt"

	"github.com/nfgo/nfgo/packet"
)

// PortRange is an inclusive range of ports, as the port options of tcp,
// udp, multiport and conntrack hold them. A range whose Min is above its
// Max matches no port (the kernel compares min <= port && port <= max, and
// iptables' udp syntax lets such a range through).
type PortRange struct {
	// Min and Max are the first and last port of the range.
	Min, Max uint16
}

// AllPorts is the range 0:65535, what an unset port option means.
var AllPorts = PortRange{0, 65535}

// Contains reports whether port is in the range.
func (r PortRange) Contains(port uint16) bool { return port >= r.Min && port <= r.Max }

// IsAll reports whether the range is 0:65535.
func (r PortRange) IsAll() bool { return r == AllPorts }

// TCPMatch is -m tcp (xt_tcpudp.c, tcp_mt). Set SrcPorts and DstPorts to
// AllPorts to leave them unconstrained: the zero PortRange matches port 0
// only. A zero FlagMask and Option 0 leave the flags and options alone.
type TCPMatch struct {
	// SrcPorts and DstPorts are --sport and --dport.
	SrcPorts, DstPorts PortRange
	// SrcInvert and DstInvert are the '!' of --sport and --dport.
	SrcInvert, DstInvert bool
	// FlagMask and FlagComp are --tcp-flags MASK COMP (and --syn, which
	// is FIN,SYN,RST,ACK SYN): the flags in FlagMask must equal FlagComp.
	FlagMask, FlagComp uint8
	// FlagInvert is the '!' of --tcp-flags or --syn.
	FlagInvert bool
	// Option is the --tcp-option kind, 0 for none.
	Option uint8
	// OptionInvert is the '!' of --tcp-option.
	OptionInvert bool
}

// Name returns "tcp".
func (*TCPMatch) Name() string { return "tcp" }

// Match reports whether the TCP header matches. Like tcp_mt, it never
// matches a non-first fragment (the kernel also drops a fragment at offset
// 8, which could overwrite the flags; nfgo's packet model has no L4 header
// there either) nor a packet whose TCP header is missing.
func (m *TCPMatch) Match(c *Context) bool {
	p := c.Packet
	if p.FragOffset != 0 {
		return false
	}
	if p.L4Off == 0 {
		return m.matchMalformed(c)
	}
	if m.SrcPorts.Contains(p.SrcPort) == m.SrcInvert {
		return false
	}
	if m.DstPorts.Contains(p.DstPort) == m.DstInvert {
		return false
	}
	if (p.TCPFlags&m.FlagMask == m.FlagComp) == m.FlagInvert {
		return false
	}
	if m.Option != 0 || m.OptionInvert {
		// tcp_find_option walks the raw options area the same way
		// HasTCPOption does: it does not stop at End.
		if p.HasTCPOption(m.Option) == m.OptionInvert {
			return false
		}
	}
	return true
}

// matchMalformed tests a TCP header that is truncated or has a bad data
// offset (see transport.go): with --tcp-option the x_tables match needs
// the whole 20-byte header and a sane data offset, or it drops the packet;
// otherwise each test needs only its own bytes.
func (m *TCPMatch) matchMalformed(c *Context) bool {
	p := c.Packet
	if m.Option != 0 || m.OptionInvert {
		if !xtHeader(c, 20) || p.TransportHeader()[12]>>4 < 5 {
			c.HotDrop = true
		}
		return false
	}
	if !m.SrcPorts.IsAll() || m.SrcInvert {
		sport, ok := rawPort(p, 0)
		if !ok || m.SrcPorts.Contains(sport) == m.SrcInvert {
			return false
		}
	}
	if !m.DstPorts.IsAll() || m.DstInvert {
		dport, ok := rawPort(p, 2)
		if !ok || m.DstPorts.Contains(dport) == m.DstInvert {
			return false
		}
	}
	if m.FlagMask != 0 || m.FlagInvert {
		flags, ok := rawTCPFlags(p)
		if !ok || (flags&m.FlagMask == m.FlagComp) == m.FlagInvert {
			return false
		}
	}
	return true
}

// RequiredProto binds the match to -p tcp. The kernel's xt_check_match
// also refuses "! -p tcp"; iptables-nft accepts it (it turns the match
// into payload expressions), and nfgo follows the nft binary.
func (*TCPMatch) RequiredProto() (uint8, bool) { return packet.ProtoTCP, true }

func errProtoRequired(what, proto string) error {
	return fmt.Errorf("%w: %s match requires '-p %s'", ErrProtocol, what, proto)
}
