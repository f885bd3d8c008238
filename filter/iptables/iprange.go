package iptables

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// -m iprange --src-range/--dst-range FROM[-TO] (libxt_iprange.c,
// revision 1). A single address is the range FROM-FROM; a reversed range
// is accepted.
func init() {
	register(&extension{
		name:   "iprange",
		parser: func(rc *ruleContext) extParser { return &iprangeMatchParser{family: rc.family} },
		save: func(w *saver, x any) {
			m := x.(*filter.IPRangeMatch)
			if !m.Src.IsZero() {
				w.opt(m.SrcInvert, "src-range", m.Src.From.String()+"-"+m.Src.To.String())
			}
			if !m.Dst.IsZero() {
				w.opt(m.DstInvert, "dst-range", m.Dst.From.String()+"-"+m.Dst.To.String())
			}
		},
		owns: ownedBy[filter.IPRangeMatch](),
	})
}

type iprangeMatchParser struct {
	family packet.Family
	m      filter.IPRangeMatch
}

func (p *iprangeMatchParser) option(name string, invert bool, a *args) error {
	var r *filter.IPRange
	var inv *bool
	switch name {
	case "src-range":
		r, inv = &p.m.Src, &p.m.SrcInvert
	case "dst-range":
		r, inv = &p.m.Dst, &p.m.DstInvert
	default:
		return errNotMine
	}
	if !r.IsZero() {
		return onceErr("iprange", name)
	}
	v, err := a.value(name)
	if err != nil {
		return err
	}
	from, to, isRange := strings.Cut(v, "-")
	lo, err := p.addr(from)
	if err != nil {
		return err
	}
	hi := lo
	if isRange {
		if hi, err = p.addr(to); err != nil {
			return err
		}
	}
	*r, *inv = filter.IPRange{From: lo, To: hi}, invert
	return nil
}

func (p *iprangeMatchParser) addr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" || a.Is4() != (p.family == packet.IPv4) {
		return netip.Addr{}, fmt.Errorf("%w: iprange: Unknown host address \"%s\"", ErrBadArgument, s)
	}
	return a, nil
}

func (p *iprangeMatchParser) done() (any, error) {
	if p.m.Src.IsZero() && p.m.Dst.IsZero() {
		return nil, fmt.Errorf("%w: iprange match: You must specify `--src-range' or `--dst-range'", ErrSyntax)
	}
	return &p.m, nil
}
