package iptables

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// The NAT targets (libxt_NAT.c, libxt_NETMAP.c):
//
//	-j SNAT --to-source [addr[-addr]][:port[-port]] [--random] [--random-fully] [--persistent]
//	-j DNAT --to-destination [addr[-addr]][:port[-port[/base]]] [--random] [--persistent]
//	-j MASQUERADE [--to-ports port[-port]] [--random] [--random-fully]
//	-j REDIRECT [--to-ports port[-port]] [--random]
//	-j NETMAP --to addr[/mask]
//
// IPv6 addresses with ports are written in brackets: [2001:db8::1]:80.
func init() {
	type natKind struct {
		name, rangeOpt string
		flags          []string
		ports          bool // --to-ports only, no addresses
		mandatory      bool
		keepBase       bool // the kernel's struct has a base port
		noOffset       bool // iptables refuses a/b-c/base
		make           func(r filter.NATRange) filter.Target
		get            func(x any) (filter.NATRange, bool)
	}
	kinds := []natKind{
		{name: "SNAT", rangeOpt: "to-source", flags: []string{"random", "random-fully", "persistent"}, mandatory: true,
			make: func(r filter.NATRange) filter.Target { return &filter.SNATTarget{Range: r} },
			get: func(x any) (filter.NATRange, bool) {
				if t, ok := x.(*filter.SNATTarget); ok {
					return t.Range, true
				}
				return filter.NATRange{}, false
			}},
		{name: "DNAT", rangeOpt: "to-destination", flags: []string{"random", "persistent"}, mandatory: true, keepBase: true,
			make: func(r filter.NATRange) filter.Target { return &filter.DNATTarget{Range: r} },
			get: func(x any) (filter.NATRange, bool) {
				if t, ok := x.(*filter.DNATTarget); ok {
					return t.Range, true
				}
				return filter.NATRange{}, false
			}},
		{name: "MASQUERADE", rangeOpt: "to-ports", flags: []string{"random", "random-fully"}, ports: true,
			make: func(r filter.NATRange) filter.Target { return &filter.MasqueradeTarget{Range: r} },
			get: func(x any) (filter.NATRange, bool) {
				if t, ok := x.(*filter.MasqueradeTarget); ok {
					return t.Range, true
				}
				return filter.NATRange{}, false
			}},
		{name: "REDIRECT", rangeOpt: "to-ports", flags: []string{"random"}, ports: true, noOffset: true,
			make: func(r filter.NATRange) filter.Target { return &filter.RedirectTarget{Range: r} },
			get: func(x any) (filter.NATRange, bool) {
				if t, ok := x.(*filter.RedirectTarget); ok {
					return t.Range, true
				}
				return filter.NATRange{}, false
			}},
	}
	for _, k := range kinds {
		register(&extension{
			name:   k.name,
			target: true,
			parser: func(rc *ruleContext) extParser {
				return &natParser{name: k.name, rangeOpt: k.rangeOpt, flagOpts: k.flags, portsOnly: k.ports,
					mandatory: k.mandatory, keepBase: k.keepBase, noOffset: k.noOffset, rc: rc, make: k.make, seen: tgSeen{}}
			},
			save: func(w *saver, x any) {
				r, _ := k.get(x)
				saveNATRange(w, r, w.family, k.rangeOpt, k.ports)
			},
			owns: func(x any) bool { _, ok := k.get(x); return ok },
		})
	}
	register(&extension{
		name:   "NETMAP",
		target: true,
		parser: func(rc *ruleContext) extParser { return &netmapParser{family: rc.family} },
		save: func(w *saver, x any) {
			t := x.(*filter.NetmapTarget)
			if p, ok := t.Prefix(); ok {
				w.opt(false, "to", p.String())
				return
			}
			lo, hi := t.Range.MinAddr.AsSlice(), t.Range.MaxAddr.AsSlice()
			for i := range lo {
				lo[i] = ^(lo[i] ^ hi[i])
			}
			m, _ := netip.AddrFromSlice(lo)
			w.opt(false, "to", t.Range.MinAddr.String()+"/"+m.String())
		},
		owns: ownedBy[filter.NetmapTarget](),
	})
}

type natParser struct {
	name, rangeOpt string
	flagOpts       []string
	portsOnly      bool
	mandatory      bool
	keepBase       bool
	noOffset       bool
	rc             *ruleContext
	make           func(filter.NATRange) filter.Target
	r              filter.NATRange
	seen           tgSeen
}

func (p *natParser) option(name string, invert bool, a *args) error {
	name, err := tgOption(name, append([]string{p.rangeOpt}, p.flagOpts...)...)
	if err != nil {
		return err
	}
	if invert {
		return tgInvertErr(p.name, name)
	}
	if err := p.seen.once(p.name, name); err != nil {
		return err
	}
	switch name {
	case "random":
		p.r.Flags |= filter.NATProtoRandom
		return nil
	case "random-fully":
		p.r.Flags |= filter.NATProtoRandomFully
		return nil
	case "persistent":
		p.r.Flags |= filter.NATPersistent
		return nil
	}
	v, err := a.value(name)
	if err != nil {
		return err
	}
	// libxt_NAT's portok: it looks at the protocol number only, not at
	// '!', and counts ICMP (whose id NAT can remap) but not UDP-Lite.
	portok := false
	switch p.rc.header.Proto {
	case packet.ProtoTCP, packet.ProtoUDP, packet.ProtoSCTP, packet.ProtoDCCP, packet.ProtoICMP:
		portok = true
	}
	if p.portsOnly {
		return parseNATPorts(v, portok, &p.r)
	}
	return parseNATTo(v, portok, &p.r, p.rc.family)
}

func (p *natParser) done() (any, error) {
	if p.mandatory && !p.seen[p.rangeOpt] {
		return nil, mustErr(p.name, p.rangeOpt)
	}
	if p.r.Flags&filter.NATProtoOffset != 0 {
		if p.noOffset {
			return nil, fmt.Errorf("%w: Shifted portmap ranges not supported with this kernel", ErrBadArgument)
		}
		if !p.keepBase {
			// SNAT and MASQUERADE use the older range structures,
			// which have no base port: the flag stays, the base is
			// lost, and iptables-save prints "/0".
			p.r.BasePort = 0
		}
	}
	return p.make(p.r), nil
}

// parseNATPorts is libxt_NAT's parse_ports: "port", "port-port" or
// "port-port/base". The first port may be a service name.
func parseNATPorts(s string, portok bool, r *filter.NATRange) error {
	if !portok {
		return fmt.Errorf("%w: Need TCP, UDP, SCTP or DCCP with port specification", ErrBadArgument)
	}
	r.Flags |= filter.NATProtoSpecified
	port, rest, ok := strtouiPrefix(s, 0, 0xFFFF)
	if !ok {
		svc, found := lookupService(s, 0)
		if !found {
			return fmt.Errorf("%w: Port `%s' not valid", ErrBadArgument, s)
		}
		port, rest = uint64(svc), ""
	}
	switch {
	case rest == "":
		r.MinPort, r.MaxPort = uint16(port), uint16(port)
		return nil
	case rest[0] == ':':
		return fmt.Errorf("%w: Invalid port:port syntax - use dash", ErrBadArgument)
	case rest[0] != '-':
		return fmt.Errorf("%w: Garbage after port value: `%s'", ErrBadArgument, rest)
	}
	s = rest[1:]
	maxport, rest, ok := strtouiPrefix(s, 0, 0xFFFF)
	if !ok {
		return fmt.Errorf("%w: Port `%s' not valid", ErrBadArgument, s)
	}
	if maxport < port {
		return fmt.Errorf("%w: Port range `%s' funky", ErrBadArgument, s)
	}
	r.MinPort, r.MaxPort = uint16(port), uint16(maxport)
	switch {
	case rest == "":
		return nil
	case rest[0] != '/':
		return fmt.Errorf("%w: Garbage after port range: `%s'", ErrBadArgument, rest)
	}
	s = rest[1:]
	// Unlike the ports before it, the base may be followed by anything:
	// iptables reads the number and never looks at what is after it.
	base, _, ok := strtouiPrefix(s, 1, 0xFFFF)
	if !ok {
		svc, found := lookupService(s, 0)
		if !found {
			return fmt.Errorf("%w: Port `%s' not valid", ErrBadArgument, s)
		}
		base = uint64(svc)
	}
	r.Flags |= filter.NATProtoOffset
	r.BasePort = uint16(base)
	return nil
}

// parseNATTo is libxt_NAT's parse_to: [addr[-addr]][:ports], with IPv6
// addresses in brackets when ports follow.
func parseNATTo(s string, portok bool, r *filter.NATRange, f packet.Family) error {
	var addrs, ports string
	hasPorts := false
	if i := strings.IndexByte(s, '['); i >= 0 {
		end := strings.IndexByte(s[i+1:], ']')
		if end < 0 || f == packet.IPv4 {
			return fmt.Errorf("%w: Invalid address format", ErrBadArgument)
		}
		addrs = s[i+1 : i+1+end]
		after := s[i+1+end+1:]
		if c := strings.IndexByte(after, ':'); c >= 0 {
			ports, hasPorts = after[c+1:], true
		}
	} else {
		// One colon is a port; more make an IPv6 address.
		addrs = s
		if c := strings.IndexByte(s, ':'); c >= 0 && !strings.Contains(s[c+1:], ":") {
			addrs, ports, hasPorts = s[:c], s[c+1:], true
		}
	}
	if hasPorts {
		if err := parseNATPorts(ports, portok, r); err != nil {
			return err
		}
		if addrs == "" {
			return nil
		}
	}
	r.Flags |= filter.NATMapIPs
	lo, hi, dash := strings.Cut(addrs, "-")
	min, err := parseNATAddr(lo, f)
	if err != nil {
		return err
	}
	max := min
	if dash {
		if max, err = parseNATAddr(hi, f); err != nil {
			return err
		}
	}
	r.MinAddr, r.MaxAddr = min, max
	return nil
}

// parseNATAddr is inet_pton for the family: a literal address only.
func parseNATAddr(s string, f packet.Family) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" || (f == packet.IPv4) != a.Is4() {
		return netip.Addr{}, fmt.Errorf("%w: Bad IP address \"%s\"", ErrBadArgument, s)
	}
	return a, nil
}

// saveNATRange prints a NAT range as libxt_NAT's sprint_range and
// __NAT_print do.
func saveNATRange(w *saver, r filter.NATRange, f packet.Family, opt string, portsOnly bool) {
	var b strings.Builder
	brackets := f == packet.IPv6 && r.Flags&filter.NATProtoSpecified != 0
	if r.Flags&filter.NATMapIPs != 0 {
		if brackets {
			b.WriteByte('[')
		}
		b.WriteString(r.MinAddr.String())
		if r.MaxAddr != r.MinAddr {
			b.WriteByte('-')
			b.WriteString(r.MaxAddr.String())
		}
		if brackets {
			b.WriteByte(']')
		}
	}
	if r.Flags&filter.NATProtoSpecified != 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(int(r.MinPort)))
		if r.MaxPort != r.MinPort {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(int(r.MaxPort)))
		}
		if r.Flags&filter.NATProtoOffset != 0 {
			b.WriteByte('/')
			b.WriteString(strconv.Itoa(int(r.BasePort)))
		}
	}
	if s := b.String(); s != "" {
		if portsOnly {
			s = strings.TrimPrefix(s, ":")
		}
		w.opt(false, opt, s)
	}
	if r.Flags&filter.NATProtoRandom != 0 {
		w.opt(false, "random", "")
	}
	if r.Flags&filter.NATProtoRandomFully != 0 {
		w.opt(false, "random-fully", "")
	}
	if r.Flags&filter.NATPersistent != 0 {
		w.opt(false, "persistent", "")
	}
}

type netmapParser struct {
	family packet.Family
	r      filter.NATRange
	seen   bool
}

func (p *netmapParser) option(name string, invert bool, a *args) error {
	name, err := tgOption(name, "to")
	if err != nil {
		return err
	}
	if invert {
		return tgInvertErr("NETMAP", name)
	}
	if p.seen {
		return onceErr("NETMAP", name)
	}
	p.seen = true
	v, err := a.value(name)
	if err != nil {
		return err
	}
	n, err := ParseNet(v, p.family)
	if err != nil {
		return err
	}
	lo, m := n.Addr.AsSlice(), n.Mask.AsSlice()
	hi := make([]byte, len(lo))
	for i := range lo {
		hi[i] = lo[i] | ^m[i]
	}
	max, _ := netip.AddrFromSlice(hi)
	p.r = filter.NATRange{MinAddr: n.Addr, MaxAddr: max, Flags: filter.NATMapIPs | filter.NATNetmap}
	return nil
}

func (p *netmapParser) done() (any, error) {
	if !p.seen {
		return nil, mustErr("NETMAP", "to")
	}
	return &filter.NetmapTarget{Range: p.r}, nil
}
