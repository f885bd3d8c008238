package filter

import "fmt"

// MultiportMode says which ports -m multiport compares.
type MultiportMode uint8

// The multiport modes, as xt_multiport's flags.
const (
	// MultiportSource is --sports.
	MultiportSource MultiportMode = iota
	// MultiportDestination is --dports.
	MultiportDestination
	// MultiportEither is --ports: the source or the destination port.
	MultiportEither
)

// MultiportMaxPorts is XT_MULTI_PORTS: a rule may list at most 15 ports,
// a range counting as two.
const MultiportMaxPorts = 15

// MultiportMatch is -m multiport (xt_multiport.c, revision 1).
type MultiportMatch struct {
	// Mode says which ports are compared: --sports, --dports or --ports.
	Mode MultiportMode
	// Ports are the listed ports and ranges, in order. A single port has
	// Min == Max.
	Ports []PortRange
	// Invert is the '!' before the port list.
	Invert bool
}

// Name returns "multiport".
func (*MultiportMatch) Name() string { return "multiport" }

// Match reports whether a port is in the list (ports_match_v1).
func (m *MultiportMatch) Match(c *Context) bool {
	p := c.Packet
	if p.FragOffset != 0 {
		return false
	}
	sport, dport := p.SrcPort, p.DstPort
	if p.L4Off == 0 {
		// multiport_mt reads the two ports or drops the packet as an
		// "evil tinygram".
		if !xtHeader(c, 4) {
			return false
		}
		sport, _ = rawPort(p, 0)
		dport, _ = rawPort(p, 2)
	}
	for _, r := range m.Ports {
		var hit bool
		switch m.Mode {
		case MultiportSource:
			hit = r.Contains(sport)
		case MultiportDestination:
			hit = r.Contains(dport)
		default:
			hit = r.Contains(sport) || r.Contains(dport)
		}
		if hit {
			return !m.Invert
		}
	}
	return m.Invert
}

// CheckRule requires a protocol with ports, not inverted, as
// multiport_mt_check does, and at most 15 port slots.
func (m *MultiportMatch) CheckRule(r *Rule, _ Site) error {
	switch r.Proto {
	case 6, 17, 136, 132, 33:
		if !r.ProtoInvert {
			break
		}
		fallthrough
	default:
		return fmt.Errorf("%w: multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP", ErrProtocol)
	}
	n := 0
	for _, p := range m.Ports {
		n++
		if p.Min != p.Max {
			n++
		}
	}
	if n > MultiportMaxPorts {
		return fmt.Errorf("too many ports specified")
	}
	return nil
}
