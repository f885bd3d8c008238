package iptables

import (
	"fmt"
	"strings"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// -m addrtype (libxt_addrtype.c, revision 1): --src-type, --dst-type
// (comma lists of route types), --limit-iface-in, --limit-iface-out.
func init() {
	register(&extension{
		name:   "addrtype",
		parser: func(rc *ruleContext) extParser { return &addrtypeMatchParser{family: rc.family} },
		save: func(w *saver, x any) {
			m := x.(*filter.AddrTypeMatch)
			if m.Src != 0 {
				w.opt(m.SrcInvert, "src-type", formatAddrTypes(m.Src))
			}
			if m.Dst != 0 {
				w.opt(m.DstInvert, "dst-type", formatAddrTypes(m.Dst))
			}
			if m.LimitIfaceIn {
				w.opt(false, "limit-iface-in", "")
			}
			if m.LimitIfaceOut {
				w.opt(false, "limit-iface-out", "")
			}
		},
		owns: ownedBy[filter.AddrTypeMatch](),
	})
}

// addrTypeNames are the type names in bit order (rtn_names).
var addrTypeNames = []string{"UNSPEC", "UNICAST", "LOCAL", "BROADCAST", "ANYCAST", "MULTICAST",
	"BLACKHOLE", "UNREACHABLE", "PROHIBIT", "THROW", "NAT", "XRESOLVE"}

// addrTypeNoV6 are the types xt_addrtype cannot test for IPv6
// (addrtype_mt_checkentry_v1).
const addrTypeNoV6 = filter.AddrBlackhole | filter.AddrProhibit | filter.AddrThrow |
	filter.AddrNAT | filter.AddrXResolve | filter.AddrBroadcast

func formatAddrTypes(t filter.AddrType) string {
	var parts []string
	for i, n := range addrTypeNames {
		if t&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	return strings.Join(parts, ",")
}

type addrtypeMatchParser struct {
	family packet.Family
	m      filter.AddrTypeMatch
}

func (p *addrtypeMatchParser) option(name string, invert bool, a *args) error {
	m := &p.m
	switch name {
	case "src-type", "dst-type":
		t, inv := &m.Src, &m.SrcInvert
		if name == "dst-type" {
			t, inv = &m.Dst, &m.DstInvert
		}
		if *t != 0 {
			return onceErr("addrtype", name)
		}
		v, err := a.value(name)
		if err != nil {
			return err
		}
		for _, item := range strings.Split(v, ",") {
			found := false
			for i, n := range addrTypeNames {
				if strings.EqualFold(item, n) {
					*t |= 1 << i
					found = true
				}
			}
			if !found {
				return fmt.Errorf("%w: addrtype: bad type \"%s\"", ErrBadArgument, item)
			}
		}
		if p.family == packet.IPv6 && *t&addrTypeNoV6 != 0 {
			return fmt.Errorf("%w: addrtype: ipv6 does not support %s matching", ErrBadArgument, formatAddrTypes(*t&addrTypeNoV6))
		}
		*inv = invert
	case "limit-iface-in", "limit-iface-out":
		if invert {
			return noInvertErr("addrtype", name)
		}
		if m.LimitIfaceIn || m.LimitIfaceOut {
			if (name == "limit-iface-in") == m.LimitIfaceIn {
				return onceErr("addrtype", name)
			}
			return fmt.Errorf("%w: addrtype: you can't specify both --limit-iface-in and --limit-iface-out", ErrSyntax)
		}
		m.LimitIfaceIn, m.LimitIfaceOut = name == "limit-iface-in", name == "limit-iface-out"
	default:
		return errNotMine
	}
	return nil
}

func (p *addrtypeMatchParser) done() (any, error) {
	if p.m.Src == 0 && p.m.Dst == 0 {
		return nil, fmt.Errorf("%w: addrtype: you must specify --src-type or --dst-type", ErrSyntax)
	}
	return &p.m, nil
}
