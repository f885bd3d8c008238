package iptables

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// -m conntrack (libxt_conntrack.c, revision 3). iptables-save prints the
// options in conntrack_dump's order whatever order they were given in,
// --ctproto as a number, and addresses unmasked with their prefix length
// (none for a full mask).
func init() {
	register(&extension{
		name:   "conntrack",
		parser: func(rc *ruleContext) extParser { return &conntrackMatchParser{family: rc.family} },
		save:   saveConntrack,
		owns:   ownedBy[filter.ConntrackMatch](),
	})
}

type conntrackMatchParser struct {
	family packet.Family
	m      filter.ConntrackMatch
}

// ctStatusNames are the --ctstatus names in print order.
var ctStatusNames = []flagName[uint32]{
	{"EXPECTED", filter.StatusExpected},
	{"SEEN_REPLY", filter.StatusSeenReply},
	{"ASSURED", filter.StatusAssured},
	{"CONFIRMED", filter.StatusConfirmed},
}

// conntrackOpts maps each option to its flag.
var conntrackOpts = map[string]filter.ConntrackFlags{
	"ctstate":       filter.CTMatchState,
	"ctproto":       filter.CTMatchProto,
	"ctorigsrc":     filter.CTMatchOrigSrc,
	"ctorigdst":     filter.CTMatchOrigDst,
	"ctreplsrc":     filter.CTMatchReplSrc,
	"ctrepldst":     filter.CTMatchReplDst,
	"ctstatus":      filter.CTMatchStatus,
	"ctexpire":      filter.CTMatchExpires,
	"ctorigsrcport": filter.CTMatchOrigSrcPort,
	"ctorigdstport": filter.CTMatchOrigDstPort,
	"ctreplsrcport": filter.CTMatchReplSrcPort,
	"ctrepldstport": filter.CTMatchReplDstPort,
	"ctdir":         filter.CTMatchDirection,
}

func (p *conntrackMatchParser) option(name string, invert bool, a *args) error {
	flag, ok := conntrackOpts[name]
	if !ok {
		return errNotMine
	}
	m := &p.m
	if m.Flags&flag != 0 {
		return onceErr("conntrack", name)
	}
	if invert && flag == filter.CTMatchDirection {
		return noInvertErr("conntrack", name)
	}
	v, err := a.value(name)
	if err != nil {
		return err
	}
	switch flag {
	case filter.CTMatchState:
		m.States, err = parseCTStates(v, true,
			func(s string) error { return fmt.Errorf("%w: Bad ctstate \"%s\"", ErrBadArgument, s) },
			fmt.Errorf("%w: Bad ctstate \"\"", ErrBadArgument))
	case filter.CTMatchProto:
		n, ok := ParseProtocol(v)
		if !ok {
			err = fmt.Errorf("%w: unknown protocol \"%s\" specified", ErrBadArgument, v)
		}
		m.Proto = n
	case filter.CTMatchOrigSrc:
		m.OrigSrc, err = parseHostMask(v, p.family)
	case filter.CTMatchOrigDst:
		m.OrigDst, err = parseHostMask(v, p.family)
	case filter.CTMatchReplSrc:
		m.ReplSrc, err = parseHostMask(v, p.family)
	case filter.CTMatchReplDst:
		m.ReplDst, err = parseHostMask(v, p.family)
	case filter.CTMatchOrigSrcPort, filter.CTMatchOrigDstPort, filter.CTMatchReplSrcPort, filter.CTMatchReplDstPort:
		var lo, hi uint16
		lo, hi, err = parseMportRange("conntrack", v)
		*p.portField(flag) = filter.PortRange{Min: lo, Max: hi}
	case filter.CTMatchStatus:
		m.Status, err = parseCTStatus(v)
	case filter.CTMatchExpires:
		var lo, hi uint64
		lo, hi, err = optUintRange("conntrack", name, v, 0xFFFFFFFF)
		m.ExpireMin, m.ExpireMax = uint32(lo), uint32(hi)
	case filter.CTMatchDirection:
		switch strings.ToUpper(v) {
		case "ORIGINAL":
			m.Reply = false
		case "REPLY":
			m.Reply = true
		default:
			err = fmt.Errorf("%w: conntrack: Bad value for \"--ctdir\" option: \"%s\"", ErrBadArgument, v)
		}
	}
	if err != nil {
		return err
	}
	m.Flags |= flag
	if invert {
		m.Invert |= flag
	}
	return nil
}

func (p *conntrackMatchParser) portField(f filter.ConntrackFlags) *filter.PortRange {
	switch f {
	case filter.CTMatchOrigSrcPort:
		return &p.m.OrigSrcPort
	case filter.CTMatchOrigDstPort:
		return &p.m.OrigDstPort
	case filter.CTMatchReplSrcPort:
		return &p.m.ReplSrcPort
	}
	return &p.m.ReplDstPort
}

func (p *conntrackMatchParser) done() (any, error) {
	if p.m.Flags == 0 {
		return nil, fmt.Errorf("%w: conntrack: At least one option is required", ErrSyntax)
	}
	return &p.m, nil
}

func parseCTStatus(s string) (uint32, error) {
	var v uint32
	for _, item := range strings.Split(s, ",") {
		if strings.EqualFold(item, "NONE") {
			continue
		}
		found := false
		for _, n := range ctStatusNames {
			if strings.EqualFold(item, n.name) {
				v |= n.bit
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("%w: Bad ctstatus \"%s\"", ErrBadArgument, item)
		}
	}
	return v, nil
}

func formatCTStatus(v uint32) string { return formatFlags(v, ctStatusNames) }

// parseHostMask parses ADDR[/MASK] for the conntrack address options.
// Unlike -s, the address is kept unmasked (the kernel masks both sides
// when it compares, and iptables-save prints it as given). A prefix
// length beyond the address width is taken as a full mask, as iptables
// 1.8.9 does.
func parseHostMask(s string, f packet.Family) (filter.Net, error) {
	addr, mask, hasMask := strings.Cut(s, "/")
	ip, err := netip.ParseAddr(addr)
	if err != nil || ip.Zone() != "" {
		return filter.Net{}, fmt.Errorf("%w: host/network `%s' not found", ErrBadArgument, addr)
	}
	if (f == packet.IPv4) != ip.Is4() {
		return filter.Net{}, fmt.Errorf("%w: getaddrinfo: Address family for hostname not supported", ErrBadArgument)
	}
	bits := ip.BitLen()
	n := filter.NetFromPrefix(netip.PrefixFrom(ip, bits))
	if hasMask {
		if l, ok := strtoui(mask, 0, 0xFFFF); ok && isNumber(mask) {
			n = filter.NetFromPrefix(netip.PrefixFrom(ip, min(int(l), bits)))
		} else if m, err := netip.ParseAddr(mask); err == nil && m.BitLen() == bits {
			n.Mask = m
		} else {
			return filter.Net{}, fmt.Errorf("%w: invalid mask `%s' specified", ErrBadArgument, mask)
		}
	}
	n.Addr = ip
	return n, nil
}

// formatHostMask prints ADDR, or ADDR/LEN for a shorter contiguous mask.
// A non-contiguous mask is not printed, as iptables-nft does not.
func formatHostMask(n filter.Net) string {
	if b := n.Bits(); b >= 0 && b < n.Addr.BitLen() {
		return n.Addr.String() + "/" + strconv.Itoa(b)
	}
	return n.Addr.String()
}

func saveConntrack(w *saver, x any) {
	m := x.(*filter.ConntrackMatch)
	inv := func(f filter.ConntrackFlags) bool { return m.Invert&f != 0 }
	has := func(f filter.ConntrackFlags) bool { return m.Flags&f != 0 }
	if has(filter.CTMatchState) {
		w.opt(inv(filter.CTMatchState), "ctstate", formatCTStates(m.States))
	}
	if has(filter.CTMatchProto) {
		w.opt(inv(filter.CTMatchProto), "ctproto", strconv.Itoa(int(m.Proto)))
	}
	addrs := []struct {
		f    filter.ConntrackFlags
		name string
		n    filter.Net
	}{
		{filter.CTMatchOrigSrc, "ctorigsrc", m.OrigSrc},
		{filter.CTMatchOrigDst, "ctorigdst", m.OrigDst},
		{filter.CTMatchReplSrc, "ctreplsrc", m.ReplSrc},
		{filter.CTMatchReplDst, "ctrepldst", m.ReplDst},
	}
	for _, a := range addrs {
		if has(a.f) {
			w.opt(inv(a.f), a.name, formatHostMask(a.n))
		}
	}
	ports := []struct {
		f    filter.ConntrackFlags
		name string
		r    filter.PortRange
	}{
		{filter.CTMatchOrigSrcPort, "ctorigsrcport", m.OrigSrcPort},
		{filter.CTMatchOrigDstPort, "ctorigdstport", m.OrigDstPort},
		{filter.CTMatchReplSrcPort, "ctreplsrcport", m.ReplSrcPort},
		{filter.CTMatchReplDstPort, "ctrepldstport", m.ReplDstPort},
	}
	for _, p := range ports {
		if has(p.f) {
			w.opt(inv(p.f), p.name, formatPortRange(p.r.Min, p.r.Max))
		}
	}
	if has(filter.CTMatchStatus) {
		w.opt(inv(filter.CTMatchStatus), "ctstatus", formatCTStatus(m.Status))
	}
	if has(filter.CTMatchExpires) {
		s := strconv.FormatUint(uint64(m.ExpireMin), 10)
		if m.ExpireMax != m.ExpireMin {
			s += ":" + strconv.FormatUint(uint64(m.ExpireMax), 10)
		}
		w.opt(inv(filter.CTMatchExpires), "ctexpire", s)
	}
	if has(filter.CTMatchDirection) {
		dir := "ORIGINAL"
		if m.Reply {
			dir = "REPLY"
		}
		w.opt(false, "ctdir", dir)
	}
}
