package iptables

import (
	"fmt"
	"strings"

	"github.com/nfgo/nfgo/filter"
)

// -m multiport --sports/--dports/--ports (libxt_multiport.c, revision 1).
// Ports are parsed with xtables_parse_port (base 0, service names), a
// range must have min < max, and at most 15 slots are allowed, a range
// taking two.
func init() {
	register(&extension{
		name:   "multiport",
		parser: func(rc *ruleContext) extParser { return &multiportMatchParser{rc: rc} },
		save: func(w *saver, x any) {
			m := x.(*filter.MultiportMatch)
			opt := [...]string{"sports", "dports", "ports"}[m.Mode]
			parts := make([]string, len(m.Ports))
			for i, r := range m.Ports {
				parts[i] = formatPortRange(r.Min, r.Max)
			}
			w.opt(m.Invert, opt, strings.Join(parts, ","))
		},
		owns: ownedBy[filter.MultiportMatch](),
	})
}

type multiportMatchParser struct {
	rc   *ruleContext
	m    filter.MultiportMatch
	seen string
}

var multiportLong = [...]string{"source-ports", "destination-ports", "ports"}

func (p *multiportMatchParser) option(name string, invert bool, a *args) error {
	var mode filter.MultiportMode
	switch name {
	case "sports", "source-ports":
		mode = filter.MultiportSource
	case "dports", "destination-ports":
		mode = filter.MultiportDestination
	case "ports":
		mode = filter.MultiportEither
	default:
		return errNotMine
	}
	long := multiportLong[mode]
	if p.seen != "" {
		if p.seen == long {
			return onceErr("multiport", long)
		}
		// xtopt reports the conflict naming the option being added
		// and the one already there.
		return fmt.Errorf("%w: multiport: option \"--%s\" cannot be used together with \"--%s\"", ErrSyntax, long, p.seen)
	}
	v, err := a.value(name)
	if err != nil {
		return err
	}
	// libxt_multiport's check_proto runs as the option is parsed.
	h := p.rc.header
	switch {
	case h.ProtoInvert:
		return fmt.Errorf("%w: multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP", ErrBadArgument)
	case h.Proto == 0:
		return fmt.Errorf("%w: multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'", ErrBadArgument)
	case h.Proto != 6 && h.Proto != 17 && h.Proto != 136 && h.Proto != 132 && h.Proto != 33:
		return fmt.Errorf("%w: multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP", ErrBadArgument)
	}
	ports, err := parseMultiport(v, h.Proto)
	if err != nil {
		return err
	}
	p.seen = long
	p.m = filter.MultiportMatch{Mode: mode, Ports: ports, Invert: invert}
	return nil
}

// parseMultiport is libxt_multiport's parse_multi_ports_v1.
func parseMultiport(s string, proto uint8) ([]filter.PortRange, error) {
	var out []filter.PortRange
	slots := 0
	for _, item := range strings.Split(s, ",") {
		if slots >= filter.MultiportMaxPorts {
			return nil, fmt.Errorf("%w: too many ports specified", ErrBadArgument)
		}
		lo, hiS, isRange := strings.Cut(item, ":")
		l, err := parsePort(lo, proto)
		if err != nil {
			return nil, err
		}
		r := filter.PortRange{Min: l, Max: l}
		slots++
		if isRange {
			if slots >= filter.MultiportMaxPorts {
				return nil, fmt.Errorf("%w: too many ports specified", ErrBadArgument)
			}
			h, err := parsePort(hiS, proto)
			if err != nil {
				return nil, err
			}
			if h <= l {
				return nil, fmt.Errorf("%w: invalid portrange specified", ErrBadArgument)
			}
			r.Max = h
			slots++
		}
		out = append(out, r)
	}
	return out, nil
}

func (p *multiportMatchParser) done() (any, error) {
	if p.seen == "" {
		return nil, fmt.Errorf("%w: multiport expection an option", ErrSyntax)
	}
	return &p.m, nil
}
