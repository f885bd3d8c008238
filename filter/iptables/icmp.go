package iptables

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// -p icmp / -m icmp --icmp-type (libipt_icmp.c, IPv4 only) and
// -p ipv6-icmp / -m icmp6 --icmpv6-type (libip6t_icmp6.c, IPv6 only).
func init() {
	register(&extension{
		name:   "icmp",
		family: packet.IPv4,
		parser: func(*ruleContext) extParser { return &icmpMatchParser{v6: false} },
		save: func(w *saver, x any) {
			m := x.(*filter.ICMPMatch)
			w.opt(m.Invert, "icmp-type", formatICMPType(m.Type, m.CodeMin, m.CodeMax, true))
		},
		owns: ownedBy[filter.ICMPMatch](),
	})
	register(&extension{
		name:   "icmp6",
		family: packet.IPv6,
		parser: func(*ruleContext) extParser { return &icmpMatchParser{v6: true} },
		save: func(w *saver, x any) {
			m := x.(*filter.ICMPv6Match)
			w.opt(m.Invert, "icmpv6-type", formatICMPType(m.Type, m.CodeMin, m.CodeMax, false))
		},
		owns: ownedBy[filter.ICMPv6Match](),
	})
}

// icmpName is one of the names --icmp-type and --icmpv6-type accept, in
// iptables' table order (which decides the wording of the "Ambiguous"
// error).
type icmpName struct {
	name            string
	typ, cmin, cmax uint8
}

var icmpNames = []icmpName{
	{"any", 0xFF, 0, 0xFF},
	{"echo-reply", 0, 0, 0xFF},
	{"pong", 0, 0, 0xFF},
	{"destination-unreachable", 3, 0, 0xFF},
	{"network-unreachable", 3, 0, 0},
	{"host-unreachable", 3, 1, 1},
	{"protocol-unreachable", 3, 2, 2},
	{"port-unreachable", 3, 3, 3},
	{"fragmentation-needed", 3, 4, 4},
	{"source-route-failed", 3, 5, 5},
	{"network-unknown", 3, 6, 6},
	{"host-unknown", 3, 7, 7},
	{"network-prohibited", 3, 9, 9},
	{"host-prohibited", 3, 10, 10},
	{"TOS-network-unreachable", 3, 11, 11},
	{"TOS-host-unreachable", 3, 12, 12},
	{"communication-prohibited", 3, 13, 13},
	{"host-precedence-violation", 3, 14, 14},
	{"precedence-cutoff", 3, 15, 15},
	{"source-quench", 4, 0, 0xFF},
	{"redirect", 5, 0, 0xFF},
	{"network-redirect", 5, 0, 0},
	{"host-redirect", 5, 1, 1},
	{"TOS-network-redirect", 5, 2, 2},
	{"TOS-host-redirect", 5, 3, 3},
	{"echo-request", 8, 0, 0xFF},
	{"ping", 8, 0, 0xFF},
	{"router-advertisement", 9, 0, 0xFF},
	{"router-solicitation", 10, 0, 0xFF},
	{"time-exceeded", 11, 0, 0xFF},
	{"ttl-exceeded", 11, 0, 0xFF},
	{"ttl-zero-during-transit", 11, 0, 0},
	{"ttl-zero-during-reassembly", 11, 1, 1},
	{"parameter-problem", 12, 0, 0xFF},
	{"ip-header-bad", 12, 0, 0},
	{"required-option-missing", 12, 1, 1},
	{"timestamp-request", 13, 0, 0xFF},
	{"timestamp-reply", 14, 0, 0xFF},
	{"address-mask-request", 17, 0, 0xFF},
	{"address-mask-reply", 18, 0, 0xFF},
}

var icmp6Names = []icmpName{
	{"destination-unreachable", 1, 0, 0xFF},
	{"no-route", 1, 0, 0},
	{"communication-prohibited", 1, 1, 1},
	{"beyond-scope", 1, 2, 2},
	{"address-unreachable", 1, 3, 3},
	{"port-unreachable", 1, 4, 4},
	{"failed-policy", 1, 5, 5},
	{"reject-route", 1, 6, 6},
	{"packet-too-big", 2, 0, 0xFF},
	{"time-exceeded", 3, 0, 0xFF},
	{"ttl-exceeded", 3, 0, 0xFF},
	{"ttl-zero-during-transit", 3, 0, 0},
	{"ttl-zero-during-reassembly", 3, 1, 1},
	{"parameter-problem", 4, 0, 0xFF},
	{"bad-header", 4, 0, 0},
	{"unknown-header-type", 4, 1, 1},
	{"unknown-option", 4, 2, 2},
	{"echo-request", 128, 0, 0xFF},
	{"ping", 128, 0, 0xFF},
	{"echo-reply", 129, 0, 0xFF},
	{"pong", 129, 0, 0xFF},
	{"router-solicitation", 133, 0, 0xFF},
	{"router-advertisement", 134, 0, 0xFF},
	{"neighbour-solicitation", 135, 0, 0xFF},
	{"neighbor-solicitation", 135, 0, 0xFF},
	{"neighbour-advertisement", 136, 0, 0xFF},
	{"neighbor-advertisement", 136, 0, 0xFF},
	{"redirect", 137, 0, 0xFF},
}

// parseICMPType parses a type name (any unambiguous prefix, in any case),
// or TYPE[/CODE] in numbers (base 0).
func parseICMPType(s string, v6 bool) (typ, cmin, cmax uint8, err error) {
	names, what := icmpNames, "ICMP"
	if v6 {
		names, what = icmp6Names, "ICMPv6"
	}
	match := -1
	for i, n := range names {
		if len(s) <= len(n.name) && strings.EqualFold(n.name[:len(s)], s) {
			if match >= 0 {
				return 0, 0, 0, fmt.Errorf("%w: Ambiguous %s type `%s': `%s' or `%s'?", ErrBadArgument, what, s, names[match].name, n.name)
			}
			match = i
		}
	}
	if match >= 0 {
		n := names[match]
		return n.typ, n.cmin, n.cmax, nil
	}
	ts, cs, slash := strings.Cut(s, "/")
	t, ok := strtoui(ts, 0, 255)
	if !ok {
		return 0, 0, 0, fmt.Errorf("%w: Unknown %s type `%s'", ErrBadArgument, what, s)
	}
	if !slash {
		return uint8(t), 0, 0xFF, nil
	}
	c, rest, ok := strtouiPrefix(cs, 0, 255)
	if !ok {
		return 0, 0, 0, fmt.Errorf("%w: Unknown %s code `%s'", ErrBadArgument, what, s)
	}
	if rest != "" {
		return 0, 0, 0, fmt.Errorf("%w: unknown character %c", ErrBadArgument, rest[0])
	}
	return uint8(t), uint8(c), uint8(c), nil
}

// formatICMPType prints "any" (IPv4 type 255), "TYPE", or "TYPE/CODE".
func formatICMPType(typ, cmin, cmax uint8, v4 bool) string {
	if v4 && typ == filter.ICMPAnyType {
		return "any"
	}
	s := strconv.Itoa(int(typ))
	if cmin != 0 || cmax != 0xFF {
		s += "/" + strconv.Itoa(int(cmin))
	}
	return s
}

type icmpMatchParser struct {
	v6              bool
	seen            bool
	typ, cmin, cmax uint8
	invert          bool
}

func (p *icmpMatchParser) names() (ext, opt string) {
	if p.v6 {
		return "icmp6", "icmpv6-type"
	}
	return "icmp", "icmp-type"
}

func (p *icmpMatchParser) option(name string, invert bool, a *args) error {
	ext, opt := p.names()
	if name != opt {
		return errNotMine
	}
	if p.seen {
		return onceErr(ext, opt)
	}
	v, err := a.value(name)
	if err != nil {
		return err
	}
	if p.typ, p.cmin, p.cmax, err = parseICMPType(v, p.v6); err != nil {
		return err
	}
	p.seen, p.invert = true, invert
	return nil
}

func (p *icmpMatchParser) done() (any, error) {
	if !p.seen {
		ext, opt := p.names()
		return nil, mustErr(ext, opt)
	}
	if p.v6 {
		return &filter.ICMPv6Match{Type: p.typ, CodeMin: p.cmin, CodeMax: p.cmax, Invert: p.invert}, nil
	}
	return &filter.ICMPMatch{Type: p.typ, CodeMin: p.cmin, CodeMax: p.cmax, Invert: p.invert}, nil
}
