package iptables

import (
	"github.com/nfgo/nfgo/filter"
)

// -p udp / -m udp (libxt_udp.c): --sport and --dport. libxt_udp parses
// with xtopt's XTTYPE_PORTRC, whose 1.8.9 quirks nfgo keeps: ports are
// base 10 (080 is 80, 0x50 is refused), values wrap at 65536 and a
// reversed range is accepted (and never matches).
func init() {
	register(&extension{
		name: "udp",
		parser: func(*ruleContext) extParser {
			return &udpMatchParser{m: filter.UDPMatch{SrcPorts: filter.AllPorts, DstPorts: filter.AllPorts}}
		},
		save: func(w *saver, x any) {
			m := x.(*filter.UDPMatch)
			if !m.SrcPorts.IsAll() {
				w.opt(m.SrcInvert, "sport", formatPortRange(m.SrcPorts.Min, m.SrcPorts.Max))
			}
			if !m.DstPorts.IsAll() {
				w.opt(m.DstInvert, "dport", formatPortRange(m.DstPorts.Min, m.DstPorts.Max))
			}
		},
		owns: ownedBy[filter.UDPMatch](),
	})
}

type udpMatchParser struct {
	m            filter.UDPMatch
	sport, dport bool
}

func (p *udpMatchParser) option(name string, invert bool, a *args) error {
	var seen *bool
	var r *filter.PortRange
	var inv *bool
	var long string
	switch name {
	case "sport", "source-port":
		seen, r, inv, long = &p.sport, &p.m.SrcPorts, &p.m.SrcInvert, "source-port"
	case "dport", "destination-port":
		seen, r, inv, long = &p.dport, &p.m.DstPorts, &p.m.DstInvert, "destination-port"
	default:
		return errNotMine
	}
	if *seen {
		return onceErr("udp", long)
	}
	v, err := a.value(name)
	if err != nil {
		return err
	}
	lo, hi, err := parseMportRange("udp", v)
	if err != nil {
		return err
	}
	*seen, *r, *inv = true, filter.PortRange{Min: lo, Max: hi}, invert
	return nil
}

func (p *udpMatchParser) done() (any, error) { return &p.m, nil }
